package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// errTemplates says the message templates have problems; they were
// printed.
var errTemplates = errors.New("the message templates have problems")

// runTemplates runs `recovery templates check [DIR]` and `recovery
// templates preview KIND REMEDY LOCALE CHANNEL`.
func runTemplates(cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("templates needs a subcommand (check [DIR], preview KIND REMEDY LOCALE CHANNEL): %w", errUsage)
	}
	switch args[0] {
	case "check":
		return templatesCheck(cfg, args[1:], stdout)
	case "preview":
		return templatesPreview(cfg, args[1:], stdout, stderr)
	}
	return fmt.Errorf("unknown templates subcommand %q: %w", args[0], errUsage)
}

// parseInterspersed parses flags wherever they stand among the arguments
// and returns the others.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
}

// templatesCheck renders every message of every language with sample
// data and prints each problem with its file and line.
func templatesCheck(cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("templates check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	segments := fs.Int("sms-segments", 6, "the most segments an SMS may take")
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) > 1 || *segments < 1 {
		return fmt.Errorf("templates check [-sms-segments 6] [DIR]: %w", errUsage)
	}
	dir := cfg.TemplatesDir
	if len(rest) == 1 {
		dir = rest[0]
	}
	tm, problems := messaging.Builtin(), []messaging.Problem(nil)
	if dir != "" {
		tm, problems = messaging.Merge(dir)
	}
	if tm != nil {
		problems = append(problems, tm.Check(messaging.CheckOptions{SMSSegments: *segments})...)
	}
	for _, p := range problems {
		fmt.Fprintln(stdout, p)
	}
	if tm != nil {
		what := "the built-in templates"
		if dir != "" {
			var files []string
			for _, o := range tm.Overrides() {
				f := fmt.Sprintf("%s.tmpl (%d define", o.Lang, len(o.Defines))
				if len(o.Defines) != 1 {
					f += "s"
				}
				if o.Added {
					f += ", a language of its own"
				}
				files = append(files, f+")")
			}
			what = fmt.Sprintf("%s merged over the built-in templates: %s", dir, strings.Join(files, ", "))
		}
		fmt.Fprintf(stdout, "checked %s\n  %d languages (%s), %d defines each: every kind with every remedy, alone and as choices, "+
			"on every channel, the follow-ups, confirmations, option lines and phrases\n",
			what, len(tm.Languages()), strings.Join(tm.Languages(), " "), len(messaging.Defines()))
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s): %w", len(problems), errTemplates)
	}
	fmt.Fprintln(stdout, "ok")
	return nil
}

// templatesPreview prints one message rendered with sample data.
func templatesPreview(cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("templates preview", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	html := fs.Bool("html", false, "print an email's HTML instead of its text")
	choices := fs.Bool("choices", false, "the customer chooses between the remedy and two others")
	message := fs.String("message", "apology", "apology, follow-up or confirmation")
	healed := fs.String("healed", messaging.HealReasons[0], "a follow-up's reason: "+strings.Join(messaging.HealReasons, ", "))
	dir := fs.String("dir", cfg.TemplatesDir, "the templates directory (default $RECOVERY_TEMPLATES_DIR)")
	const synopsis = "templates preview [-html] [-choices] [-message apology|follow-up|confirmation] [-healed REASON] [-dir DIR] " +
		"KIND REMEDY LOCALE email|sms|voice|voicemail"
	rest, err := parseInterspersed(fs, args)
	if err != nil || len(rest) != 4 {
		return fmt.Errorf("%s: %w", synopsis, errUsage)
	}
	kind, remedy, locale, channel := recovery.Kind(rest[0]), recovery.Remedy(rest[1]), rest[2], rest[3]
	if !slices.Contains(recovery.Kinds, kind) {
		return fmt.Errorf("kind %q: one of %s: %w", kind, join(recovery.Kinds), errUsage)
	}
	if !slices.Contains(messaging.Remedies, remedy) {
		return fmt.Errorf("remedy %q: one of %s: %w", remedy, join(messaging.Remedies), errUsage)
	}
	channels := map[string][]string{"apology": {"email", "sms", "voice", "voicemail"},
		"follow-up": {"email", "sms"}, "confirmation": {"email", "sms"}}[*message]
	if channels == nil {
		return fmt.Errorf("message %q: apology, follow-up or confirmation: %w", *message, errUsage)
	}
	if !slices.Contains(channels, channel) {
		return fmt.Errorf("a %s goes by %s, not %q: %w", *message, strings.Join(channels, ", "), channel, errUsage)
	}
	tm := messaging.Builtin()
	if *dir != "" {
		var problems []messaging.Problem
		tm, problems = messaging.Merge(*dir)
		for _, p := range problems {
			fmt.Fprintln(stderr, p)
		}
		if tm == nil {
			return fmt.Errorf("%s: %w", *dir, errTemplates)
		}
	}
	if lang := tm.Language(locale); !strings.EqualFold(strings.SplitN(strings.ReplaceAll(locale, "_", "-"), "-", 2)[0], lang) {
		fmt.Fprintf(stderr, "(no templates for %q: %s)\n", locale, lang)
	}
	d := messaging.SampleApology(kind, remedy, *choices)
	var r messaging.Rendered
	switch *message {
	case "apology":
		r, err = tm.Render(locale, d)
	case "follow-up":
		r, err = tm.RenderFollowUp(locale, messaging.FollowUpData{Name: d.Name, OrderID: d.OrderID, Kind: kind,
			Offer: d.Offer, Healed: *healed})
	case "confirmation":
		r, err = tm.RenderConfirmation(locale, d)
	}
	if err != nil {
		return err
	}
	switch channel {
	case "email":
		if *html {
			fmt.Fprint(stdout, r.HTML)
			return nil
		}
		fmt.Fprintf(stdout, "Subject: %s\n\n%s\n", r.Subject, r.Text)
	case "sms":
		n, ucs2 := messaging.SMSSegments(r.SMS)
		enc := "GSM-7"
		if ucs2 {
			enc = "UCS-2"
		}
		fmt.Fprintln(stdout, r.SMS)
		fmt.Fprintf(stderr, "(%d characters, %d segment(s), %s)\n", len([]rune(r.SMS)), n, enc)
	case "voice":
		fmt.Fprintln(stdout, r.Voice)
	case "voicemail":
		fmt.Fprintln(stdout, r.Voicemail)
	}
	return nil
}

func join[T ~string](xs []T) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

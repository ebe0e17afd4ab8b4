package messaging

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"text/template"
	"text/template/parse"

	"github.com/recoveryhq/recovery/internal/recovery"
)

//go:embed templates/*.tmpl templates/layout.html
var templateFS embed.FS

var (
	layout = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html"))
	funcs  = template.FuncMap{"inc": func(i int) int { return i + 1 }}
)

// Templates is one set of message templates: the built-in ones (Builtin),
// or those with a directory's overrides merged in (Load). It does not
// change once built, so one value serves every goroutine. A nil
// *Templates is the built-in set.
type Templates struct {
	// langs are the languages, English (the fallback) first: the built-in
	// ones, then those only overrides add.
	langs []string
	text  map[string]*template.Template
	// files are the override files merged in.
	files []Override
	// warnings are what Load found wrong without refusing the set.
	warnings []Problem
}

// Override is one file of a templates directory.
type Override struct {
	Lang, Path string
	// Defines are the defines it replaces (or adds).
	Defines []string
	// Added says its language is not built in: what the file does not
	// define is English.
	Added bool
}

var builtin = newBuiltin()

func newBuiltin() *Templates {
	t := &Templates{langs: slices.Clone(Languages), text: map[string]*template.Template{}}
	for _, lang := range Languages {
		src, err := templateFS.ReadFile("templates/" + lang + ".tmpl")
		if err != nil {
			panic(err)
		}
		t.text[lang] = template.Must(template.New(lang + ".tmpl").Funcs(funcs).Parse(string(src)))
	}
	return t
}

// Builtin returns the built-in templates.
func Builtin() *Templates { return builtin }

func (t *Templates) set() *Templates {
	if t == nil {
		return builtin
	}
	return t
}

// Languages lists the set's languages, English first.
func (t *Templates) Languages() []string { return slices.Clone(t.set().langs) }

// Overrides lists the override files merged into the set.
func (t *Templates) Overrides() []Override { return slices.Clone(t.set().files) }

// Warnings are the problems Load found that do not stop it (an SMS over
// its segments, a define nothing uses); `recovery templates check` fails
// on them, the worker logs them.
func (t *Templates) Warnings() []Problem { return slices.Clone(t.set().warnings) }

// Language returns the template language for a locale such as "de-DE",
// falling back to English.
func (t *Templates) Language(locale string) string {
	t = t.set()
	lang, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"), "-")
	lang = strings.ToLower(lang)
	if slices.Contains(t.langs, lang) {
		return lang
	}
	return t.langs[0]
}

// langFile is how a templates directory's file is named: a language code.
var langFile = regexp.MustCompile(`^([a-z]{2,3})\.tmpl$`)

// Load reads the <lang>.tmpl files of dir and merges them, define by
// define, over the built-in templates: a file of a built-in language
// replaces the defines it has, a file of another language adds that
// language, whatever it does not define in English. The merged languages
// are then rendered for every message with sample data (Check), so that a
// template that does not parse or does not render stops the start,
// rather than a send: the error is Problems, each with its file and line.
// Load("") is the built-in set.
func Load(dir string) (*Templates, error) {
	return LoadOver(nil, dir)
}

// LoadOver is Load with base (nil: the built-in set) in place of the
// built-in templates: a brand's own files over the deployment's.
func LoadOver(base *Templates, dir string) (*Templates, error) {
	if base == nil {
		base = builtin
	}
	if dir == "" {
		return base, nil
	}
	t, problems := mergeOver(base, dir)
	if t != nil {
		// The languages without a file are the built-in ones, whose
		// check is a test of this package.
		langs := []string{}
		for _, o := range t.files {
			langs = append(langs, o.Lang)
		}
		problems = append(problems, t.Check(CheckOptions{Langs: langs})...)
	}
	var broken Problems
	var warnings []Problem
	for _, p := range problems {
		if p.Broken {
			broken = append(broken, p)
		} else {
			warnings = append(warnings, p)
		}
	}
	if len(broken) > 0 {
		return nil, broken
	}
	t.warnings = warnings
	return t, nil
}

// Merge is Load without rendering and without refusing: the problems of
// reading and parsing dir, and the set of the files that parse merged over
// the built-in ones (nil when dir cannot be read). `recovery templates
// check` and `preview` use it, so that one broken file hides nothing else.
func Merge(dir string) (*Templates, []Problem) {
	return mergeOver(builtin, dir)
}

// mergeOver merges dir's files over base.
func mergeOver(base0 *Templates, dir string) (*Templates, []Problem) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []Problem{{File: dir, Msg: "cannot read the templates directory: " + errText(err), Broken: true}}
	}
	t := &Templates{langs: slices.Clone(base0.langs), text: map[string]*template.Template{}, files: slices.Clone(base0.files)}
	for lang, tm := range base0.text {
		t.text[lang] = tm
	}
	var problems []Problem
	var added []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		path := filepath.Join(dir, name)
		m := langFile.FindStringSubmatch(name)
		if m == nil {
			problems = append(problems, Problem{File: path, Broken: true,
				Msg: "a templates file is named by its language code, such as en.tmpl or nl.tmpl (regions are not told apart)"})
			continue
		}
		lang := m[1]
		src, err := os.ReadFile(path)
		if err != nil {
			problems = append(problems, Problem{File: path, Lang: lang, Msg: "cannot read: " + errText(err), Broken: true})
			continue
		}
		base, ok := base0.text[lang]
		if !ok {
			base = base0.text[base0.langs[0]]
		}
		merged, o, ps := mergeFile(base, lang, path, string(src))
		problems = append(problems, ps...)
		if merged == nil {
			continue
		}
		o.Added = !ok
		t.text[lang] = merged
		t.files = append(t.files, o)
		if !ok {
			added = append(added, lang)
		}
	}
	slices.Sort(added)
	t.langs = append(t.langs, added...)
	if len(t.files) == 0 && len(problems) == 0 {
		problems = append(problems, Problem{File: dir, Broken: true,
			Msg: "no <lang>.tmpl file (en.tmpl, de.tmpl, …): nothing to override"})
	}
	return t, problems
}

// mergeFile parses one override file on its own (its errors name it and
// its lines) and puts its defines over a copy of base.
func mergeFile(base *template.Template, lang, path, src string) (*template.Template, Override, []Problem) {
	o := Override{Lang: lang, Path: path}
	ov, err := template.New(path).Funcs(funcs).Parse(src)
	if err != nil {
		return nil, o, []Problem{problemOf(err, lang, "", "", true, map[string]string{path: path})}
	}
	var problems []Problem
	if ov.Tree != nil {
		for _, n := range ov.Tree.Root.Nodes {
			if !parse.IsEmptyTree(n) {
				line := nodeLine(ov.Tree, n)
				if tn, ok := n.(*parse.TextNode); ok { // its line is where its blank start is
					line += bytes.Count(tn.Text[:len(tn.Text)-len(bytes.TrimLeft(tn.Text, " \t\r\n"))], []byte("\n"))
				}
				problems = append(problems, Problem{File: path, Line: line, Lang: lang,
					Msg: "text outside any {{define}} is not part of any message"})
				break
			}
		}
	}
	merged, err := base.Clone()
	if err != nil {
		return nil, o, []Problem{{File: path, Lang: lang, Msg: errText(err), Broken: true}}
	}
	used := referenced(ov)
	for _, d := range ov.Templates() {
		if d.Name() == path || d.Tree == nil {
			continue
		}
		_, line := treeSource(d.Tree)
		if old := base.Lookup(d.Name()); old != nil && old.Tree != nil && parse.IsEmptyTree(d.Tree.Root) {
			problems = append(problems, Problem{File: path, Line: line, Lang: lang, Define: d.Name(),
				Msg: "an empty define does not replace the built-in one (text/template keeps it): write the text it should say"})
			continue
		}
		if !slices.Contains(Defines(), d.Name()) && !used[d.Name()] {
			problems = append(problems, Problem{File: path, Line: line, Lang: lang, Define: d.Name(),
				Msg: "no message uses this define, nor any template of the file (a misspelt name?); `recovery templates check` lists the defines"})
		}
		if _, err := merged.AddParseTree(d.Name(), d.Tree); err != nil {
			problems = append(problems, Problem{File: path, Line: line, Lang: lang, Define: d.Name(), Msg: errText(err), Broken: true})
			continue
		}
		o.Defines = append(o.Defines, d.Name())
	}
	slices.Sort(o.Defines)
	return merged, o, problems
}

// referenced names the templates that the templates of t call.
func referenced(t *template.Template) map[string]bool {
	out := map[string]bool{}
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		switch n := n.(type) {
		case *parse.ListNode:
			if n != nil {
				for _, c := range n.Nodes {
					walk(c)
				}
			}
		case *parse.TemplateNode:
			out[n.Name] = true
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		}
	}
	for _, d := range t.Templates() {
		if d.Tree != nil {
			walk(d.Tree.Root)
		}
	}
	return out
}

// treeSource says where a define's text starts: its file and line.
func treeSource(tr *parse.Tree) (file string, line int) {
	return tr.ParseName, nodeLine(tr, tr.Root)
}

// nodeLine is the line of a node in its file (0: not known).
func nodeLine(tr *parse.Tree, n parse.Node) int {
	loc, _ := tr.ErrorContext(n)
	var line int
	if rest, ok := strings.CutPrefix(loc, tr.ParseName+":"); ok {
		fmt.Sscanf(rest, "%d", &line) //nolint:errcheck // 0 when absent
	}
	return line
}

// Render writes the apology in the customer's language.
func (t *Templates) Render(locale string, d ApologyData) (Rendered, error) {
	t = t.set()
	lang := t.Language(locale)
	d, err := t.apologyData(lang, d)
	if err != nil {
		return Rendered{}, err
	}
	out, err := t.render(lang, "apology", [3]string{"subject", "text", "sms"}, d, d.Link, d.Unsubscribe)
	if err != nil {
		return out, err
	}
	if out.Voice, err = t.execute(lang, "voice", d); err != nil {
		return out, err
	}
	out.Voicemail, err = t.execute(lang, "voicemail", d)
	return out, err
}

// apologyData fills what Render computes for the templates: the amount,
// the waiting time in words and the option lines.
func (t *Templates) apologyData(lang string, d ApologyData) (ApologyData, error) {
	d.Amount = FormatMoney(lang, d.Offer.Money())
	if d.Within > 0 {
		d.ChoiceWithin = within(lang, d.Within)
	}
	d.Choices, d.ChoicesSMS = nil, nil
	for _, o := range d.Options {
		line, err := t.execute(lang, "option", optionData(lang, o))
		if err != nil {
			return d, err
		}
		d.Choices, d.ChoicesSMS = append(d.Choices, line), append(d.ChoicesSMS, line)
	}
	return d, nil
}

// optionData is what "option" and "offer" get when they say one remedy
// alone (option lists, the choice page).
func optionData(lang string, o recovery.Offer) ApologyData {
	return ApologyData{Offer: o, Amount: FormatMoney(lang, o.Money())}
}

// RenderFollowUp writes the note that tells a customer who received an
// apology that the problem went away.
func (t *Templates) RenderFollowUp(locale string, d FollowUpData) (Rendered, error) {
	t = t.set()
	lang := t.Language(locale)
	d, err := t.followUpData(lang, d)
	if err != nil {
		return Rendered{}, err
	}
	return t.render(lang, "follow-up", [3]string{"healed_subject", "healed_text", "healed_sms"}, d)
}

// followUpData fills Resolution, Healed in the language.
func (t *Templates) followUpData(lang string, d FollowUpData) (FollowUpData, error) {
	res, err := t.execute(lang, "resolution", d.Healed)
	d.Resolution = res
	return d, err
}

// RenderConfirmation thanks the customer for a choice and says what
// happens now.
func (t *Templates) RenderConfirmation(locale string, d ApologyData) (Rendered, error) {
	t = t.set()
	lang := t.Language(locale)
	d.Amount = FormatMoney(lang, d.Offer.Money())
	return t.render(lang, "confirmation", [3]string{"confirm_subject", "confirm_text", "confirm_sms"}, d, d.Link, d.Unsubscribe)
}

// Phrase renders one of a language's short phrases (SMS replies, what a
// call says after a digit), falling back to English.
func (t *Templates) Phrase(locale, name string, data any) string {
	t = t.set()
	s, err := t.execute(t.Language(locale), name, data)
	if err != nil {
		s, _ = t.execute(t.langs[0], name, data)
	}
	return s
}

// OptionLine says one remedy the way the option lists of messages do,
// e.g. "A refund of €89.99".
func (t *Templates) OptionLine(locale string, o recovery.Offer) string {
	t = t.set()
	lang := t.Language(locale)
	s, _ := t.execute(lang, "option", optionData(lang, o))
	return s
}

// OfferSentence says what was done for the customer, as the apology does
// ("We are sending you a replacement at no cost to you.").
func (t *Templates) OfferSentence(locale string, o recovery.Offer) string {
	t = t.set()
	lang := t.Language(locale)
	s, _ := t.execute(lang, "offer", optionData(lang, o))
	return s
}

// ProblemPhrase says what went wrong, as the apology does ("your parcel
// was sent the wrong way").
func (t *Templates) ProblemPhrase(locale string, kind recovery.Kind) string {
	t = t.set()
	s, _ := t.execute(t.Language(locale), "problem", ApologyData{Kind: kind})
	return s
}

func (t *Templates) execute(lang, name string, data any) (string, error) {
	var b bytes.Buffer
	if err := t.text[lang].ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s %s: %w", lang, name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// render executes a message's subject, text and SMS templates and wraps
// the text in the HTML layout, where the given URLs become links.
func (t *Templates) render(lang, what string, names [3]string, data any, urls ...string) (Rendered, error) {
	out := Rendered{Locale: lang}
	for i, dst := range []*string{&out.Subject, &out.Text, &out.SMS} {
		var err error
		if *dst, err = t.execute(lang, names[i], data); err != nil {
			return Rendered{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	out.SMS = smsText(out.SMS)
	var err error
	out.HTML, err = htmlOf(lang, out.Subject, out.Text, urls...)
	if err != nil {
		return Rendered{}, fmt.Errorf("render %s %s html: %w", lang, what, err)
	}
	return out, nil
}

// htmlOf puts a text in the HTML layout, a paragraph for each blank-line
// separated block, the given URLs as links.
func htmlOf(lang, subject, text string, urls ...string) (string, error) {
	var html bytes.Buffer
	var paras []htmltemplate.HTML
	for _, p := range strings.Split(text, "\n\n") {
		esc := htmltemplate.HTMLEscapeString(p)
		for _, u := range urls {
			if u != "" {
				e := htmltemplate.HTMLEscapeString(u)
				esc = strings.ReplaceAll(esc, e, `<a href="`+e+`">`+e+`</a>`)
			}
		}
		paras = append(paras, htmltemplate.HTML(strings.ReplaceAll(esc, "\n", "<br>\n")))
	}
	err := layout.Execute(&html, map[string]any{"Lang": lang, "Subject": subject, "Paragraphs": paras})
	return html.String(), err
}

// errText is an error's message without the path an *os.PathError
// repeats.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

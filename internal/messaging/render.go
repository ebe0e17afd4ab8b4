// Package messaging turns incidents into messages and delivers them: the
// apology templates per locale, and the adapters behind
// recovery.Messenger (for now the capture adapter used by dev and tests).
package messaging

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

//go:embed templates/*.tmpl templates/layout.html
var templateFS embed.FS

// Languages lists the languages with an apology template; the first is the
// fallback.
var Languages = []string{"en", "de", "fr", "es"}

var (
	textTemplates = map[string]*template.Template{}
	layout        = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/layout.html"))
)

var funcs = template.FuncMap{"inc": func(i int) int { return i + 1 }}

func init() {
	for _, lang := range Languages {
		textTemplates[lang] = template.Must(template.New(lang+".tmpl").Funcs(funcs).ParseFS(templateFS, "templates/"+lang+".tmpl"))
	}
}

// ApologyData is what an apology says.
type ApologyData struct {
	Name    string
	OrderID string
	Kind    recovery.Kind
	Offer   recovery.Offer
	// Options, when set, are the remedies the customer chooses from, the
	// default first; ChoiceWithin says how long they have (e.g. "48 hours").
	Options []recovery.Offer
	Within  time.Duration
	// ChoiceWithin is Within in words; Render fills it.
	ChoiceWithin string
	// Amount is the offer's value formatted for the language; Render fills
	// it, and Choices and ChoicesSMS (one sentence per option).
	Amount     string
	Choices    []string
	ChoicesSMS []string
	// Link is the signed choice page of the incident, Unsubscribe the
	// signed link that ends email to the address (email only).
	Link, Unsubscribe string
}

// FollowUpData is what an "all is well again" note says.
type FollowUpData struct {
	Name    string
	OrderID string
	Kind    recovery.Kind
	Offer   recovery.Offer
	// Healed is the engine's plain reason, e.g. "delivered"; the template
	// turns it into the customer's language.
	Healed string
	// Resolution is Healed in the language; RenderFollowUp fills it.
	Resolution string
}

// RenderFollowUp writes the note that tells a customer who received an
// apology that the problem went away.
func RenderFollowUp(locale string, d FollowUpData) (Rendered, error) {
	lang := Language(locale)
	t := textTemplates[lang]
	var res bytes.Buffer
	if err := t.ExecuteTemplate(&res, "resolution", d.Healed); err != nil {
		return Rendered{}, fmt.Errorf("render %s resolution: %w", lang, err)
	}
	d.Resolution = strings.TrimSpace(res.String())
	return render(lang, "follow-up", [3]string{"healed_subject", "healed_text", "healed_sms"}, d)
}

// Rendered is an apology in one language, for each channel.
type Rendered struct {
	Locale  string
	Subject string
	Text    string
	HTML    string
	SMS     string
	// Voice is what a call says (with its digits), Voicemail what it
	// leaves on a machine; apologies only.
	Voice, Voicemail string
}

// Language returns the template language for a locale such as "de-DE",
// falling back to English.
func Language(locale string) string {
	lang, _, _ := strings.Cut(strings.ReplaceAll(strings.TrimSpace(locale), "_", "-"), "-")
	lang = strings.ToLower(lang)
	for _, l := range Languages {
		if l == lang {
			return l
		}
	}
	return Languages[0]
}

// Render writes the apology in the customer's language.
func Render(locale string, d ApologyData) (Rendered, error) {
	lang := Language(locale)
	d.Amount = FormatMoney(lang, d.Offer.Money())
	if d.Within > 0 {
		d.ChoiceWithin = within(lang, d.Within)
	}
	for _, o := range d.Options {
		od := ApologyData{Offer: o, Amount: FormatMoney(lang, o.Money())}
		line, err := execute(lang, "option", od)
		if err != nil {
			return Rendered{}, err
		}
		d.Choices, d.ChoicesSMS = append(d.Choices, line), append(d.ChoicesSMS, line)
	}
	out, err := render(lang, "apology", [3]string{"subject", "text", "sms"}, d, d.Link, d.Unsubscribe)
	if err != nil {
		return out, err
	}
	if out.Voice, err = execute(lang, "voice", d); err != nil {
		return out, err
	}
	out.Voicemail, err = execute(lang, "voicemail", d)
	return out, err
}

// Phrase renders one of a language's short phrases (SMS replies, what a
// call says after a digit), falling back to English.
func Phrase(locale, name string, data any) string {
	s, err := execute(Language(locale), name, data)
	if err != nil {
		s, _ = execute(Languages[0], name, data)
	}
	return s
}

// within names a waiting time in whole days (from two days) or hours, in
// the language, as it reads after "within".
func within(lang string, d time.Duration) string {
	words := map[string][2]string{"en": {"hours", "days"}, "de": {"Stunden", "Tagen"},
		"fr": {"heures", "jours"}, "es": {"horas", "días"}}[lang]
	h := int64(d / time.Hour)
	if h%24 == 0 && h >= 48 {
		return fmt.Sprintf("%d %s", h/24, words[1])
	}
	return fmt.Sprintf("%d %s", max(h, 1), words[0])
}

// RenderConfirmation thanks the customer for a choice and says what
// happens now.
func RenderConfirmation(locale string, d ApologyData) (Rendered, error) {
	lang := Language(locale)
	d.Amount = FormatMoney(lang, d.Offer.Money())
	return render(lang, "confirmation", [3]string{"confirm_subject", "confirm_text", "confirm_sms"}, d, d.Link, d.Unsubscribe)
}

func execute(lang, name string, data any) (string, error) {
	var b bytes.Buffer
	if err := textTemplates[lang].ExecuteTemplate(&b, name, data); err != nil {
		return "", fmt.Errorf("render %s %s: %w", lang, name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// render executes a message's subject, text and SMS templates and wraps
// the text in the HTML layout, where the given URLs become links.
func render(lang, what string, names [3]string, data any, urls ...string) (Rendered, error) {
	out := Rendered{Locale: lang}
	for i, dst := range []*string{&out.Subject, &out.Text, &out.SMS} {
		var err error
		if *dst, err = execute(lang, names[i], data); err != nil {
			return Rendered{}, fmt.Errorf("%s: %w", what, err)
		}
	}
	var html bytes.Buffer
	var paras []htmltemplate.HTML
	for _, p := range strings.Split(out.Text, "\n\n") {
		esc := htmltemplate.HTMLEscapeString(p)
		for _, u := range urls {
			if u != "" {
				e := htmltemplate.HTMLEscapeString(u)
				esc = strings.ReplaceAll(esc, e, `<a href="`+e+`">`+e+`</a>`)
			}
		}
		paras = append(paras, htmltemplate.HTML(strings.ReplaceAll(esc, "\n", "<br>\n")))
	}
	if err := layout.Execute(&html, map[string]any{"Lang": lang, "Subject": out.Subject,
		"Paragraphs": paras}); err != nil {
		return Rendered{}, fmt.Errorf("render %s %s html: %w", lang, what, err)
	}
	out.HTML = html.String()
	return out, nil
}

// currencySymbols are the symbols used when formatting common currencies.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// FormatMoney formats an amount the way readers of lang expect: "€13.50"
// in English, "13,50 €" in German, French and Spanish.
func FormatMoney(lang string, m recovery.Money) string {
	s := m.String() // "13.50 EUR"
	num, _, _ := strings.Cut(s, " ")
	sym, ok := currencySymbols[m.Currency]
	if !ok {
		sym = m.Currency
	}
	if lang == "en" {
		if ok {
			return sym + num
		}
		return num + " " + sym
	}
	return strings.Replace(num, ".", ",", 1) + "\u00a0" + sym
}

// OptionLine says one remedy the way the option lists of messages do,
// e.g. "A refund of €89.99".
func OptionLine(locale string, o recovery.Offer) string {
	lang := Language(locale)
	s, _ := execute(lang, "option", ApologyData{Offer: o, Amount: FormatMoney(lang, o.Money())})
	return s
}

// OfferSentence says what was done for the customer, as the apology does
// ("We are sending you a replacement at no cost to you.").
func OfferSentence(locale string, o recovery.Offer) string {
	lang := Language(locale)
	s, _ := execute(lang, "offer", ApologyData{Offer: o, Amount: FormatMoney(lang, o.Money())})
	return s
}

// ProblemPhrase says what went wrong, as the apology does ("your parcel
// was sent the wrong way").
func ProblemPhrase(locale string, kind recovery.Kind) string {
	s, _ := execute(Language(locale), "problem", ApologyData{Kind: kind})
	return s
}

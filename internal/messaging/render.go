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

func init() {
	for _, lang := range Languages {
		textTemplates[lang] = template.Must(template.ParseFS(templateFS, "templates/"+lang+".tmpl"))
	}
}

// ApologyData is what an apology says.
type ApologyData struct {
	Name    string
	OrderID string
	Kind    recovery.Kind
	Offer   recovery.Offer
	// Amount is the offer's value formatted for the language; Render fills it.
	Amount string
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
	return render(lang, "apology", [3]string{"subject", "text", "sms"}, d)
}

// render executes a message's subject, text and SMS templates and wraps
// the text in the HTML layout.
func render(lang, what string, names [3]string, data any) (Rendered, error) {
	t := textTemplates[lang]
	out := Rendered{Locale: lang}
	for i, dst := range []*string{&out.Subject, &out.Text, &out.SMS} {
		var b bytes.Buffer
		if err := t.ExecuteTemplate(&b, names[i], data); err != nil {
			return Rendered{}, fmt.Errorf("render %s %s %s: %w", lang, what, names[i], err)
		}
		*dst = strings.TrimSpace(b.String())
	}
	var html bytes.Buffer
	if err := layout.Execute(&html, map[string]any{"Lang": lang, "Subject": out.Subject,
		"Paragraphs": strings.Split(out.Text, "\n\n")}); err != nil {
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

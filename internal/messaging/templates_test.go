package messaging

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// overrides writes a templates directory.
func overrides(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestBuiltinTemplatesPassTheirCheck(t *testing.T) {
	for _, p := range Builtin().Check(CheckOptions{}) {
		t.Errorf("%s", p)
	}
	if len(Defines()) < 30 || !slices.Contains(Defines(), "subject") || !slices.Contains(Defines(), "voice_bye") {
		t.Fatalf("defines %v", Defines())
	}
}

func TestOverridesMergeDefineByDefine(t *testing.T) {
	dir := overrides(t, map[string]string{
		"en.tmpl": "{{/* Hartmann & Söhne */}}\n" +
			`{{define "subject"}}Our apologies, order {{.OrderID}}{{end}}` + "\n" +
			`{{define "offer"}}{{if eq .Offer.Remedy "reship"}}A new one leaves our workshop today, at our cost.{{else}}{{template "offer_builtin" .}}{{end}}{{end}}` + "\n" +
			// A helper of the file's own is no misspelt define.
			`{{define "offer_builtin"}}We are refunding {{.Amount}}.{{end}}`,
		"fi.tmpl":   `{{define "subject"}}Pahoittelumme: tilaus {{.OrderID}}{{end}}`,
		"README.md": "not a template",
	})
	tm, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	d := ApologyData{Name: "Ada", OrderID: "1001", Kind: recovery.KindLost, Offer: recovery.Offer{Remedy: recovery.RemedyReship}}
	r, err := tm.Render("en-GB", d)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != "Our apologies, order 1001" || !strings.Contains(r.Text, "Dear Ada,\n\nWe made a mistake") ||
		!strings.Contains(r.Text, "A new one leaves our workshop today") || !strings.Contains(r.Voice, "A new one leaves") {
		t.Fatalf("English with two defines of the merchant's:\n%s\n%s\n%s", r.Subject, r.Text, r.Voice)
	}
	if de, _ := tm.Render("de", d); !strings.HasPrefix(de.Subject, "Es tut uns leid") {
		t.Fatalf("German is not overridden: %q", de.Subject)
	}
	if b, _ := Render("en", d); !strings.HasPrefix(b.Subject, "We're sorry") || strings.Contains(b.Text, "workshop") {
		t.Fatalf("the built-in set changed: %q", b.Subject)
	}
	// A language only the overrides have: its own subject, English for
	// what it lacks, reported by Check as such, not refused.
	if tm.Language("fi-FI") != "fi" || Language("fi-FI") != "en" || !slices.Contains(tm.Languages(), "fi") {
		t.Fatalf("languages %v", tm.Languages())
	}
	fi, err := tm.Render("fi", d)
	if err != nil || fi.Subject != "Pahoittelumme: tilaus 1001" || !strings.Contains(fi.Text, "We made a mistake") || fi.Locale != "fi" {
		t.Fatalf("Finnish: %+v, %v", fi, err)
	}
	var english []string
	for _, p := range tm.Warnings() {
		if p.Lang == "fi" && p.Msg == "is not defined: English is used" && p.File == filepath.Join(dir, "fi.tmpl") {
			english = append(english, p.Define)
		}
	}
	if len(english) != len(Defines())-1 || slices.Contains(english, "subject") {
		t.Fatalf("fi falls back to English for %v", english)
	}
	var files []string
	for _, o := range tm.Overrides() {
		files = append(files, o.Lang+":"+strings.Join(o.Defines, ","))
	}
	if !slices.Equal(files, []string{"en:offer,offer_builtin,subject", "fi:subject"}) {
		t.Fatalf("overrides %v", files)
	}
}

// A broken override stops Load, each problem with its file and line.
func TestBrokenOverridesAreRefusedWithFileAndLine(t *testing.T) {
	tests := []struct {
		name, file, src string
		want            []string // in the error
	}{
		{"unclosed action", "en.tmpl",
			`{{define "subject"}}Sorry: order {{.OrderID}}{{end}}` + "\n\n" + `{{define "sms"}}Sorry {{.OrderID` + "\n",
			[]string{"/en.tmpl:3: ", "unclosed action"}},
		{"missing field", "de.tmpl",
			"{{/* ours */}}\n" + `{{define "offer"}}Ihr Code: {{.Offer.Cod}}{{end}}`,
			[]string{"/de.tmpl:2: ", `de "offer"`, "can't evaluate field Cod"}},
		{"missing define", "fr.tmpl",
			`{{define "text"}}Bonjour,` + "\n\n" + `{{template "excuses" .}}{{end}}`,
			[]string{"/fr.tmpl:3: ", `fr "text"`, `template "excuses" not defined`}},
		{"no value", "en.tmpl",
			`{{define "voice_bye"}}Goodbye {{.}}.{{end}}`,
			[]string{"/en.tmpl:1: ", `en "voice_bye"`, `"<no value>"`}},
		{"empty subject", "es.tmpl",
			"\n" + `{{define "subject"}}{{if .Link}}Lo sentimos{{end}}{{end}}`,
			[]string{"/es.tmpl:2: ", `es "subject"`, "is empty"}},
		{"unknown function", "en.tmpl",
			`{{define "subject"}}{{upper .OrderID}}{{end}}`,
			[]string{"/en.tmpl:1: ", `function "upper" not defined`}},
		{"region in the name", "en-GB.tmpl", `{{define "subject"}}Sorry{{end}}`,
			[]string{"/en-GB.tmpl: ", "language code"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := overrides(t, map[string]string{tt.file: tt.src})
			tm, err := Load(dir)
			var ps Problems
			if tm != nil || !errors.As(err, &ps) {
				t.Fatalf("Load: %v, %v", tm, err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
			if !strings.HasPrefix(err.Error(), filepath.Join(dir, tt.file)) {
				t.Errorf("error does not start with the file:\n%v", err)
			}
			for _, p := range ps {
				if !p.Broken {
					t.Errorf("a warning among the errors: %s", p)
				}
			}
		})
	}
}

func TestOverrideWarnings(t *testing.T) {
	dir := overrides(t, map[string]string{"en.tmpl": `{{define "subjcet"}}Sorry{{end}}` + "\n" +
		`{{define "sms_help"}}{{end}}` + "\nHello\n" +
		`{{define "sms"}}{{template "problem" .}}: order {{.OrderID}}. Reply HELP.{{end}}`})
	tm, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range tm.Warnings() {
		got = append(got, p.String())
	}
	for _, want := range []string{
		dir + `/en.tmpl:1: en "subjcet" no message uses this define`,
		dir + `/en.tmpl:2: en "sms_help" an empty define does not replace the built-in one`,
		dir + `/en.tmpl:3: en text outside any {{define}}`,
		// Every kind's discount, alone and among choices, but the first.
		dir + fmt.Sprintf(`/en.tmpl:4: en "sms" (apology misrouted/discount, and %d more) does not say the discount code (SORRY-7KQ2MX4BWP)`,
			2*len(recovery.Kinds)-1),
	} {
		if !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, want) }) {
			t.Errorf("no warning %q in:\n%s", want, strings.Join(got, "\n"))
		}
	}
	if _, err := Load(filepath.Join(dir, "nowhere")); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("a directory that is not there: %v", err)
	}
	if _, err := Load(overrides(t, map[string]string{"notes.txt": "x"})); err == nil || !strings.Contains(err.Error(), "no <lang>.tmpl") {
		t.Errorf("a directory without templates: %v", err)
	}
}

func TestSMSSegments(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		ucs2 bool
	}{
		{"Sorry", 1, false},
		{strings.Repeat("a", 160), 1, false},
		{strings.Repeat("a", 161), 2, false},
		{strings.Repeat("€", 80), 1, false}, // the extension table: two septets each
		{strings.Repeat("€", 81), 2, false},
		{strings.Repeat("a", 306), 2, false},
		{strings.Repeat("a", 307), 3, false},
		{"Zażółć", 1, true},
		{strings.Repeat("ł", 70), 1, true},
		{strings.Repeat("ł", 71), 2, true},
		{strings.Repeat("ł", 134), 2, true},
		{strings.Repeat("ł", 135), 3, true},
		{"13,50\u00a0€", 1, true},
	}
	for _, tt := range tests {
		if n, ucs2 := SMSSegments(tt.s); n != tt.n || ucs2 != tt.ucs2 {
			t.Errorf("SMSSegments(%.12q…) = %d, %v; want %d, %v", tt.s, n, ucs2, tt.n, tt.ucs2)
		}
	}
}

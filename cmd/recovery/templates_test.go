package main

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// brokenTemplates is a templates directory with an unclosed action on
// line 3 of en.tmpl and a field that does not exist on line 2 of de.tmpl.
func brokenTemplates(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range map[string]string{
		"en.tmpl": `{{define "subject"}}Sorry: order {{.OrderID}}{{end}}` + "\n\n" + `{{define "sms"}}Sorry {{.OrderID` + "\n",
		"de.tmpl": "{{/* unsere */}}\n" + `{{define "offer"}}Ihr Code: {{.Offer.Cod}}{{end}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestTemplatesCheck(t *testing.T) {
	var out bytes.Buffer
	noEnv := func(string) string { return "" }
	if err := run(t.Context(), []string{"templates", "check"}, noEnv, &out, &out); err != nil {
		t.Fatalf("the built-in templates fail their check: %v\n%s", err, out.String())
	}
	if !strings.HasSuffix(out.String(), "\nok\n") || !strings.Contains(out.String(), "languages (en de fr es") {
		t.Fatalf("output %q", out.String())
	}
	dir := brokenTemplates(t)
	for _, tc := range []struct {
		args []string
		env  func(string) string
	}{
		{[]string{"templates", "check", dir}, noEnv},
		{[]string{"templates", "check"}, func(k string) string {
			if k == "RECOVERY_TEMPLATES_DIR" {
				return dir
			}
			return ""
		}},
	} {
		out.Reset()
		err := run(t.Context(), tc.args, tc.env, &out, &out)
		if !errors.Is(err, errTemplates) {
			t.Fatalf("%v: err %v, want the problems\n%s", tc.args, err, out.String())
		}
		for _, want := range []string{
			filepath.Join(dir, "en.tmpl") + `:3: en unclosed action`,
			filepath.Join(dir, "de.tmpl") + `:2: de "offer" (`,
			"can't evaluate field Cod",
		} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, want, out.String())
			}
		}
	}
	out.Reset()
	if err := run(t.Context(), []string{"templates", "check", "-sms-segments", "1"}, noEnv, &out, &out); !errors.Is(err, errTemplates) ||
		!strings.Contains(out.String(), `built-in en.tmpl:17: en "sms" (apology `) || !strings.Contains(out.String(), "more than 1") {
		t.Fatalf("one segment: %v\n%s", err, out.String())
	}
}

func TestTemplatesPreview(t *testing.T) {
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"lost", "refund", "de-DE", "email"}, []string{"Subject: Es tut uns leid: ein Problem mit Ihrer Bestellung 1042\n\nGuten Tag Ada Weber,",
			"Wir erstatten Ihnen 89,99\u00a0€", "Abmelden: https://"}},
		{[]string{"-choices", "late", "discount", "en", "sms"}, []string{"Sorry: your parcel will not arrive", "1) €13.50 off", "2) A refund of €89.99"}},
		{[]string{"misrouted", "reship", "fr", "voice"}, []string{"Bonjour Ada Weber, ici le service client", "tapez 0"}},
		{[]string{"-html", "misrouted", "reship", "es", "email"}, []string{`<html lang="es">`, "<p>Hola, Ada Weber:</p>"}},
		{[]string{"-message", "follow-up", "-healed", "the carrier found the parcel", "lost", "discount", "en", "email"},
			[]string{"Subject: Good news about your order 1042", "the carrier has found your parcel", "SORRY-7KQ2MX4BWP"}},
		{[]string{"-message", "confirmation", "wrong_item", "store_credit", "en", "sms"}, []string{"Thanks (order 1042): €20.00 store credit added."}},
	} {
		var out, notes bytes.Buffer
		if err := run(t.Context(), append([]string{"templates", "preview"}, tc.args...), noEnv, &out, &notes); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		for _, w := range tc.want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%v: output lacks %q:\n%s", tc.args, w, out.String())
			}
		}
	}
	for _, args := range [][]string{{"lost", "refund", "en"}, {"lost", "cash", "en", "email"}, {"gone", "refund", "en", "email"},
		{"-message", "follow-up", "lost", "refund", "en", "voice"}} {
		if err := run(t.Context(), append([]string{"templates", "preview"}, args...), noEnv, io.Discard, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// A worker whose templates do not render does not start: it says which
// file and line, before it opens anything.
func TestTemplatesBrokenOverrideStopsTheWorker(t *testing.T) {
	dir := brokenTemplates(t)
	cfg, err := loadConfig(func(k string) string {
		if k == "RECOVERY_TEMPLATES_DIR" {
			return dir
		}
		return ""
	})
	if err != nil || cfg.TemplatesDir != dir {
		t.Fatalf("config: %v, %q", err, cfg.TemplatesDir)
	}
	_, err = startStack(t.Context(), cfg, "postgres://nowhere.invalid/x", "", parts{worker: true}, false,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "RECOVERY_TEMPLATES_DIR") ||
		!strings.Contains(err.Error(), filepath.Join(dir, "en.tmpl")+":3:") || !strings.Contains(err.Error(), filepath.Join(dir, "de.tmpl")+":2:") {
		t.Fatalf("start with broken templates: %v", err)
	}
}

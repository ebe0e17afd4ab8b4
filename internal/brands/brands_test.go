package brands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

const lamps = `brands:
  - name: Lamp Shop
    sources: [shop-eu, shopify/lamps.myshopify.com]
    from: {email: care@lampshop.example, name: Lamp Shop care}
    support: {phone: "+442071838750", email: help@lampshop.example}
    logo_url: https://cdn.lampshop.example/logo.svg
    colors: {accent: "#8a2be2", background: "#fffdf7", text: "#222"}
  - name: Chair Co
    sources: [chairs]
`

func TestBrandsBySource(t *testing.T) {
	s, err := Parse("brands.yaml", []byte(lamps))
	if err != nil {
		t.Fatal(err)
	}
	if b := s.For("shopify/lamps.myshopify.com"); b == nil || b.Name != "Lamp Shop" || b.From.Email != "care@lampshop.example" ||
		b.LogoOrigin() != "https://cdn.lampshop.example" {
		t.Fatalf("lamps: %+v", b)
	}
	if b := s.For("chairs"); b == nil || b.Name != "Chair Co" || b.LogoOrigin() != "" {
		t.Fatalf("chairs: %+v", b)
	}
	if s.For("elsewhere") != nil || (*Set)(nil).For("chairs") != nil {
		t.Fatal("a source of no brand has a brand")
	}
}

func TestBrandsFileProblemsAreNamed(t *testing.T) {
	for bad, want := range map[string]string{
		"brands: []":                  "no brands",
		"brands:\n  - {name: A}":      "brand 1 (A): sources",
		"brands:\n  - {sources: [x]}": "brand 1 (): name: required",
		"brands:\n  - {name: A, sources: [x]}\n  - {name: B, sources: [x]}":                 `brand 2 (B): sources: "x" is A's already`,
		"brands:\n  - {name: A, sources: [x], from: {email: 'A <a@b.c>'}}":                  "from.email",
		"brands:\n  - {name: A, sources: [x], logo_url: 'http://a.example/l.png'}":          "logo_url: an https URL",
		"brands:\n  - {name: A, sources: [x], colors: {accent: 'red; background: url(x)'}}": "colors.accent",
		"brands:\n  - {name: A, sources: [x], colour: blue}":                                "field colour not found",
	} {
		_, err := Parse("brands.yaml", []byte(bad))
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "brands.yaml") {
			t.Errorf("%q: %v, want an error naming the file and %q", bad, err, want)
		}
	}
}

// TestABrandsOwnWords: a brand's templates directory (relative to the
// brands file) is merged over the deployment's, define by define; a broken
// one is refused naming the brand, the file and the line.
func TestABrandsOwnWords(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("shop/en.tmpl", `{{define "healed_subject"}}All well with {{.OrderID}}{{end}}`)
	write("lamps/en.tmpl", `{{define "subject"}}Lamp Shop is sorry about {{.OrderID}}{{end}}`)
	write("brands.yaml", "brands:\n  - {name: Lamp Shop, sources: [lamps], templates: lamps}\n  - {name: Chair Co, sources: [chairs]}\n")
	deployment, err := messaging.Load(filepath.Join(dir, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(filepath.Join(dir, "brands.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.LoadTemplates(deployment); err != nil {
		t.Fatal(err)
	}
	lamps := s.For("lamps").Messages
	if lamps == nil || s.For("chairs").Messages != nil {
		t.Fatalf("brand templates: lamps %v, chairs %v", lamps, s.For("chairs").Messages)
	}
	ap, err := lamps.Render("en", messaging.ApologyData{OrderID: "1001", Kind: recovery.KindLate})
	if err != nil || ap.Subject != "Lamp Shop is sorry about 1001" {
		t.Fatalf("the brand's subject: %q, %v", ap.Subject, err)
	}
	fu, err := lamps.RenderFollowUp("en", messaging.FollowUpData{OrderID: "1001", Kind: recovery.KindLate, Healed: "delivered"})
	if err != nil || fu.Subject != "All well with 1001" {
		t.Fatalf("the deployment's words under the brand's: %q, %v", fu.Subject, err)
	}
	write("lamps/en.tmpl", "{{define \"subject\"}}\n{{.OrderID\n{{end}}")
	s, _ = Load(filepath.Join(dir, "brands.yaml"))
	err = s.LoadTemplates(deployment)
	if err == nil || !strings.Contains(err.Error(), "brand Lamp Shop") || !strings.Contains(err.Error(), filepath.Join(dir, "lamps", "en.tmpl")+":3: en") {
		t.Fatalf("a broken brand template: %v", err)
	}
}

package brands

import (
	"strings"
	"testing"
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

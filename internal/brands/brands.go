// Package brands lets one deployment speak for several shops: each brand
// has its name, the sender of its emails, how its customers reach a
// person, and the look of its choice page; an order's brand is the one
// whose sources include the source of its order.created.
package brands

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Brand is one shop.
type Brand struct {
	Name string `yaml:"name"`
	// Sources are the event sources whose orders are this brand's.
	Sources []string `yaml:"sources"`
	From    struct {
		Email string `yaml:"email"`
		Name  string `yaml:"name"`
	} `yaml:"from"`
	Support struct {
		Phone string `yaml:"phone"`
		Email string `yaml:"email"`
	} `yaml:"support"`
	// LogoURL is an https image for the choice page.
	LogoURL string `yaml:"logo_url"`
	Colors  struct {
		Accent     string `yaml:"accent"`
		Background string `yaml:"background"`
		Text       string `yaml:"text"`
	} `yaml:"colors"`
	// Templates is a directory of the brand's own <lang>.tmpl files,
	// merged over the deployment's (relative to the brands file).
	Templates string `yaml:"templates"`
	// Messages are the brand's templates once loaded (nil: the
	// deployment's).
	Messages *messaging.Templates `yaml:"-"`
}

// Set is the brands of a file, found by source.
type Set struct {
	brands   []*Brand
	bySource map[string]*Brand
}

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// Load reads a brands file:
//
//	brands:
//	  - name: Lamp Shop
//	    sources: [shop-eu, shopify/lamps.myshopify.com]
//	    from: {email: care@lampshop.example, name: Lamp Shop care}
//	    support: {phone: "+44 20 7183 8750", email: help@lampshop.example}
//	    logo_url: https://lampshop.example/logo.svg
//	    colors: {accent: "#0b5cad", background: "#ffffff", text: "#1a1a1a"}
//
// Every problem is named with the brand's position and field.
func Load(path string) (*Set, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("brands: cannot read %s: %w", path, err)
	}
	s, err := Parse(path, raw)
	if err != nil {
		return nil, err
	}
	for _, b := range s.brands {
		if b.Templates != "" && !filepath.IsAbs(b.Templates) {
			b.Templates = filepath.Join(filepath.Dir(path), b.Templates)
		}
	}
	return s, nil
}

// LoadTemplates loads each brand's templates over base (the deployment's;
// nil: the built-in ones); a brand's file that does not parse or render
// is an error naming the brand, the file and the line.
func (s *Set) LoadTemplates(base *messaging.Templates) error {
	for _, b := range s.Brands() {
		if b.Templates == "" {
			continue
		}
		t, err := messaging.LoadOver(base, b.Templates)
		if err != nil {
			return fmt.Errorf("brand %s: templates %s:\n%w", b.Name, b.Templates, err)
		}
		b.Messages = t
	}
	return nil
}

// Parse reads a brands file's text (name names it in errors).
func Parse(name string, raw []byte) (*Set, error) {
	var f struct {
		Brands []*Brand `yaml:"brands"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(f.Brands) == 0 {
		return nil, fmt.Errorf("%s: no brands (a list under brands:)", name)
	}
	s := &Set{brands: f.Brands, bySource: map[string]*Brand{}}
	var problems []error
	bad := func(i int, b *Brand, field, msg string) {
		problems = append(problems, fmt.Errorf("%s: brand %d (%s): %s: %s", name, i+1, b.Name, field, msg))
	}
	for i, b := range f.Brands {
		if strings.TrimSpace(b.Name) == "" {
			bad(i, b, "name", "required")
		}
		if len(b.Sources) == 0 {
			bad(i, b, "sources", "at least one event source whose orders are this brand's")
		}
		for _, src := range b.Sources {
			if other, ok := s.bySource[src]; ok {
				bad(i, b, "sources", fmt.Sprintf("%q is %s's already", src, other.Name))
			}
			s.bySource[src] = b
		}
		for field, addr := range map[string]string{"from.email": b.From.Email, "support.email": b.Support.Email} {
			if addr != "" && !recovery.PlausibleEmail(addr) {
				bad(i, b, field, fmt.Sprintf("%q is not a bare email address", addr))
			}
		}
		if b.LogoURL != "" {
			if u, err := url.Parse(b.LogoURL); err != nil || u.Scheme != "https" || u.Host == "" {
				bad(i, b, "logo_url", "an https URL")
			}
		}
		for field, c := range map[string]string{"colors.accent": b.Colors.Accent, "colors.background": b.Colors.Background,
			"colors.text": b.Colors.Text} {
			if c != "" && !hexColor.MatchString(c) {
				bad(i, b, field, fmt.Sprintf("%q is not a colour such as #0b5cad", c))
			}
		}
	}
	if err := errors.Join(problems...); err != nil {
		return nil, err
	}
	return s, nil
}

// For is the brand of an order from source (nil: none, the deployment's
// own settings speak).
func (s *Set) For(source string) *Brand {
	if s == nil {
		return nil
	}
	return s.bySource[source]
}

// Brands lists them in the file's order.
func (s *Set) Brands() []*Brand {
	if s == nil {
		return nil
	}
	return s.brands
}

// LogoOrigin is the logo's scheme and host, for a page's content
// security policy ("" without a logo).
func (b *Brand) LogoOrigin() string {
	if b == nil || b.LogoURL == "" {
		return ""
	}
	u, err := url.Parse(b.LogoURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

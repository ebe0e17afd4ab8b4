package catalog

import (
	"strings"
	"testing"
)

func TestDevSeedLoads(t *testing.T) {
	ps := DevSeed()
	if len(ps) < 5 || ps[0].SKU != "LAMP-01" || ps[0].PriceMinor != 8999 || ps[0].Attributes["fitting"] != "E27" {
		t.Fatalf("seed = %+v", ps)
	}
}

func TestParseNamesEachProblem(t *testing.T) {
	_, err := Parse([]byte(`products:
  - {sku: a, category: x, currency: EUR}
  - {sku: A, category: x, currency: EUR}
  - {sku: b, currency: EUR}
  - {sku: c, category: x, currency: euro}
  - {category: x, currency: EUR}`))
	if err == nil {
		t.Fatal("a bad catalog parsed")
	}
	for _, want := range []string{"sku A appears twice", "(B): category is required", `"euro" is not`, "products[4]: sku is required"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

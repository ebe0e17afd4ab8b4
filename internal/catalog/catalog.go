// Package catalog reads product catalogs (the dev seed, or a file named by
// RECOVERY_CATALOG_FILE): what substitutes are chosen from. Stock then
// follows the inventory.changed events.
package catalog

import (
	_ "embed"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/recoveryhq/recovery/internal/recovery"
)

//go:embed dev.yaml
var devSeed []byte

// DevSeed returns the catalog `recovery dev` starts with.
func DevSeed() []recovery.Product {
	ps, err := Parse(devSeed)
	if err != nil {
		panic("catalog: the embedded dev seed is invalid: " + err.Error())
	}
	return ps
}

// Load reads a catalog file.
func Load(path string) ([]recovery.Product, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ps, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ps, nil
}

// Parse reads a catalog: a YAML document with a list of products, each
// checked (a SKU, a category, a price in minor units with its currency).
func Parse(raw []byte) ([]recovery.Product, error) {
	var doc struct {
		Products []recovery.Product `yaml:"products"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var problems []string
	for i, p := range doc.Products {
		sku := strings.ToUpper(strings.TrimSpace(p.SKU))
		switch {
		case sku == "":
			problems = append(problems, fmt.Sprintf("products[%d]: sku is required", i))
		case seen[sku]:
			problems = append(problems, fmt.Sprintf("products[%d]: sku %s appears twice", i, sku))
		case p.Category == "":
			problems = append(problems, fmt.Sprintf("products[%d] (%s): category is required", i, sku))
		case !recovery.ValidCurrency(p.Currency):
			problems = append(problems, fmt.Sprintf("products[%d] (%s): currency %q is not an ISO 4217 code", i, sku, p.Currency))
		case p.PriceMinor < 0 || p.Stock < 0:
			problems = append(problems, fmt.Sprintf("products[%d] (%s): price_minor and stock must not be negative", i, sku))
		}
		seen[sku] = true
		doc.Products[i].SKU = sku
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return doc.Products, nil
}

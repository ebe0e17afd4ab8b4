package recovery

import (
	"fmt"
	"testing"
)

func TestRankSubstitutes(t *testing.T) {
	orig := Product{SKU: "LAMP-1", Category: "lighting", PriceMinor: 10000, Currency: "EUR",
		Attributes: map[string]string{"colour": "black", "fitting": "E27", "style": "desk"}}
	cands := []Product{
		orig,
		{SKU: "SOFA", Category: "furniture", PriceMinor: 10000, Currency: "EUR", Stock: 9},
		{SKU: "USD", Category: "lighting", PriceMinor: 10000, Currency: "USD", Stock: 9},
		{SKU: "DEAR", Category: "lighting", PriceMinor: 11001, Currency: "EUR", Stock: 9},
		{SKU: "CHEAP", Category: "lighting", PriceMinor: 8999, Currency: "EUR", Stock: 9},
		{SKU: "GONE", Category: "lighting", PriceMinor: 10000, Currency: "EUR", Stock: 2, Reserved: 2},
		{SKU: "B-FAR", Category: "lighting", PriceMinor: 10900, Currency: "EUR", Stock: 1,
			Attributes: map[string]string{"colour": "BLACK", "fitting": "E27", "style": "floor"}},
		{SKU: "A-NEAR", Category: "lighting", PriceMinor: 10100, Currency: "EUR", Stock: 1,
			Attributes: map[string]string{"colour": "black", "fitting": "E27", "style": "clamp"}},
		{SKU: "C-BEST", Category: "lighting", PriceMinor: 9500, Currency: "EUR", Stock: 1,
			Attributes: map[string]string{"colour": "black", "fitting": "E27", "style": "desk"}},
		{SKU: "D-NONE", Category: "lighting", PriceMinor: 10000, Currency: "EUR", Stock: 1},
	}
	var got []string
	for _, p := range RankSubstitutes(orig, 1, 10, cands) {
		got = append(got, p.SKU)
	}
	// Same category and currency, available, within 10%: most alike first,
	// then closest in price.
	if want := "[C-BEST A-NEAR B-FAR D-NONE]"; fmt.Sprint(got) != want {
		t.Fatalf("ranking = %v, want %s", got, want)
	}
	if n := len(RankSubstitutes(orig, 2, 10, cands)); n != 0 {
		t.Fatalf("%d candidates have two available, want none", n)
	}
}

package recovery

import (
	"fmt"
	"strings"
)

// Money is an amount in integer minor units of an ISO 4217 currency. The
// engine never represents money as a float.
type Money struct {
	Minor    int64  `json:"minor"`
	Currency string `json:"currency"`
}

// minorDigits lists currencies whose minor unit is not two decimal digits.
var minorDigits = map[string]int{
	"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XAF": 0, "XOF": 0, "UGX": 0, "PYG": 0,
	"RWF": 0, "KMF": 0, "GNF": 0, "DJF": 0, "VUV": 0, "XPF": 0, "BIF": 0,
	"BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3, "LYD": 3, "IQD": 3,
}

// MinorDigits returns how many decimal digits the currency's minor unit has.
func MinorDigits(currency string) int {
	if d, ok := minorDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// ValidCurrency reports whether code has the shape of an ISO 4217 code:
// three upper-case letters.
func ValidCurrency(code string) bool {
	if len(code) != 3 {
		return false
	}
	for _, r := range code {
		if r < 'A' || r > 'Z' {
			return false
		}
	}
	return true
}

// Percent returns p percent of m, rounded half up to a whole minor unit.
func (m Money) Percent(p int64) Money {
	return Money{Minor: (m.Minor*p + 50) / 100, Currency: m.Currency}
}

// String formats the amount with its currency code, e.g. "13.50 EUR".
func (m Money) String() string {
	d := MinorDigits(m.Currency)
	sign := ""
	v := m.Minor
	if v < 0 {
		sign, v = "-", -v
	}
	if d == 0 {
		return fmt.Sprintf("%s%d %s", sign, v, m.Currency)
	}
	scale := int64(1)
	for range d {
		scale *= 10
	}
	return fmt.Sprintf("%s%d.%0*d %s", sign, v/scale, d, v%scale, m.Currency)
}

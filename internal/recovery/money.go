package recovery

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// MaxMinor bounds every amount the engine accepts (10^14 minor units: a
// trillion in a two-digit currency), so that no arithmetic on amounts can
// overflow.
const MaxMinor = 100_000_000_000_000

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

// ValidCurrency reports whether code is a circulating ISO 4217 currency
// (in upper case).
func ValidCurrency(code string) bool {
	_, ok := currencies[code]
	return ok
}

// currencies are the ISO 4217 codes of circulating currencies; funds,
// precious metals and test codes are left out.
var currencies = func() map[string]struct{} {
	m := map[string]struct{}{}
	for _, c := range strings.Fields(`AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB
		BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD
		FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF
		KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
		NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE
		SLL SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED VES VND VUV
		WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG ZWL`) {
		m[c] = struct{}{}
	}
	return m
}()

// ErrOverflow says an amount left the range the engine computes in.
var ErrOverflow = errors.New("amount out of range")

// Percent returns p percent of m (p from 0 to 100), rounded half up to a
// whole minor unit; ErrOverflow when m or p is out of range.
func (m Money) Percent(p int64) (Money, error) {
	if p < 0 || p > 100 || m.Minor < 0 || m.Minor > MaxMinor {
		return Money{}, fmt.Errorf("%d%% of %d minor units: %w", p, m.Minor, ErrOverflow)
	}
	return Money{Minor: (m.Minor*p + 50) / 100, Currency: m.Currency}, nil
}

// Times returns m times n (a quantity); ErrOverflow when m or n is
// negative or the product leaves the range the engine computes in.
func (m Money) Times(n int64) (Money, error) {
	if m.Minor < 0 || n < 0 || (n != 0 && m.Minor > MaxMinor/n) {
		return Money{}, fmt.Errorf("%d times %d minor units: %w", n, m.Minor, ErrOverflow)
	}
	return Money{Minor: m.Minor * n, Currency: m.Currency}, nil
}

// MulPercent returns v*p/100 rounded down, and false when it would
// overflow or v or p is negative.
func MulPercent(v, p int64) (int64, bool) {
	if v < 0 || p < 0 || (p != 0 && v > math.MaxInt64/p) {
		return 0, false
	}
	return v * p / 100, true
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

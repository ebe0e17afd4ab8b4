package messaging

import (
	"fmt"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// within names a waiting time in whole days (from two days) or hours, in
// the language, as it reads after "within".
func within(lang string, d time.Duration) string {
	words, ok := map[string][2]string{"en": {"hours", "days"}, "de": {"Stunden", "Tagen"},
		"fr": {"heures", "jours"}, "es": {"horas", "días"}}[lang]
	if !ok {
		words = [2]string{"hours", "days"}
	}
	h := int64(d / time.Hour)
	if h%24 == 0 && h >= 48 {
		return fmt.Sprintf("%d %s", h/24, words[1])
	}
	return fmt.Sprintf("%d %s", max(h, 1), words[0])
}

// currencySymbols are the symbols used when formatting common currencies.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// FormatMoney formats an amount the way readers of lang expect: "€13.50"
// in English, "13,50 €" in German, French and Spanish.
func FormatMoney(lang string, m recovery.Money) string {
	s := m.String() // "13.50 EUR"
	num, _, _ := strings.Cut(s, " ")
	sym, ok := currencySymbols[m.Currency]
	if !ok {
		sym = m.Currency
	}
	if lang == "en" {
		if ok {
			return sym + num
		}
		return num + " " + sym
	}
	return strings.Replace(num, ".", ",", 1) + "\u00a0" + sym
}

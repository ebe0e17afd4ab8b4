package messaging

import (
	"fmt"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// withinWords are, per language, the words for one hour, hours, one day
// and days as they read after "within" (Polish: the genitive "w ciągu"
// takes, where 2, 5 and 22 all read "godzin").
var withinWords = map[string][4]string{
	"en": {"hour", "hours", "day", "days"},
	"de": {"Stunde", "Stunden", "Tag", "Tagen"},
	"fr": {"heure", "heures", "jour", "jours"},
	"es": {"hora", "horas", "día", "días"},
	"it": {"ora", "ore", "giorno", "giorni"},
	"nl": {"uur", "uur", "dag", "dagen"},
	"pt": {"hora", "horas", "dia", "dias"},
	"pl": {"godziny", "godzin", "dnia", "dni"},
	"sv": {"timme", "timmar", "dag", "dagar"},
	"da": {"time", "timer", "dag", "dage"},
}

// within names a waiting time in whole days (from two days) or hours, in
// the language, as it reads after "within" (English words for a language
// Recovery does not know).
func within(lang string, d time.Duration) string {
	words, ok := withinWords[lang]
	if !ok {
		words = withinWords["en"]
	}
	n, unit := max(int64(d/time.Hour), 1), 0
	if n%24 == 0 && n >= 48 {
		n, unit = n/24, 2
	}
	if n != 1 {
		unit++
	}
	return fmt.Sprintf("%d %s", n, words[unit])
}

// currencySymbols are the symbols used when formatting common currencies.
var currencySymbols = map[string]string{"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}

// moneyStyle is how a language writes an amount.
type moneyStyle struct {
	decimal, group string
	// minGroup is the fewest digits before the decimal mark that are
	// grouped: 4 writes "1.234", 5 writes "1234" but "12 345".
	minGroup int
	// before puts the symbol first, space a non-breaking space between.
	before, space bool
	// symbols are the language's own for some currencies ("kr" for SEK).
	symbols map[string]string
}

// moneyStyles follow each language's usual (CLDR's) currency format.
var moneyStyles = map[string]moneyStyle{
	"en": {decimal: ".", group: ",", minGroup: 4, before: true},
	"de": {decimal: ",", group: ".", minGroup: 4, space: true},
	"fr": {decimal: ",", group: "\u202f", minGroup: 4, space: true},
	"es": {decimal: ",", group: ".", minGroup: 5, space: true},
	"it": {decimal: ",", group: ".", minGroup: 4, space: true},
	"nl": {decimal: ",", group: ".", minGroup: 4, before: true, space: true},
	"pt": {decimal: ",", group: "\u00a0", minGroup: 5, space: true},
	"pl": {decimal: ",", group: "\u00a0", minGroup: 5, space: true, symbols: map[string]string{"PLN": "zł"}},
	"sv": {decimal: ",", group: "\u00a0", minGroup: 4, space: true, symbols: map[string]string{"SEK": "kr"}},
	"da": {decimal: ",", group: ".", minGroup: 4, space: true, symbols: map[string]string{"DKK": "kr."}},
}

// FormatMoney formats an amount the way readers of lang expect: "€13.50"
// and "€1,234.50" in English, "13,50 €" and "1.234,50 €" in German,
// "€ 13,50" in Dutch, "13,50 kr" in Swedish; a currency without a symbol
// by its code ("13.50 SEK" in English). A language Recovery does not
// know gets English's.
func FormatMoney(lang string, m recovery.Money) string {
	st, ok := moneyStyles[lang]
	if !ok {
		st = moneyStyles["en"]
	}
	num, _, _ := strings.Cut(m.String(), " ") // "-1234.50 EUR"
	num, negative := strings.CutPrefix(num, "-")
	whole, frac, _ := strings.Cut(num, ".")
	if len(whole) >= st.minGroup {
		var b strings.Builder
		for i, r := range whole {
			if i > 0 && (len(whole)-i)%3 == 0 {
				b.WriteString(st.group)
			}
			b.WriteRune(r)
		}
		whole = b.String()
	}
	num = whole
	if frac != "" {
		num += st.decimal + frac
	}
	sym, ok := st.symbols[m.Currency]
	if !ok {
		sym, ok = currencySymbols[m.Currency]
	}
	switch {
	case !ok && !st.space:
		if negative {
			num = "-" + num
		}
		return num + " " + m.Currency
	case !ok:
		sym = m.Currency
	}
	space, sign := "", ""
	if st.space {
		space = "\u00a0"
	}
	if negative {
		sign = "-"
	}
	if st.before {
		return sign + sym + space + num
	}
	return sign + num + space + sym
}

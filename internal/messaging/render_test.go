package messaging

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recoveryhq/recovery/internal/recovery"
)

func TestRenderPerLanguage(t *testing.T) {
	offer := recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR", Code: "SORRY-ABCDEFGHIJ"}
	tests := []struct {
		locale, lang, problem, amount string
	}{
		{"en-GB", "en", "sent the wrong way", "€13.50"},
		{"de-DE", "de", "falsch geleitet", "13,50\u00a0€"},
		{"de", "de", "falsch geleitet", "13,50\u00a0€"},
		{"fr_CA", "fr", "mal acheminé", "13,50\u00a0€"},
		{"es-MX", "es", "ruta equivocada", "13,50\u00a0€"},
		{"it-IT", "it", "strada sbagliata", "13,50\u00a0€"},
		{"nl-BE", "nl", "verkeerde kant op", "€\u00a013,50"},
		{"pt-PT", "pt", "destino errado", "13,50\u00a0€"},
		{"pl-PL", "pl", "złą trasę", "13,50\u00a0€"},
		{"sv-SE", "sv", "fel håll", "13,50\u00a0€"},
		{"da-DK", "da", "forkerte vej", "13,50\u00a0€"},
		{"ja-JP", "en", "sent the wrong way", "€13.50"}, // no Japanese template yet: English
		{"", "en", "sent the wrong way", "€13.50"},
	}
	for _, tt := range tests {
		t.Run(tt.locale, func(t *testing.T) {
			r, err := Render(tt.locale, ApologyData{Name: "Ada <Weber>", OrderID: "1001", Kind: recovery.KindMisrouted, Offer: offer})
			if err != nil {
				t.Fatal(err)
			}
			if r.Locale != tt.lang {
				t.Fatalf("language %s, want %s", r.Locale, tt.lang)
			}
			// An SMS spells the amount with a plain space: GSM-7 has no
			// non-breaking one, which would send it all as UCS-2.
			sms := strings.ReplaceAll(tt.amount, "\u00a0", " ")
			for name, want := range map[string][2]string{"text": {r.Text, tt.amount}, "sms": {r.SMS, sms}} {
				body, amount := want[0], want[1]
				if !strings.Contains(body, tt.problem) || !strings.Contains(body, amount) || !strings.Contains(body, offer.Code) {
					t.Fatalf("%s lacks the problem, the amount %q or the code:\n%s", name, amount, body)
				}
			}
			if _, ucs2 := SMSSegments(r.SMS); ucs2 && tt.lang != "es" && tt.lang != "pt" && tt.lang != "pl" {
				t.Errorf("the SMS goes as UCS-2 for %q: %s", nonGSM(r.SMS), r.SMS)
			}
			// Polish letters greet without the name (it would need its
			// vocative).
			named := tt.lang != "pl"
			if !strings.Contains(r.Subject, "1001") || strings.Contains(r.HTML, "<Weber>") || named != strings.Contains(r.HTML, "&lt;Weber&gt;") {
				t.Fatalf("subject %q / html must name the order and escape the name:\n%s", r.Subject, r.HTML)
			}
		})
	}
}

func TestEveryKindHasWordsInEveryLanguage(t *testing.T) {
	for _, lang := range Languages {
		fallback, _ := Render(lang, ApologyData{OrderID: "1", Kind: "unheard_of"})
		for _, k := range recovery.Kinds {
			r, err := Render(lang, ApologyData{OrderID: "1", Kind: k})
			if err != nil {
				t.Fatal(err)
			}
			if r.Text == fallback.Text {
				t.Errorf("%s has no words for %s", lang, k)
			}
		}
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		lang string
		m    recovery.Money
		want string
	}{
		{"en", recovery.Money{Minor: 1350, Currency: "EUR"}, "€13.50"},
		{"en", recovery.Money{Minor: 5, Currency: "USD"}, "$0.05"},
		{"en", recovery.Money{Minor: 1350, Currency: "SEK"}, "13.50 SEK"},
		{"en", recovery.Money{Minor: 500, Currency: "JPY"}, "¥500"},
		{"de", recovery.Money{Minor: 1350, Currency: "EUR"}, "13,50\u00a0€"},
		{"fr", recovery.Money{Minor: 1350, Currency: "KWD"}, "1,350\u00a0KWD"},
		// Thousands, each language's way: Spanish, Portuguese and Polish
		// leave four digits alone.
		{"en", recovery.Money{Minor: 123456, Currency: "EUR"}, "€1,234.56"},
		{"en", recovery.Money{Minor: 150000, Currency: "JPY"}, "¥150,000"},
		{"en", recovery.Money{Minor: -1350, Currency: "GBP"}, "-£13.50"},
		{"de", recovery.Money{Minor: 123456789, Currency: "EUR"}, "1.234.567,89\u00a0€"},
		{"fr", recovery.Money{Minor: 123456, Currency: "EUR"}, "1\u202f234,56\u00a0€"},
		{"es", recovery.Money{Minor: 123456, Currency: "EUR"}, "1234,56\u00a0€"},
		{"es", recovery.Money{Minor: 1234567, Currency: "EUR"}, "12.345,67\u00a0€"},
		{"it", recovery.Money{Minor: 123456, Currency: "EUR"}, "1.234,56\u00a0€"},
		{"nl", recovery.Money{Minor: 1350, Currency: "EUR"}, "€\u00a013,50"},
		{"nl", recovery.Money{Minor: 123456, Currency: "USD"}, "$\u00a01.234,56"},
		{"pt", recovery.Money{Minor: 1350, Currency: "EUR"}, "13,50\u00a0€"},
		{"pt", recovery.Money{Minor: 1234567, Currency: "EUR"}, "12\u00a0345,67\u00a0€"},
		{"pl", recovery.Money{Minor: 1350, Currency: "PLN"}, "13,50\u00a0zł"},
		{"pl", recovery.Money{Minor: 123456, Currency: "PLN"}, "1234,56\u00a0zł"},
		{"sv", recovery.Money{Minor: 12500, Currency: "SEK"}, "125,00\u00a0kr"},
		{"sv", recovery.Money{Minor: 123456, Currency: "SEK"}, "1\u00a0234,56\u00a0kr"},
		{"da", recovery.Money{Minor: 1350, Currency: "DKK"}, "13,50\u00a0kr."},
		{"da", recovery.Money{Minor: 1350, Currency: "SEK"}, "13,50\u00a0SEK"},
		{"fi", recovery.Money{Minor: 1350, Currency: "EUR"}, "€13.50"}, // a language only overrides have: English's
	}
	for _, tt := range tests {
		if got := FormatMoney(tt.lang, tt.m); got != tt.want {
			t.Errorf("FormatMoney(%s, %+v) = %q, want %q", tt.lang, tt.m, got, tt.want)
		}
	}
}

func TestRenderFollowUpEveryLanguage(t *testing.T) {
	want := map[string]string{"en": "delivered to the right address", "de": "richtige Adresse",
		"fr": "bonne adresse", "es": "dirección correcta", "it": "indirizzo giusto", "nl": "juiste adres",
		"pt": "morada certa", "pl": "właściwy adres", "sv": "rätt adress", "da": "rigtige adresse"}
	if len(want) != len(Languages) {
		t.Fatalf("%d languages, %d phrases", len(Languages), len(want))
	}
	for lang, phrase := range want {
		r, err := RenderFollowUp(lang, FollowUpData{Name: "Ada", OrderID: "1001", Kind: recovery.KindMisrouted,
			Offer: recovery.Offer{Code: "SORRY-X"}, Healed: "delivered to the right address"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, phrase) || !strings.Contains(r.Text, "1001") && !strings.Contains(r.Subject, "1001") ||
			!strings.Contains(r.Text, "SORRY-X") || !strings.Contains(r.SMS, phrase) || r.Locale != lang {
			t.Fatalf("%s follow-up lacks %q, the order or the code:\n%s\n%s", lang, phrase, r.Subject, r.Text)
		}
	}
}

func TestApologyStatesEachRemedy(t *testing.T) {
	want := map[string]map[recovery.Remedy]string{
		"en": {"discount": "SORRY-X", "store_credit": "store credit", "reship": "replacement", "refund": "refunding", "substitute": "similar item"},
		"de": {"discount": "SORRY-X", "store_credit": "Guthaben", "reship": "Ersatz", "refund": "erstatten", "substitute": "ähnlichen Artikel"},
		"fr": {"discount": "SORRY-X", "store_credit": "avoir", "reship": "remplacement", "refund": "remboursons", "substitute": "article similaire"},
		"es": {"discount": "SORRY-X", "store_credit": "saldo", "reship": "reemplazo", "refund": "reembolsamos", "substitute": "artículo similar"},
		"it": {"discount": "SORRY-X", "store_credit": "credito di", "reship": "articolo sostitutivo", "refund": "rimborsiamo", "substitute": "articolo simile"},
		"nl": {"discount": "SORRY-X", "store_credit": "tegoed", "reship": "vervangend exemplaar", "refund": "terug", "substitute": "vergelijkbaar artikel"},
		"pt": {"discount": "SORRY-X", "store_credit": "saldo", "reship": "substituição", "refund": "reembolsar", "substitute": "artigo semelhante"},
		"pl": {"discount": "SORRY-X", "store_credit": "do Twojego konta", "reship": "nowy egzemplarz", "refund": "Zwracamy", "substitute": "podobny produkt"},
		"sv": {"discount": "SORRY-X", "store_credit": "tillgodohavande", "reship": "ersättningsvara", "refund": "betalar tillbaka", "substitute": "liknande vara"},
		"da": {"discount": "SORRY-X", "store_credit": "tilgodehavende", "reship": "erstatningsvare", "refund": "tilbagebetaler", "substitute": "lignende vare"},
	}
	if len(want) != len(Languages) {
		t.Fatalf("%d languages, %d with remedies", len(Languages), len(want))
	}
	for lang, byRemedy := range want {
		for remedy, phrase := range byRemedy {
			offer := recovery.Offer{Remedy: remedy, ValueMinor: 2500, Currency: "EUR"}
			if remedy == recovery.RemedyDiscount {
				offer.Code = "SORRY-X"
			}
			r, err := Render(lang, ApologyData{Name: "Ada", OrderID: "1001", Kind: recovery.KindLost, Offer: offer})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(r.Text, phrase) {
				t.Errorf("%s %s apology lacks %q:\n%s", lang, remedy, phrase, r.Text)
			}
			if remedy != recovery.RemedyDiscount && strings.Contains(r.Text+r.SMS, "SORRY") {
				t.Errorf("%s %s apology mentions a code it does not have", lang, remedy)
			}
			if r.SMS == "" || len(r.SMS) > 320 {
				t.Errorf("%s %s SMS is %d characters", lang, remedy, len(r.SMS))
			}
		}
	}
}

func TestLinksAndVoiceInEveryLanguage(t *testing.T) {
	opts := []recovery.Offer{{Remedy: recovery.RemedyReship, Currency: "EUR"}, {Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR"}}
	for _, lang := range Languages {
		d := ApologyData{OrderID: "1001", Kind: recovery.KindLost, Offer: opts[0], Options: opts, Within: 48 * time.Hour,
			Link: "https://r.example/r/c.x.y.z", Unsubscribe: "https://r.example/u/u.x.y.z"}
		r, err := Render(lang, d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(r.Text, d.Link) || !strings.Contains(r.Text, d.Unsubscribe) || !strings.Contains(r.SMS, d.Link) ||
			!strings.Contains(r.HTML, `<a href="https://r.example/r/c.x.y.z">`) || !strings.Contains(r.HTML, `<a href="https://r.example/u/u.x.y.z">`) {
			t.Errorf("%s: links missing:\n%s\n%s\n%s", lang, r.Text, r.SMS, r.HTML)
		}
		if !strings.Contains(r.Voice, " 1") || !strings.Contains(r.Voice, " 2") || !strings.Contains(r.Voice, " 0") ||
			strings.Contains(r.Voice, "http") || !strings.Contains(r.Voicemail, "1001") {
			t.Errorf("%s: voice %q, voicemail %q", lang, r.Voice, r.Voicemail)
		}
		c, _ := RenderConfirmation(lang, ApologyData{OrderID: "1001", Offer: opts[1]})
		if !strings.Contains(c.SMS, "OW, HOW") {
			t.Errorf("%s: confirmation SMS without the survey question: %q", lang, c.SMS)
		}
		// Each phrase in the language's own words: Phrase falls back to
		// English, so compare with English rather than with "".
		for _, name := range []string{"sms_stop", "sms_start", "sms_unknown", "sms_thanks", "survey_thanks", "voice_thanks",
			"voice_person", "voice_callback", "voice_again", "voice_bye", "sms_help"} {
			own, err := execute(lang, name, nil)
			if err != nil || own == "" {
				t.Errorf("%s: no %s phrase (%v)", lang, name, err)
			}
			if english, _ := execute("en", name, nil); lang != "en" && own == english {
				t.Errorf("%s: %s is the English text %q", lang, name, own)
			}
		}
		if !strings.Contains(Phrase(lang, "sms_help", "+442071838750"), "+442071838750") {
			t.Errorf("%s: help without the ops number", lang)
		}
	}
	// Without links nothing dangles.
	r, _ := Render("en", ApologyData{OrderID: "1", Offer: opts[1]})
	if strings.Contains(r.Text, "http") || strings.Contains(r.Text, "Unsubscribe") {
		t.Errorf("no links given, yet: %s", r.Text)
	}
}

// TestEveryLanguageDefinesEveryTemplate compares the templates each
// language defines with English's: one left out would silently fall back
// to English (in Phrase) or fail a message (elsewhere).
func TestEveryLanguageDefinesEveryTemplate(t *testing.T) {
	names := func(lang string) map[string]bool {
		out := map[string]bool{}
		for _, tm := range builtin.text[lang].Templates() {
			if tm.Tree != nil && tm.Name() != lang+".tmpl" {
				out[tm.Name()] = true
			}
		}
		return out
	}
	english := names("en")
	if len(english) < 30 {
		t.Fatalf("English defines only %d templates", len(english))
	}
	for _, lang := range Languages[1:] {
		own := names(lang)
		for n := range english {
			if !own[n] {
				t.Errorf("%s does not define %q", lang, n)
			}
		}
		for n := range own {
			if !english[n] {
				t.Errorf("%s defines %q, which English does not", lang, n)
			}
		}
	}
}

// TestLetterOpensAsTheLanguageWrites checks the first word after the
// salutation line ("Dear Ada,"): a capital in English, French, Spanish,
// Italian, Dutch, Portuguese, Swedish and Danish, where a letter's body is
// a new sentence; lower case in German and Polish, where it goes on the
// sentence the comma opened.
func TestLetterOpensAsTheLanguageWrites(t *testing.T) {
	capital := map[string]bool{"en": true, "fr": true, "es": true, "de": false, "it": true, "nl": true, "pt": true,
		"pl": false, "sv": true, "da": true}
	if len(capital) != len(Languages) {
		t.Fatalf("%d languages, %d in the test", len(Languages), len(capital))
	}
	offer := recovery.Offer{Remedy: recovery.RemedyRefund, ValueMinor: 1250, Currency: "EUR"}
	for lang, upper := range capital {
		for _, name := range []string{"Ada", ""} {
			a, err := Render(lang, ApologyData{Name: name, OrderID: "1001", Kind: recovery.KindLate, Offer: offer})
			if err != nil {
				t.Fatal(err)
			}
			f, err := RenderFollowUp(lang, FollowUpData{Name: name, OrderID: "1001", Kind: recovery.KindLate, Healed: "delivered"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := RenderConfirmation(lang, ApologyData{Name: name, OrderID: "1001", Offer: offer})
			if err != nil {
				t.Fatal(err)
			}
			for what, text := range map[string]string{"apology": a.Text, "follow-up": f.Text, "confirmation": c.Text} {
				salutation, body, ok := strings.Cut(text, "\n\n")
				// Polish would need the name in the vocative ("Ado"): its
				// letters greet without it.
				named := name != "" && lang != "pl"
				if !ok || strings.Contains(salutation, "\n") || named != strings.Contains(salutation, "Ada") {
					t.Fatalf("%s %s: no salutation line:\n%s", lang, what, text)
				}
				first := []rune(body)[0]
				if unicode.IsUpper(first) != upper {
					t.Errorf("%s %s (name %q): the body opens with %q after %q:\n%s", lang, what, name, first, salutation, text)
				}
			}
		}
	}
}

func TestWithinInWords(t *testing.T) {
	tests := []struct {
		lang string
		d    time.Duration
		want string
	}{
		{"en", time.Hour, "1 hour"},
		{"en", 30 * time.Minute, "1 hour"},
		{"en", 24 * time.Hour, "24 hours"},
		{"en", 48 * time.Hour, "2 days"},
		{"en", 36 * time.Hour, "36 hours"},
		{"de", time.Hour, "1 Stunde"},
		{"de", 72 * time.Hour, "3 Tagen"},
		{"fr", 48 * time.Hour, "2 jours"},
		{"it", time.Hour, "1 ora"},
		{"it", 12 * time.Hour, "12 ore"},
		{"nl", 12 * time.Hour, "12 uur"},
		{"nl", 96 * time.Hour, "4 dagen"},
		{"pt", 48 * time.Hour, "2 dias"},
		{"pl", time.Hour, "1 godziny"}, // "w ciągu 1 godziny"
		{"pl", 24 * time.Hour, "24 godzin"},
		{"pl", 48 * time.Hour, "2 dni"},
		{"sv", time.Hour, "1 timme"},
		{"sv", 48 * time.Hour, "2 dagar"},
		{"da", 6 * time.Hour, "6 timer"},
		{"da", 48 * time.Hour, "2 dage"},
		{"fi", 48 * time.Hour, "2 days"},
	}
	for _, tt := range tests {
		if got := within(tt.lang, tt.d); got != tt.want {
			t.Errorf("within(%s, %s) = %q, want %q", tt.lang, tt.d, got, tt.want)
		}
	}
	for _, lang := range Languages {
		if _, ok := withinWords[lang]; !ok {
			t.Errorf("%s has no words for hours and days", lang)
		}
		if _, ok := moneyStyles[lang]; !ok {
			t.Errorf("%s has no way of writing amounts", lang)
		}
	}
}

// TestNoEnglishInOtherLanguages renders every message of every language
// but English and looks for English words in it: a define left in
// English, a phrase falling back, "hours" from within.
func TestNoEnglishInOtherLanguages(t *testing.T) {
	english := []string{"your", "we are", "we're", "we will", "customer care", "dear", "hello", "reply", "press",
		"refund", "store credit", "replacement", "unsubscribe", "choose", "thank you", "thanks", "good news", "hour",
		"hours", "days", "within", "goodbye", "parcel", "apologies", "carrier", "or", "and", "with", "order", "the"}
	// word reports whether w stands in s as a word (not inside "express").
	word := func(s, w string) bool {
		for i := 0; ; {
			j := strings.Index(s[i:], w)
			if j < 0 {
				return false
			}
			start, end := i+j, i+j+len(w)
			before, _ := utf8.DecodeLastRuneInString(s[:start])
			after, _ := utf8.DecodeRuneInString(s[end:])
			if !unicode.IsLetter(before) && !unicode.IsLetter(after) {
				return true
			}
			i = start + 1
		}
	}
	check := func(lang, what, s string) {
		t.Helper()
		// The sample data's own English: the substitute's name.
		low := strings.ToLower(strings.ReplaceAll(s, "Linen shirt, navy, M", ""))
		for _, w := range english {
			if word(low, w) {
				t.Errorf("%s %s says %q:\n%s", lang, what, w, s)
				return
			}
		}
	}
	for _, lang := range Languages[1:] {
		for _, kind := range recovery.Kinds {
			for _, remedy := range Remedies {
				for _, choices := range []bool{false, true} {
					r, err := Render(lang, SampleApology(kind, remedy, choices))
					if err != nil {
						t.Fatal(err)
					}
					what := fmt.Sprintf("apology %s/%s (choices: %v)", kind, remedy, choices)
					check(lang, what+" subject", r.Subject)
					check(lang, what+" text", r.Text)
					check(lang, what+" sms", r.SMS)
					check(lang, what+" voice", r.Voice)
					check(lang, what+" voicemail", r.Voicemail)
				}
			}
			for _, healed := range append(slices.Clone(HealReasons), "something new") {
				r, err := RenderFollowUp(lang, SampleFollowUp(kind, healed))
				if err != nil {
					t.Fatal(err)
				}
				check(lang, "follow-up "+healed, r.Subject+"\n"+r.Text+"\n"+r.SMS)
			}
		}
		for _, remedy := range Remedies {
			r, err := RenderConfirmation(lang, SampleApology(recovery.KindLost, remedy, false))
			if err != nil {
				t.Fatal(err)
			}
			check(lang, "confirmation "+string(remedy), r.Subject+"\n"+r.Text+"\n"+r.SMS)
		}
		for _, name := range []string{"voice_thanks", "voice_person", "voice_callback", "voice_again", "voice_bye",
			"sms_stop", "sms_start", "sms_unknown", "sms_thanks", "survey_thanks", "sms_help"} {
			check(lang, name, Phrase(lang, name, "+442071838750"))
		}
	}
}

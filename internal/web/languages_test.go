package web

import (
	"html"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Every language of the messages has its customer page words and its
// call voice: a page in the customer's language, not English around their
// options.
func TestEveryMessageLanguageHasPageWordsAndAVoice(t *testing.T) {
	for _, lang := range messaging.Languages {
		w, ok := words[lang]
		if !ok || voiceLanguage[lang] == "" || !strings.HasPrefix(voiceLanguage[lang], lang+"-") {
			t.Errorf("%s: words %v, voice %q", lang, ok, voiceLanguage[lang])
			continue
		}
		v := reflect.ValueOf(w)
		for i := range v.NumField() {
			f := v.Field(i)
			if f.Kind() == reflect.String && f.String() == "" {
				t.Errorf("%s: no %s", lang, v.Type().Field(i).Name)
			}
		}
		for _, a := range w.Answers {
			if !strings.HasPrefix(a, "OW") && !strings.HasPrefix(a, "HOW") && !strings.HasPrefix(a, "WOW") {
				t.Errorf("%s: survey answer %q does not start with its keyword", lang, a)
			}
		}
		for name, n := range map[string]int{"Sorry": 2, "Unsub": 1, "Unsubscribed": 1} {
			if got := strings.Count(v.FieldByName(name).String(), "%s"); got != n {
				t.Errorf("%s: %s has %d placeholders, want %d", lang, name, got, n)
			}
		}
	}
}

func TestCustomerPageInItalian(t *testing.T) {
	inc := awaitingDE
	inc.Contacts = []recovery.Contact{{Step: 1, Channel: recovery.ChannelEmail, Locale: "it-IT"}}
	f := newPagesFixture(inc)
	body := checkPage(t, f.do(http.MethodGet, choicePathFor("inc-de", time.Hour), "", "Accept-Language", "de"), http.StatusOK, "it")
	for _, want := range []string{
		html.EscapeString(fill(words["it"].Sorry, messaging.ProblemPhrase("it", recovery.KindLost), "A-1001")),
		"Ci dispiace: il suo pacco è andato perso (ordine A-1001).",
		html.EscapeString(messaging.OptionLine("it", choiceOptions[1])),
		words["it"].Choose,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("Italian page lacks %q:\n%s", want, body)
		}
	}
	for _, w := range []string{"AIUTO", "HULP", "AJUDA", "POMOC", "HJÄLP", "HJÆLP", "HELP", "INFO"} {
		if !helpWords[w] {
			t.Errorf("%s is no help word", w)
		}
	}
}

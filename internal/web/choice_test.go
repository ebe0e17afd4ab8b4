package web

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

var testSigner = links.Signer{Secret: []byte("test"), Base: "http://x"}

// choiceOptions are what the German customer of awaitingDE chooses from,
// the default first.
var choiceOptions = []recovery.Offer{
	{Remedy: recovery.RemedyReship, Currency: "EUR"},
	{Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR"},
	{Remedy: recovery.RemedyStoreCredit, ValueMinor: 1000, Currency: "EUR"},
}

// awaitingDE waits for a choice; its first contact is German, its second
// French.
var awaitingDE = recovery.Incident{ID: "inc-de", OrderID: "A-1001", Kind: recovery.KindLost, WorkflowID: "incident/A-1001/s/lost",
	Status: recovery.IncidentAwaitingChoice,
	Offer:  &recovery.Offer{Remedy: recovery.RemedyReship, Currency: "EUR", Status: recovery.OfferOffered, Options: choiceOptions},
	Contacts: []recovery.Contact{{Step: 1, Channel: recovery.ChannelEmail, Locale: "de-DE"},
		{Step: 2, Channel: recovery.ChannelSMS, Locale: "fr"}}}

// appliedEN had a discount applied; it has no contacts, so English.
var appliedEN = recovery.Incident{ID: "inc-en", OrderID: "B-2002", Kind: recovery.KindMisrouted, WorkflowID: "incident/B-2002/s/misrouted",
	Status: recovery.IncidentResolved, Offer: &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR",
		Status: recovery.OfferApplied, Code: "SORRY-42"}}

// pagesFixture is a server with the customer pages, its fakes and its log.
type pagesFixture struct {
	s    *Server
	cust *memCustomers
	rem  *memRemedies
	logs *bytes.Buffer
}

func newPagesFixture(incs ...recovery.Incident) *pagesFixture {
	f := &pagesFixture{cust: newMemCustomers(), rem: &memRemedies{}, logs: &bytes.Buffer{}}
	signer := testSigner
	f.s = &Server{Incidents: memIncidents{list: incs}, Remedies: f.rem, Customers: f.cust, Links: &signer,
		Ops:    OpsContact{Phone: "+493012345678", Email: "help@shop.example"},
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	return f
}

// do sends a request; header holds key, value pairs. A body is sent as a
// form unless header says otherwise.
func (f *pagesFixture) do(method, path, body string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	f.s.Handler().ServeHTTP(rec, req)
	return rec
}

func choicePathFor(id string, ttl time.Duration) string {
	return "/r/" + testSigner.Token(links.KindChoice, id, time.Now().Add(ttl))
}

func unsubscribePathFor(addr string, ttl time.Duration) string {
	return "/u/" + testSigner.Token(links.KindUnsubscribe, addr, time.Now().Add(ttl))
}

var (
	inputTag = regexp.MustCompile(`<input[^>]*>`)
	idAttr   = regexp.MustCompile(`\bid="([^"]+)"`)
)

// checkPage asserts what every customer page must be: the status, HTML
// with the protective headers, the language, a label for every input, a
// fieldset and legend around radio buttons, a way to reach a person, and
// nothing external, scripted or internal. It returns the body.
func checkPage(t *testing.T, rec *httptest.ResponseRecorder, status int, lang string) string {
	t.Helper()
	body := rec.Body.String()
	if rec.Code != status {
		t.Errorf("status %d, want %d\n%s", rec.Code, status, body)
	}
	for k, want := range map[string]string{
		"Content-Type":            "text/html; charset=utf-8",
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
	} {
		if got := rec.Header().Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if !strings.Contains(body, `<html lang="`+lang+`">`) || !strings.Contains(body, `<meta name="viewport"`) {
		t.Errorf("page is not in %q or has no viewport:\n%s", lang, body)
	}
	for _, in := range inputTag.FindAllString(body, -1) {
		id := idAttr.FindStringSubmatch(in)
		if id == nil || !strings.Contains(body, `<label class="option" for="`+id[1]+`">`) {
			t.Errorf("input without a label: %s", in)
		}
	}
	if strings.Contains(body, `type="radio"`) && (!strings.Contains(body, "<fieldset>") || !strings.Contains(body, "<legend>")) {
		t.Errorf("radio buttons outside a fieldset with a legend:\n%s", body)
	}
	if !strings.Contains(body, `<h2 id="person">`+html.EscapeString(words[lang].Person)+`</h2>`) ||
		!strings.Contains(body, `href="tel:&#43;493012345678"`) || !strings.Contains(body, `href="mailto:help@shop.example"`) {
		t.Errorf("no way to reach a person:\n%s", body)
	}
	for _, bad := range []string{"<script", "src=", "<link", "goroutine", "panic", `"status":`, "http://", "https://"} {
		if strings.Contains(body, bad) {
			t.Errorf("page holds %q:\n%s", bad, body)
		}
	}
	return body
}

func TestChoicePageOffersTheOptionsInTheCustomersLanguage(t *testing.T) {
	f := newPagesFixture(awaitingDE)
	path := choicePathFor("inc-de", time.Hour)
	body := checkPage(t, f.do(http.MethodGet, path, ""), http.StatusOK, "de")
	apology := fill(words["de"].Sorry, messaging.ProblemPhrase("de", recovery.KindLost), "A-1001")
	if !strings.Contains(body, html.EscapeString(apology)) || !strings.Contains(body, `action="`+path+`"`) ||
		!strings.Contains(body, "<legend>"+html.EscapeString(words["de"].Choose)+"</legend>") {
		t.Fatalf("no apology or form:\n%s", body)
	}
	// Each option: its remedy as the value, its line in German as the
	// label, in order, the default alone checked.
	last := 0
	for i, o := range choiceOptions {
		checked := ""
		if i == 0 {
			checked = " checked"
		}
		want := fmt.Sprintf(`<label class="option" for="o%d"><input type="radio" id="o%d" name="remedy" value="%s"%s> %s</label>`,
			i, i, o.Remedy, checked, html.EscapeString(messaging.OptionLine("de", o)))
		at := strings.Index(body, want)
		if at < last {
			t.Fatalf("option %d missing or out of order, want %s\n%s", i, want, body)
		}
		last = at
	}
	if n := strings.Count(body, " checked"); n != 1 {
		t.Errorf("%d options checked", n)
	}
	if strings.Contains(body, `name="answer"`) {
		t.Errorf("survey asked before the choice:\n%s", body)
	}
}

func TestCustomerPageLanguage(t *testing.T) {
	for _, tc := range []struct {
		name           string
		locales        []string
		acceptLanguage string
		want           string
	}{
		{"first contact's locale", []string{"fr-FR", "de"}, "es", "fr"},
		{"first contact with a locale", []string{"", "es-MX"}, "", "es"},
		{"no locale: the browser's", nil, "ja-JP, de;q=0.8, fr;q=0.5", "de"},
		{"unknown locale: English", []string{"ja-JP"}, "de", "en"},
		{"nothing: English", nil, "", "en"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inc := awaitingDE
			inc.Contacts = nil
			for i, l := range tc.locales {
				inc.Contacts = append(inc.Contacts, recovery.Contact{Step: i + 1, Channel: recovery.ChannelEmail, Locale: l})
			}
			f := newPagesFixture(inc)
			body := checkPage(t, f.do(http.MethodGet, choicePathFor("inc-de", time.Hour), "", "Accept-Language", tc.acceptLanguage),
				http.StatusOK, tc.want)
			if !strings.Contains(body, html.EscapeString(messaging.OptionLine(tc.want, choiceOptions[1]))) {
				t.Errorf("options not in %s:\n%s", tc.want, body)
			}
		})
	}
}

func TestAcceptLanguage(t *testing.T) {
	for header, want := range map[string]string{
		"":                          "",
		"de-DE,de;q=0.9,en;q=0.8":   "de",
		"en-GB;q=0.3, fr-CA":        "fr",
		"ja-JP, es;q=0.2":           "es",
		"*, ja":                     "",
		"de;q=0, en;q=0.1":          "en",
		"de;q=zero, es;q=0.4":       "es",
		"  ES-es ;q=1.0 , de;q=0.9": "es",
	} {
		if got := acceptLanguage(header); got != want {
			t.Errorf("acceptLanguage(%q) = %q, want %q", header, got, want)
		}
	}
}

func TestChoicePagePostsTheChoiceToTheWorkflow(t *testing.T) {
	f := newPagesFixture(awaitingDE)
	path := choicePathFor("inc-de", time.Hour)
	body := checkPage(t, f.do(http.MethodPost, path, "remedy=refund"), http.StatusOK, "de")
	if len(f.rem.sent) != 1 {
		t.Fatalf("sent %+v, want one choice", f.rem.sent)
	}
	a := f.rem.sent[0].(recovery.RemedyAction)
	if a.Action != recovery.ActionChoose || a.Remedy != recovery.RemedyRefund || a.By.Name != "customer (choice page)" {
		t.Errorf("sent %+v", a)
	}
	if !strings.Contains(body, `<p role="status">`+html.EscapeString(words["de"].Thanks)+`</p>`) ||
		!strings.Contains(body, html.EscapeString(messaging.OptionLine("de", choiceOptions[1]))) {
		t.Errorf("no thanks for the refund:\n%s", body)
	}
	// The survey follows, its three answers as buttons.
	for _, v := range []string{"ow", "how", "wow"} {
		if !strings.Contains(body, `<button type="submit" name="answer" value="`+v+`">`) {
			t.Errorf("no %s button:\n%s", v, body)
		}
	}
	if !strings.Contains(body, `action="`+path+`/survey"`) || !strings.Contains(body, "<legend>"+html.EscapeString(words["de"].Survey)+"</legend>") {
		t.Errorf("no survey form:\n%s", body)
	}
	// The latest ladder step is marked answered.
	if len(f.cust.events) != 1 || f.cust.events[0].Step != 2 || f.cust.events[0].Outcome != recovery.OutcomeResponded {
		t.Errorf("contact events %+v", f.cust.events)
	}
}

func TestChoicePageRefusesWhatIsNotAnOption(t *testing.T) {
	f := newPagesFixture(awaitingDE, appliedEN)
	path := choicePathFor("inc-de", time.Hour)
	for _, form := range []string{"remedy=substitute", "remedy=", "other=refund", "remedy=REFUND", "remedy=refund%00"} {
		body := checkPage(t, f.do(http.MethodPost, path, form), http.StatusUnprocessableEntity, "de")
		if !strings.Contains(body, `<p role="alert">`+html.EscapeString(words["de"].Pick)+`</p>`) ||
			!strings.Contains(body, `value="reship" checked>`) {
			t.Errorf("%s: no alert or no form again:\n%s", form, body)
		}
	}
	// A body over 4 KiB is refused.
	checkPage(t, f.do(http.MethodPost, path, "remedy=refund&pad="+strings.Repeat("x", 5000)), http.StatusRequestEntityTooLarge, "de")
	// The workflow says it is not an option (the page was older).
	f.rem.err = fmt.Errorf("choose: %w", recovery.ErrInvalid)
	checkPage(t, f.do(http.MethodPost, path, "remedy=refund"), http.StatusUnprocessableEntity, "de")
	f.rem.err = nil
	// An incident that no longer waits for a choice takes none.
	body := checkPage(t, f.do(http.MethodPost, choicePathFor("inc-en", time.Hour), "remedy=discount"), http.StatusConflict, "en")
	if !strings.Contains(body, words["en"].AlreadyChosen) || strings.Contains(body, `name="remedy"`) {
		t.Errorf("choice on a resolved incident:\n%s", body)
	}
	if len(f.rem.sent) != 0 {
		t.Fatalf("refused choices reached the workflow: %+v", f.rem.sent)
	}
}

func TestChoicePageWhenTheWorkflowRefuses(t *testing.T) {
	f := newPagesFixture(awaitingDE)
	path := choicePathFor("inc-de", time.Hour)
	f.rem.err = fmt.Errorf("update choose: %w", recovery.ErrConflict)
	body := checkPage(t, f.do(http.MethodPost, path, "remedy=refund"), http.StatusConflict, "de")
	if !strings.Contains(body, `<p role="status">`+html.EscapeString(words["de"].AlreadyChosen)+`</p>`) || strings.Contains(body, `name="remedy"`) {
		t.Errorf("conflict page:\n%s", body)
	}
	f.rem.err = errors.New("rpc error: context deadline exceeded")
	body = checkPage(t, f.do(http.MethodPost, path, "remedy=refund"), http.StatusBadGateway, "de")
	if !strings.Contains(body, `<p role="alert">`+html.EscapeString(words["de"].Error)+`</p>`) || strings.Contains(body, "rpc error") {
		t.Errorf("workflow down:\n%s", body)
	}
	if len(f.cust.events) != 0 {
		t.Errorf("a refused choice marked the ladder: %+v", f.cust.events)
	}
}

// oneCharChanged alters the token at i, keeping it base64url.
func oneCharChanged(path string, i int) string {
	b := []byte(path)
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestCustomerLinksThatDoNotWork(t *testing.T) {
	f := newPagesFixture(awaitingDE)
	good := choicePathFor("inc-de", time.Hour)
	goodU := unsubscribePathFor("ada@example.com", time.Hour)
	for _, tc := range []struct {
		name, method, path, body, acceptLanguage string
		status                                   int
		lang, says                               string
	}{
		{"expired", http.MethodGet, choicePathFor("inc-de", -time.Minute), "", "", http.StatusGone, "en", words["en"].Expired},
		{"expired, German browser", http.MethodGet, choicePathFor("inc-de", -time.Minute), "", "de-AT", http.StatusGone, "de", words["de"].Expired},
		{"subject changed", http.MethodGet, oneCharChanged(good, len("/r/c.")+1), "", "", http.StatusNotFound, "en", words["en"].Broken},
		{"signature changed", http.MethodGet, oneCharChanged(good, len(good)-1), "", "", http.StatusNotFound, "en", words["en"].Broken},
		{"garbage", http.MethodGet, "/r/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "", "", http.StatusNotFound, "en", words["en"].Broken},
		{"unsubscribe link as a choice link", http.MethodGet, "/r/" + strings.TrimPrefix(goodU, "/u/"), "", "", http.StatusNotFound, "en", words["en"].Broken},
		{"unknown incident", http.MethodGet, choicePathFor("inc-gone", time.Hour), "", "", http.StatusNotFound, "en", words["en"].Unknown},
		{"choice on an expired link", http.MethodPost, choicePathFor("inc-de", -time.Minute), "remedy=refund", "", http.StatusGone, "en", words["en"].Expired},
		{"choice on a changed link", http.MethodPost, oneCharChanged(good, len(good)-2), "remedy=refund", "", http.StatusNotFound, "en", words["en"].Broken},
		{"survey on a changed link", http.MethodPost, oneCharChanged(good, len(good)-2) + "/survey", "answer=wow", "", http.StatusNotFound, "en", words["en"].Broken},
		{"unsubscribe expired", http.MethodGet, unsubscribePathFor("ada@example.com", -time.Minute), "", "", http.StatusGone, "en", words["en"].Expired},
		{"unsubscribe changed", http.MethodPost, oneCharChanged(goodU, len("/u/u.")+2), "", "fr", http.StatusNotFound, "fr", words["fr"].Broken},
		{"choice link as an unsubscribe link", http.MethodPost, "/u/" + strings.TrimPrefix(good, "/r/"), "", "", http.StatusNotFound, "en", words["en"].Broken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := checkPage(t, f.do(tc.method, tc.path, tc.body, "Accept-Language", tc.acceptLanguage), tc.status, tc.lang)
			if !strings.Contains(body, `<p role="alert">`+html.EscapeString(tc.says)+`</p>`) || strings.Contains(body, "<form") {
				t.Errorf("page does not say %q, or offers a form:\n%s", tc.says, body)
			}
		})
	}
	if out, _ := f.cust.OptedOut(t.Context(), recovery.ChannelEmail, "ada@example.com"); out || len(f.rem.sent) != 0 || len(f.cust.surveys) != 0 {
		t.Fatalf("a bad link did something: opted out %v, sent %+v, surveys %+v", out, f.rem.sent, f.cust.surveys)
	}
	// Without a signer there are no customer pages.
	f.s.Links = nil
	checkPage(t, f.do(http.MethodGet, good, ""), http.StatusNotFound, "en")
	checkPage(t, f.do(http.MethodGet, goodU, ""), http.StatusNotFound, "en")
}

// panickingIncidents fails the way a bug would.
type panickingIncidents struct{ memIncidents }

func (panickingIncidents) GetIncident(context.Context, string) (recovery.Incident, error) {
	panic("bug")
}

func TestCustomerPagePanicIsAFriendlyPage(t *testing.T) {
	f := newPagesFixture()
	f.s.Incidents = panickingIncidents{}
	body := checkPage(t, f.do(http.MethodGet, choicePathFor("inc-de", time.Hour), "", "Accept-Language", "es"), http.StatusInternalServerError, "es")
	if !strings.Contains(body, `role="alert"`) {
		t.Errorf("no alert:\n%s", body)
	}
}

func TestSurveyIsStoredWithTheIncident(t *testing.T) {
	surveyed := appliedEN
	surveyed.ID, surveyed.Survey = "inc-surveyed", &recovery.Survey{Answer: "how", Via: "sms"}
	healed := appliedEN
	healed.ID, healed.Status, healed.Offer = "inc-healed", recovery.IncidentHealed, &recovery.Offer{Remedy: recovery.RemedyReship, Status: recovery.OfferPending}
	f := newPagesFixture(appliedEN, surveyed, healed)
	path := choicePathFor("inc-en", time.Hour)

	body := checkPage(t, f.do(http.MethodGet, path, ""), http.StatusOK, "en")
	if !strings.Contains(body, html.EscapeString(messaging.OfferSentence("en", *appliedEN.Offer))) || !strings.Contains(body, "SORRY-42") ||
		!strings.Contains(body, `<form method="post" action="`+path+`/survey"`) || strings.Contains(body, `name="remedy"`) {
		t.Fatalf("applied page:\n%s", body)
	}
	for _, bad := range []string{"answer=meh", "answer=", "answer=wowow", "other=wow"} {
		body := checkPage(t, f.do(http.MethodPost, path+"/survey", bad), http.StatusUnprocessableEntity, "en")
		if !strings.Contains(body, `<p role="alert">`+words["en"].SurveyPick+`</p>`) || !strings.Contains(body, `value="wow"`) {
			t.Errorf("%s: no alert or no survey again:\n%s", bad, body)
		}
	}
	if len(f.cust.surveys) != 0 {
		t.Fatalf("bad answers stored: %+v", f.cust.surveys)
	}
	before := time.Now().UTC()
	body = checkPage(t, f.do(http.MethodPost, path+"/survey", "answer=wow"), http.StatusOK, "en")
	sv := f.cust.surveys["inc-en"]
	if sv.Answer != recovery.SurveyWOW || sv.Via != "page" || sv.At.Before(before) || sv.At.After(time.Now()) || sv.At.Location() != time.UTC {
		t.Errorf("stored %+v", sv)
	}
	if !strings.Contains(body, `<p role="status">`+words["en"].SurveyThanks+`</p>`) {
		t.Errorf("no thanks:\n%s", body)
	}
	// Answered already: thanks, no form. Healed: all is well, no survey.
	body = checkPage(t, f.do(http.MethodGet, choicePathFor("inc-surveyed", time.Hour), ""), http.StatusOK, "en")
	if strings.Contains(body, `name="answer"`) || !strings.Contains(body, words["en"].SurveyThanks) {
		t.Errorf("surveyed page:\n%s", body)
	}
	body = checkPage(t, f.do(http.MethodGet, choicePathFor("inc-healed", time.Hour), ""), http.StatusOK, "en")
	if strings.Contains(body, `name="answer"`) || !strings.Contains(body, words["en"].Healed) {
		t.Errorf("healed page:\n%s", body)
	}
}

func TestUnsubscribeTakesAButtonOrOneClick(t *testing.T) {
	f := newPagesFixture()
	optedOut := func(addr string) bool {
		out, err := f.cust.OptedOut(t.Context(), recovery.ChannelEmail, addr)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	path := unsubscribePathFor("ada@example.com", time.Hour)
	// The link alone (a mail scanner following it) changes nothing.
	body := checkPage(t, f.do(http.MethodGet, path, "", "Accept-Language", "fr"), http.StatusOK, "fr")
	if optedOut("ada@example.com") || !strings.Contains(body, `<form method="post" action="`+path+`">`) ||
		!strings.Contains(body, `<button type="submit">`+words["fr"].UnsubButton+`</button>`) || !strings.Contains(body, "ada@example.com") {
		t.Fatalf("GET: opted out %v\n%s", optedOut("ada@example.com"), body)
	}
	body = checkPage(t, f.do(http.MethodPost, path, "", "Accept-Language", "fr"), http.StatusOK, "fr")
	if !optedOut("ada@example.com") || !strings.Contains(body, `<p role="status">`+html.EscapeString(fill(words["fr"].Unsubscribed, "ada@example.com"))+`</p>`) {
		t.Fatalf("POST: opted out %v\n%s", optedOut("ada@example.com"), body)
	}
	checkPage(t, f.do(http.MethodPost, path, ""), http.StatusOK, "en") // again: still fine
	// RFC 8058: the mail client posts List-Unsubscribe=One-Click.
	other := unsubscribePathFor("Bob@Example.com", time.Hour)
	checkPage(t, f.do(http.MethodPost, other, "List-Unsubscribe=One-Click"), http.StatusOK, "en")
	if !optedOut("bob@example.com") {
		t.Fatal("one-click did not opt out")
	}
}

// failingOptOut stores no opt-out, with an error that quotes the address.
type failingOptOut struct{ *memCustomers }

func (failingOptOut) OptOut(_ context.Context, channel, address, _ string) (bool, error) {
	return false, fmt.Errorf("opt out %s %s: connection refused", channel, address)
}

func TestCustomerPagesLogNoPersonalData(t *testing.T) {
	f := newPagesFixture(awaitingDE)
	choice, expired := choicePathFor("inc-de", time.Hour), choicePathFor("inc-de", -time.Hour)
	unsub := unsubscribePathFor("ada@example.com", time.Hour)
	f.do(http.MethodGet, choice, "")
	f.do(http.MethodGet, expired, "")
	f.do(http.MethodGet, unsub, "")
	f.rem.err = errors.New("workflow for ada@example.com unreachable")
	checkPage(t, f.do(http.MethodPost, choice, "remedy=refund"), http.StatusBadGateway, "de")
	f.s.Customers = failingOptOut{f.cust}
	checkPage(t, f.do(http.MethodPost, unsub, ""), http.StatusServiceUnavailable, "en")

	logs := f.logs.String()
	if !strings.Contains(logs, "incident_id=inc-de err_kind=other") || !strings.Contains(logs, "unsubscribe not stored") {
		t.Errorf("the failures are not logged:\n%s", logs)
	}
	secrets := []string{"ada@", "example.com", "unreachable", "connection refused"}
	for _, p := range []string{choice, expired, unsub} {
		_, token, _ := strings.Cut(p[1:], "/")
		secrets = append(secrets, token)
		for _, part := range strings.Split(token, ".") {
			if len(part) > 3 {
				secrets = append(secrets, part)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold %q:\n%s", s, logs)
		}
	}
}

func TestCustomerPageValuesAreEscaped(t *testing.T) {
	inc := awaitingDE
	inc.ID, inc.OrderID = "inc-x", `<b onmouseover="x">1</b>`
	f := newPagesFixture(inc)
	body := checkPage(t, f.do(http.MethodGet, choicePathFor("inc-x", time.Hour), ""), http.StatusOK, "de")
	if strings.Contains(body, "<b ") || !strings.Contains(body, "&lt;b onmouseover=") {
		t.Errorf("order id not escaped:\n%s", body)
	}
	path := unsubscribePathFor(`"><img onerror=x>@example.com`, time.Hour)
	body = checkPage(t, f.do(http.MethodGet, path, ""), http.StatusOK, "en")
	if strings.Contains(body, "<img") {
		t.Errorf("address not escaped:\n%s", body)
	}
}

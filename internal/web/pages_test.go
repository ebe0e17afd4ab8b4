package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/brands"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

var pageSigner = &links.Signer{Secret: []byte("test"), Base: "http://x"}

func pageServer(cust *memCustomers, rem *memRemedies, incs ...recovery.Incident) http.Handler {
	s := contactServer(cust, rem, incs...)
	s.Links = pageSigner
	s.Ops.Email = "care@shop.example"
	return s.Handler()
}

func pageReq(t *testing.T, h http.Handler, method, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	var req *http.Request
	if form != nil {
		req = httptest.NewRequest(method, path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String(), rec.Header()
}

func choiceToken(id string, ttl time.Duration) string {
	return pageSigner.Token(links.KindChoice, id, time.Now().Add(ttl))
}

func TestChoicePageOffersTheOptions(t *testing.T) {
	cust, rem := newMemCustomers(), &memRemedies{}
	inc := choosing
	inc.Contacts = []recovery.Contact{{Step: 1, Channel: "email", Locale: "de"}}
	h := pageServer(cust, rem, inc)
	path := "/r/" + choiceToken("inc-1", time.Hour)
	code, body, hdr := pageReq(t, h, http.MethodGet, path, nil)
	if code != 200 || !strings.Contains(body, `<html lang="de">`) || !strings.Contains(body, "Ihr Paket ist verloren gegangen") ||
		!strings.Contains(body, `value="reship" checked`) || !strings.Contains(body, `value="refund">`) ||
		!strings.Contains(body, `<label class="option" for="o1">`) || !strings.Contains(body, "<legend>") ||
		!strings.Contains(body, `href="tel:&#43;442071838750"`) || !strings.Contains(body, "mailto:care@shop.example") {
		t.Fatalf("page: %d\n%s", code, body)
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
		"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"} {
		if hdr.Get(k) != want {
			t.Errorf("%s = %q", k, hdr.Get(k))
		}
	}
	// Not an option: nothing is sent.
	code, body, _ = pageReq(t, h, http.MethodPost, path, url.Values{"remedy": {"store_credit"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `role="alert"`) || len(rem.sent) != 0 {
		t.Fatalf("not an option: %d %v\n%s", code, rem.sent, body)
	}
	code, body, _ = pageReq(t, h, http.MethodPost, path, url.Values{"remedy": {"refund"}})
	a, ok := rem.sent[0].(recovery.RemedyAction)
	if code != 200 || len(rem.sent) != 1 || !ok || a.Action != recovery.ActionChoose || a.Remedy != recovery.RemedyRefund ||
		a.By.Name != "customer (choice page)" || !strings.Contains(body, "Danke, wir haben Ihre Wahl notiert") ||
		!strings.Contains(body, `value="wow"`) {
		t.Fatalf("choice: %d %+v\n%s", code, rem.sent, body)
	}
	if len(cust.events) != 1 || cust.events[0].Outcome != recovery.OutcomeResponded {
		t.Fatalf("events = %+v", cust.events)
	}
	// The workflow says the choice is over.
	rem.err = recovery.ErrConflict
	if code, body, _ = pageReq(t, h, http.MethodPost, path, url.Values{"remedy": {"refund"}}); code != http.StatusConflict ||
		!strings.Contains(body, "schon getroffen") {
		t.Fatalf("conflict: %d\n%s", code, body)
	}
}

func TestChoicePageLinksThatDoNotWork(t *testing.T) {
	h := pageServer(newMemCustomers(), &memRemedies{}, choosing)
	good := choiceToken("inc-1", time.Hour)
	last := "A"
	if strings.HasSuffix(good, "A") {
		last = "B"
	}
	tampered := good[:len(good)-1] + last // one character changed
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"expired", "/r/" + choiceToken("inc-1", -time.Minute), http.StatusGone},
		{"tampered", "/r/" + tampered, http.StatusNotFound},
		{"garbage", "/r/%3Cscript%3E", http.StatusNotFound},
		{"unknown incident", "/r/" + choiceToken("inc-404", time.Hour), http.StatusNotFound},
		{"unsubscribe link as a choice link", "/r/" + pageSigner.Token(links.KindUnsubscribe, "inc-1", time.Now().Add(time.Hour)), http.StatusNotFound},
	} {
		name := tc.name
		code, body, hdr := pageReq(t, h, http.MethodGet, tc.path, nil)
		if code != tc.want || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, `role="alert"`) ||
			strings.Contains(body, "goroutine") || strings.Contains(body, "<script>") {
			t.Errorf("%s: %d %s\n%s", name, code, hdr.Get("Content-Type"), body)
		}
	}
}

func TestSurveyAndUnsubscribePages(t *testing.T) {
	cust, rem := newMemCustomers(), &memRemedies{}
	done := recovery.Incident{ID: "inc-2", OrderID: "1002", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen,
		WorkflowID: "w", Offer: &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR",
			Status: recovery.OfferApplied, Code: "SORRY-ABCD"}}
	h := pageServer(cust, rem, done)
	path := "/r/" + choiceToken("inc-2", time.Hour)
	code, body, _ := pageReq(t, h, http.MethodGet, path, nil)
	if code != 200 || !strings.Contains(body, "SORRY-ABCD") || !strings.Contains(body, `action="`+path+`/survey"`) || strings.Contains(body, `name="remedy"`) {
		t.Fatalf("applied: %d\n%s", code, body)
	}
	// The survey's address, reopened later, shows the page, not JSON.
	if code, body, hdr := pageReq(t, h, http.MethodGet, path+"/survey", nil); code != 200 ||
		!strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !strings.Contains(body, "SORRY-ABCD") {
		t.Fatalf("GET survey address: %d %s", code, hdr.Get("Content-Type"))
	}
	if code, _, _ = pageReq(t, h, http.MethodPost, path+"/survey", url.Values{"answer": {"meh"}}); code != http.StatusUnprocessableEntity || len(cust.surveys) != 0 {
		t.Fatalf("bad answer: %d %+v", code, cust.surveys)
	}
	if code, body, _ = pageReq(t, h, http.MethodPost, path+"/survey", url.Values{"answer": {"WOW"}}); code != 200 ||
		cust.surveys["inc-2"].Answer != "wow" || cust.surveys["inc-2"].Via != "page" || !strings.Contains(body, "Thank you for telling us") {
		t.Fatalf("survey: %d %+v\n%s", code, cust.surveys, body)
	}
	// After a WOW the page asks for more; what they write is kept.
	if !strings.Contains(body, `action="`+path+`/survey/more"`) || !strings.Contains(body, `<textarea id="more" name="more"`) {
		t.Fatalf("no 'tell us more' after a WOW:\n%s", body)
	}
	if code, _, _ = pageReq(t, h, http.MethodPost, path+"/survey/more", url.Values{"more": {"  "}}); code != http.StatusUnprocessableEntity {
		t.Fatalf("an empty 'more': %d", code)
	}
	if code, body, _ = pageReq(t, h, http.MethodPost, path+"/survey/more", url.Values{"more": {" The call made my day "}}); code != 200 ||
		cust.surveys["inc-2"].Comment != "The call made my day" || !strings.Contains(body, "the whole team will read it") {
		t.Fatalf("tell us more: %d %+v\n%s", code, cust.surveys["inc-2"], body)
	}
	if code, body, _ = pageReq(t, h, http.MethodPost, path+"/survey", url.Values{"answer": {"how"}}); code != 200 || strings.Contains(body, "/survey/more") {
		t.Fatalf("after a HOW the page asks for more: %d\n%s", code, body)
	}
	if code, _, _ = pageReq(t, h, http.MethodPost, path+"/survey/more", url.Values{"more": {"hm"}}); code != http.StatusConflict {
		t.Fatalf("'more' without a WOW: %d, want 409", code)
	}
	// Unsubscribe: the link alone changes nothing; the button (or a mail
	// client's one-click POST) does.
	u := "/u/" + pageSigner.Token(links.KindUnsubscribe, "ada@example.com", time.Now().Add(time.Hour))
	code, body, _ = pageReq(t, h, http.MethodGet, u, nil)
	if out, _ := cust.OptedOut(t.Context(), "email", "ada@example.com"); code != 200 || out || !strings.Contains(body, `<form method="post"`) {
		t.Fatalf("GET unsubscribe: %d opted out %v\n%s", code, out, body)
	}
	code, _, _ = pageReq(t, h, http.MethodPost, u, url.Values{"List-Unsubscribe": {"One-Click"}})
	if out, _ := cust.OptedOut(t.Context(), "email", "ada@example.com"); code != 200 || !out {
		t.Fatalf("one-click: %d, opted out %v", code, out)
	}
	if code, _, _ = pageReq(t, h, http.MethodPost, u, nil); code != 200 {
		t.Fatalf("again: %d", code)
	}
	if code, _, _ = pageReq(t, h, http.MethodPost, "/u/"+choiceToken("ada@example.com", time.Hour), nil); code != http.StatusNotFound {
		t.Fatalf("choice token as unsubscribe: %d", code)
	}
}

func TestCustomerLinksStayOutOfLogs(t *testing.T) {
	if got := redactPath("/r/c.aW5j.1.x/survey"); got != "/r/…/survey" {
		t.Errorf("redactPath = %q", got)
	}
	if got := redactPath("/u/u.YWRhQGV4YW1wbGUuY29t.1.x"); got != "/u/…" {
		t.Errorf("redactPath = %q", got)
	}
	if got := redactPath("/v1/webhooks/sendgrid/inbound/inbound-secret-0123456789abcdef"); got != "/v1/webhooks/sendgrid/inbound/…" {
		t.Fatalf("the inbound webhook's secret is logged: %s", got)
	}
	if got := redactPath("/v1/incidents"); got != "/v1/incidents" {
		t.Errorf("redactPath = %q", got)
	}
}

// brandedCustomers says every order is from the source "lamps".
type brandedCustomers struct{ *memCustomers }

func (brandedCustomers) OrderContact(context.Context, string) (recovery.OrderContact, error) {
	return recovery.OrderContact{Source: "lamps"}, nil
}

// TestTheChoicePageWearsTheOrdersBrand: the page of an order from a
// brand's source shows its logo (allowed by the page's policy, from its
// host only), its colours and its contacts; SMS HELP and a call's 0 reach
// the brand's people.
func TestTheChoicePageWearsTheOrdersBrand(t *testing.T) {
	set, err := brands.Parse("brands.yaml", []byte(`brands:
  - name: Lamp Shop
    sources: [lamps]
    support: {phone: "+441632960001", email: help@lampshop.example}
    logo_url: https://cdn.lampshop.example/logo.svg
    colors: {accent: "#8a2be2"}
`))
	if err != nil {
		t.Fatal(err)
	}
	cust := newMemCustomers()
	s := contactServer(cust, &memRemedies{}, choosing)
	s.Links, s.Brands = pageSigner, set
	s.Customers = brandedCustomers{cust}
	code, body, hdr := pageReq(t, s.Handler(), http.MethodGet, "/r/"+choiceToken("inc-1", time.Hour), nil)
	for _, want := range []string{`<img src="https://cdn.lampshop.example/logo.svg" alt="Lamp Shop">`, "background:#8a2be2",
		"441632960001", "help@lampshop.example"} {
		if !strings.Contains(body, want) {
			t.Errorf("the branded page lacks %q (%d)", want, code)
		}
	}
	if csp := hdr.Get("Content-Security-Policy"); !strings.HasSuffix(csp, "; img-src https://cdn.lampshop.example") {
		t.Errorf("CSP %q, want the logo's host allowed and nothing more", csp)
	}
	if strings.Contains(body, "care@shop.example") {
		t.Error("the branded page shows the deployment's own contact")
	}
	cust.latest["sms/+4915112345678"] = recovery.ContactRef{IncidentID: "inc-1", WorkflowID: choosing.WorkflowID, Step: 2,
		IncidentStatus: recovery.IncidentAwaitingChoice, Locale: "en"}
	if out := s.inboundSMS(t.Context(), "+4915112345678", "HELP"); !strings.Contains(out, "+441632960001") {
		t.Errorf("HELP from a brand's customer: %q", out)
	}
}

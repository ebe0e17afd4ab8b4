package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

type memCaptured []recovery.CapturedMessage

func (m memCaptured) CapturedMessages(context.Context, int) ([]recovery.CapturedMessage, error) {
	return m, nil
}

func TestDevPageActsAsTheCustomer(t *testing.T) {
	cust, rem := newMemCustomers(), &memRemedies{}
	srv := contactServer(cust, rem, choosing)
	srv.Dev = memCaptured{
		{ID: 2, Channel: "voice", To: "+4915112345678", Text: "Guten Tag", CreatedAt: time.Now()},
		{ID: 1, Channel: "email", To: "ada@example.com", Subject: "Sorry", Text: "Choose here: http://127.0.0.1:8080/r/c.abc.def.ghi", CreatedAt: time.Now()},
	}
	h := srv.Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/messages", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.Contains(body, `<a href="http://127.0.0.1:8080/r/c.abc.def.ghi">`) ||
		!strings.Contains(body, `name="to" value="&#43;4915112345678"`) || !strings.Contains(body, "Press 2") {
		t.Fatalf("page: %d %s", rec.Code, body)
	}
	act := func(form url.Values) string {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/dev/messages/act", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "http://"+req.Host) // the dev page's own form
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("%v: %d %s", form, rec.Code, rec.Body)
		}
		u, _ := url.Parse(rec.Header().Get("Location"))
		return u.Query().Get("said")
	}
	cust.latest["voice/+4915112345678"] = recovery.ContactRef{IncidentID: "inc-1", Step: 1, IncidentStatus: recovery.IncidentAwaitingChoice}
	said := act(url.Values{"channel": {"voice"}, "to": {"+4915112345678"}, "do": {"press"}, "digits": {"2"}})
	if len(rem.sent) != 1 || rem.sent[0].(recovery.RemedyAction).Remedy != recovery.RemedyRefund || !strings.Contains(said, "Danke") {
		t.Fatalf("press 2: %q, %+v", said, rem.sent)
	}
	cust.latest["sms/+4915112345678"] = recovery.ContactRef{IncidentID: "inc-1", Step: 2, Locale: "de"}
	if said := act(url.Values{"channel": {"sms"}, "to": {"+4915112345678"}, "do": {"reply"}, "body": {"STOP"}}); !strings.Contains(said, "keine SMS") {
		t.Fatalf("STOP: %q", said)
	}
	if out, _ := cust.OptedOut(t.Context(), "sms", "+4915112345678"); !out {
		t.Fatal("STOP from the dev page did not opt out")
	}
	cust.latest["email/ada@example.com"] = recovery.ContactRef{IncidentID: "inc-1", Step: 3}
	act(url.Values{"channel": {"email"}, "to": {"ada@example.com"}, "do": {"bounce"}})
	last := cust.events[len(cust.events)-1]
	if last.Outcome != recovery.OutcomeFailed || last.Step != 3 || last.Channel != "email" {
		t.Fatalf("bounce: %+v", last)
	}
	// Not in dev: no dev page.
	srv.Dev = nil
	rec = httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/dev/messages", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("dev page outside dev: %d", rec.Code)
	}
}

// The dev page acts as the customer without a key: a POST that another
// site's page makes the browser send is refused, and changes nothing.
func TestDevPagePostsMustComeFromTheDevPage(t *testing.T) {
	cust, rem := newMemCustomers(), &memRemedies{}
	srv := contactServer(cust, rem, choosing)
	srv.Dev = memCaptured{}
	h := srv.Handler()
	cust.latest["voice/+4915112345678"] = recovery.ContactRef{IncidentID: "inc-1", Step: 1, IncidentStatus: recovery.IncidentAwaitingChoice}
	form := url.Values{"channel": {"voice"}, "to": {"+4915112345678"}, "do": {"press"}, "digits": {"2"}}.Encode()
	for _, tc := range []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"neither header", nil, http.StatusForbidden},
		{"another site's Origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"an Origin on another port", map[string]string{"Origin": "http://example.com:8081"}, http.StatusForbidden},
		{"a null Origin", map[string]string{"Origin": "null"}, http.StatusForbidden},
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.com"}, http.StatusForbidden},
		{"same-site but another origin", map[string]string{"Sec-Fetch-Site": "same-site"}, http.StatusForbidden},
		{"same-origin fetch metadata", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusSeeOther},
		{"this host as Origin", map[string]string{"Origin": "http://example.com"}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(rem.sent)
			req := httptest.NewRequest(http.MethodPost, "/dev/messages/act", strings.NewReader(form))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if acted := len(rem.sent) > before; acted != (tc.want == http.StatusSeeOther) {
				t.Fatalf("acted: %v (%+v)", acted, rem.sent)
			}
			if tc.want == http.StatusForbidden && rec.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("refusal answered as %q", rec.Header().Get("Content-Type"))
			}
		})
	}
}

package web

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// eventOf is goodEvent with another id and source.
func eventOf(id, source string) string {
	return strings.Replace(strings.Replace(goodEvent, `"evt-81"`, strconv.Quote(id), 1), `"shop-eu"`, strconv.Quote(source), 1)
}

// An ingest key writes only its sources, and so does a signing secret: an
// event of another source is refused with a 403 naming it, and nothing of
// that request is stored, the events it may write included.
func TestIngestIsBoundToSources(t *testing.T) {
	const secret = "eu-signing-secret-0123"
	inbox := &recInbox{memInbox: memInbox{seen: map[recovery.EventKey]bool{}}}
	s := &Server{Inbox: inbox, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Credentials: []auth.Credential{
			{Name: "shop-eu", Key: "eu-key", Rights: []auth.Right{auth.Ingest}, Sources: []string{"shop-eu", "shop-uk"}},
			{Name: "everyone", Key: "any-key", Rights: []auth.Right{auth.Ingest}, Sources: []string{auth.AnySource}},
		},
		EventSigners: []auth.Signer{
			{Name: "eu-hooks", Secrets: []string{secret}, Sources: []string{"shop-eu"}},
			{Name: "us-hooks", Secrets: []string{"us-signing-secret-0123"}, Sources: []string{"shop-us"}},
		}}
	h := s.Handler()
	send := func(key, signWith, body string) (int, Problem) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		if signWith != "" {
			now := time.Now()
			sig, err := ingest.SignStandardWebhook(signWith, "msg-"+fmt.Sprint(now.UnixNano()), now, []byte(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("webhook-id", "msg-"+fmt.Sprint(now.UnixNano()))
			req.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
			req.Header.Set("webhook-signature", sig)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var p Problem
		json.Unmarshal(rec.Body.Bytes(), &p) //nolint:errcheck
		return rec.Code, p
	}
	batch := func(evs ...string) string { return `{"events":[` + strings.Join(evs, ",") + `]}` }
	for _, tc := range []struct {
		name, key, secret, body string
		want                    int
		source                  string // the source a refusal names
		field                   string // the field it names
	}{
		{"its source", "eu-key", "", eventOf("a1", "shop-eu"), 202, "", ""},
		{"its other source", "eu-key", "", eventOf("a2", "shop-uk"), 202, "", ""},
		{"another source", "eu-key", "", eventOf("a3", "shop-us"), 403, "shop-us", "source"},
		{"a batch with one other source", "eu-key", "", batch(eventOf("a4", "shop-eu"), eventOf("a5", "shop-us"), eventOf("a6", "shop-uk")),
			403, "shop-us", "events[1].source"},
		{"any source", "any-key", "", eventOf("a7", "shop-us"), 202, "", ""},
		{"signed for its source", "", secret, eventOf("a8", "shop-eu"), 202, "", ""},
		{"signed for another source", "", secret, eventOf("a9", "shop-uk"), 403, "shop-uk", "source"},
		{"signed, a batch with one other source", "", secret, batch(eventOf("a10", "shop-eu"), eventOf("a11", "shop-us")),
			403, "shop-us", "events[1].source"},
		{"signed by the other signer", "", "us-signing-secret-0123", eventOf("a12", "shop-us"), 202, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(inbox.got)
			code, p := send(tc.key, tc.secret, tc.body)
			if code != tc.want {
				t.Fatalf("%d %+v, want %d", code, p, tc.want)
			}
			if tc.want == 202 {
				if len(inbox.got) == before {
					t.Fatal("accepted but not stored")
				}
				return
			}
			if len(inbox.got) != before {
				t.Fatalf("a refused request stored %d events", len(inbox.got)-before)
			}
			if p.Type != problemBase+"source-not-allowed" || !strings.Contains(p.Detail, strconv.Quote(tc.source)) ||
				!strings.Contains(p.Detail, "nothing was stored") {
				t.Fatalf("problem %+v must name source %q and say nothing was stored", p, tc.source)
			}
			if len(p.Errors) != 1 || p.Errors[0].Field != tc.field {
				t.Fatalf("fields %+v, want %s", p.Errors, tc.field)
			}
			for _, secret := range []string{"eu-key", secret} {
				if strings.Contains(fmt.Sprint(p), secret) {
					t.Fatalf("the refusal shows a secret: %+v", p)
				}
			}
		})
	}
}

// The approver's name and limit come from the credential: the limit sent
// to the workflow is the one of the incident's currency.
func TestApprovalLimitPerCurrency(t *testing.T) {
	incident := func(id, currency string) recovery.Incident {
		return recovery.Incident{ID: id, OrderID: "o-" + id, WorkflowID: "incident/" + id, Status: recovery.IncidentAwaitingApproval,
			Offer: &recovery.Offer{Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: currency, Status: recovery.OfferPending}}
	}
	rem := &memRemedies{}
	s := &Server{Incidents: memIncidents{list: []recovery.Incident{incident("eur", "EUR"), incident("usd", "USD"), incident("gbp", "GBP")}},
		Remedies: rem, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Credentials: []auth.Credential{
			{Name: "alice", Key: "alice-key", Rights: []auth.Right{auth.Approve},
				Limits: auth.Limits{PerCurrency: map[string]int64{"EUR": 100, "USD": 120}, Default: 50}},
			{Name: "root", Key: "root-key", Rights: []auth.Right{auth.Admin}},
		}}
	h := s.Handler()
	for _, tc := range []struct {
		key, id string
		want    recovery.Approver
	}{
		{"alice-key", "eur", recovery.Approver{Name: "alice", LimitMajor: 100}},
		{"alice-key", "usd", recovery.Approver{Name: "alice", LimitMajor: 120}},
		{"alice-key", "gbp", recovery.Approver{Name: "alice", LimitMajor: 50}},
		{"root-key", "gbp", recovery.Approver{Name: "root", LimitMajor: auth.NoLimit}},
	} {
		rem.sent = nil
		// The body cannot raise the limit or change who approves.
		if code, body := post(t, h, "/v1/incidents/"+tc.id+"/approve", tc.key, `{"note":"ok"}`); code != 200 {
			t.Fatalf("%s approving %s: %d %s", tc.key, tc.id, code, body)
		}
		if len(rem.sent) != 1 || !reflect.DeepEqual(rem.sent[0].(recovery.RemedyAction).By, tc.want) {
			t.Errorf("%s approving %s sent %+v, want by %+v", tc.key, tc.id, rem.sent, tc.want)
		}
	}
}

// Every JSON answer, not only problems, is neither cached nor sniffed.
func TestJSONAnswersAreNotCachedOrSniffed(t *testing.T) {
	srv := newTestServer(&memInbox{seen: map[recovery.EventKey]bool{}})
	defer srv.Close()
	for _, tc := range []struct {
		method, path, key, body string
		status                  int
	}{
		{"GET", "/healthz", "", "", 200},
		{"GET", "/readyz", "", "", 200},
		{"GET", "/v1/incidents", "k1", "", 200},
		{"GET", "/v1/incidents/inc-1", "k1", "", 200},
		{"POST", "/v1/events", "k1", goodEvent, 202},
		{"GET", "/v1/incidents", "", "", 401},
		{"GET", "/v1/incidents/nope", "k1", "", 404},
		{"GET", "/nowhere", "", "", 404},
	} {
		resp, _ := do(t, srv, tc.method, tc.path, tc.key, "application/json", tc.body)
		if resp.StatusCode != tc.status {
			t.Fatalf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
		if !strings.Contains(resp.Header.Get("Content-Type"), "json") || resp.Header.Get("Cache-Control") != "no-store" ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: Content-Type %q, Cache-Control %q, X-Content-Type-Options %q", tc.method, tc.path,
				resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"))
		}
	}
}

// With an https public URL every answer (JSON, pages, errors, a 404)
// carries Strict-Transport-Security; with an http one none does.
func TestStrictTransportSecurityWhenPublicURLIsHTTPS(t *testing.T) {
	for _, tc := range []struct {
		publicURL, want string
	}{
		{"https://care.shop.example", "max-age=31536000"},
		{"HTTPS://care.shop.example/", "max-age=31536000"},
		{"http://127.0.0.1:8080", ""},
		{"", ""},
	} {
		s := &Server{Credentials: apiKeys("k1"), Incidents: memIncidents{}, Links: pageSigner, PublicURL: tc.publicURL,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		h := s.Handler()
		for _, path := range []string{"/healthz", "/v1/incidents", "/r/not-a-token", "/nowhere"} {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
			if got := rec.Header().Get("Strict-Transport-Security"); got != tc.want {
				t.Errorf("public URL %q, GET %s (%d): Strict-Transport-Security %q, want %q", tc.publicURL, path, rec.Code, got, tc.want)
			}
		}
	}
}

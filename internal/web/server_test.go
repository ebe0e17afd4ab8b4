package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// memInbox is an in-memory Inbox for handler unit tests.
type memInbox struct {
	mu   sync.Mutex
	seen map[recovery.EventKey]bool
	fail error
}

func (m *memInbox) Submit(_ context.Context, evs []recovery.Event) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return nil, m.fail
	}
	out := make([]bool, len(evs))
	for i, e := range evs {
		out[i] = !m.seen[e.Key()]
		m.seen[e.Key()] = true
	}
	return out, nil
}

type memIncidents struct{ list []recovery.Incident }

// ListIncidents keeps the list's order (the tests give it newest first)
// and pages it as the store does.
func (m memIncidents) ListIncidents(_ context.Context, f recovery.IncidentFilter) ([]recovery.Incident, error) {
	var out []recovery.Incident
	skipping := f.After != nil
	for _, i := range m.list {
		if skipping {
			skipping = !(i.ID == f.After.ID && i.DetectedAt.Equal(f.After.DetectedAt))
			continue
		}
		if (f.OrderID == "" || i.OrderID == f.OrderID) && (f.Limit == 0 || len(out) < f.Limit) {
			out = append(out, i)
		}
	}
	return out, nil
}

func (m memIncidents) GetIncident(_ context.Context, id string) (recovery.Incident, error) {
	for _, i := range m.list {
		if i.ID == id {
			return i, nil
		}
	}
	return recovery.Incident{}, recovery.ErrNotFound
}

const goodEvent = `{"id":"evt-81","source":"shop-eu","type":"shipment.tracking","time":"2026-11-20T10:00:00Z",
 "subject":"order/1001","data":{"order_id":"1001","shipment_id":"s-1","carrier":"ups","tracking_number":"1Z",
 "status":"in_transit","location":{"city":"Memphis","region":"TN","postal_code":"38118","country":"US"}}}`

func newTestServer(inbox *memInbox) *httptest.Server {
	s := &Server{Inbox: inbox, Credentials: apiKeys("k1", "k2"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Incidents: memIncidents{list: []recovery.Incident{{ID: "inc-1", OrderID: "1001", Kind: recovery.KindMisrouted,
			Status: "open", Evidence: []string{"evt-81"}, Contacts: []recovery.Contact{}}}}}
	return httptest.NewServer(s.Handler())
}

// apiKeys are legacy RECOVERY_API_KEYS credentials (ingest for any
// source, read, redeem, choose) with the keys given.
func apiKeys(keys ...string) []auth.Credential {
	var out []auth.Credential
	for i, k := range keys {
		out = append(out, auth.APIKey(fmt.Sprintf("api-key-%d", i+1), k))
	}
	return out
}

func do(t *testing.T, srv *httptest.Server, method, path, key, ctype, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc) //nolint:errcheck
	return resp, doc
}

func TestPostEvents(t *testing.T) {
	inbox := &memInbox{seen: map[recovery.EventKey]bool{}}
	srv := newTestServer(inbox)
	defer srv.Close()
	tests := []struct {
		name, key, ctype, body string
		status                 int
		problem                string // problem type suffix, or "" for a 202
		firstResult            string
	}{
		{"no key", "", "application/json", goodEvent, 401, "unauthorized", ""},
		{"wrong key", "nope", "application/json", goodEvent, 401, "unauthorized", ""},
		{"accepted", "k1", "application/json", goodEvent, 202, "", "accepted"},
		{"second key, duplicate", "k2", "application/json", goodEvent, 202, "", "duplicate"},
		{"batch", "k1", "", `{"events":[` + strings.Replace(goodEvent, "evt-81", "evt-82", 1) + `]}`, 202, "", "accepted"},
		{"malformed", "k1", "application/json", `{"id":`, 400, "malformed-json", ""},
		{"unknown type", "k1", "application/json", strings.Replace(goodEvent, "shipment.tracking", "shipment.teleported", 1), 422, "validation", ""},
		{"array", "k1", "application/json", `[` + strings.Replace(goodEvent, "evt-81", "evt-83", 1) + `]`, 202, "", "accepted"},
		{"ndjson", "k1", "application/x-ndjson", strings.Join(strings.Fields(strings.Replace(goodEvent, "evt-81", "evt-84", 1)), " ") +
			"\n" + strings.Join(strings.Fields(strings.Replace(goodEvent, "evt-81", "evt-85", 1)), " ") + "\n", 202, "", "accepted"},
		{"ndjson, a bad line", "k1", "application/x-ndjson", "{}\nnot json\n", 400, "malformed-json", ""},
		{"xml", "k1", "application/xml", goodEvent, 415, "unsupported-media-type", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, doc := do(t, srv, "POST", "/v1/events", tt.key, tt.ctype, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tt.status, doc)
			}
			if tt.problem != "" {
				if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("content type %q, want application/problem+json", ct)
				}
				if doc["type"] != problemBase+tt.problem {
					t.Fatalf("problem type %v, want %s", doc["type"], tt.problem)
				}
				return
			}
			results := doc["results"].([]any)
			if got := results[0].(map[string]any)["status"]; got != tt.firstResult {
				t.Fatalf("result %v, want %s", got, tt.firstResult)
			}
		})
	}
}

func TestValidationNamesFieldsAndStoresNothing(t *testing.T) {
	inbox := &memInbox{seen: map[recovery.EventKey]bool{}}
	srv := newTestServer(inbox)
	defer srv.Close()
	bad := strings.Replace(goodEvent, `"status":"in_transit"`, `"status":"teleported"`, 1)
	body := `{"events":[` + strings.Replace(goodEvent, "evt-81", "evt-90", 1) + `,` + bad + `]}`
	resp, doc := do(t, srv, "POST", "/v1/events", "k1", "application/json", body)
	if resp.StatusCode != 422 {
		t.Fatalf("status %d, want 422", resp.StatusCode)
	}
	errs, _ := doc["errors"].([]any)
	if len(errs) == 0 || !strings.HasPrefix(errs[0].(map[string]any)["field"].(string), "events[1]") {
		t.Fatalf("errors %v must name events[1]", doc["errors"])
	}
	if len(inbox.seen) != 0 {
		t.Fatalf("a rejected batch stored %d events", len(inbox.seen))
	}
}

func TestPostEventsStoreFailureIs503(t *testing.T) {
	srv := newTestServer(&memInbox{seen: map[recovery.EventKey]bool{}, fail: errors.New("db down")})
	defer srv.Close()
	resp, doc := do(t, srv, "POST", "/v1/events", "k1", "application/json", goodEvent)
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("status %d retry-after %q: %v", resp.StatusCode, resp.Header.Get("Retry-After"), doc)
	}
}

func TestIncidentsAPI(t *testing.T) {
	srv := newTestServer(&memInbox{seen: map[recovery.EventKey]bool{}})
	defer srv.Close()
	resp, doc := do(t, srv, "GET", "/v1/incidents?order_id=1001", "k1", "", "")
	if resp.StatusCode != 200 || len(doc["incidents"].([]any)) != 1 {
		t.Fatalf("list: %d %v", resp.StatusCode, doc)
	}
	resp, doc = do(t, srv, "GET", "/v1/incidents?order_id=9", "k1", "", "")
	if resp.StatusCode != 200 || len(doc["incidents"].([]any)) != 0 {
		t.Fatalf("empty list must be [] not null: %d %v", resp.StatusCode, doc)
	}
	resp, doc = do(t, srv, "GET", "/v1/incidents?kind=bogus&limit=0", "k1", "", "")
	if resp.StatusCode != 400 || len(doc["errors"].([]any)) != 2 {
		t.Fatalf("bad filters: %d %v", resp.StatusCode, doc)
	}
	resp, doc = do(t, srv, "GET", "/v1/incidents/inc-1", "k1", "", "")
	if resp.StatusCode != 200 || doc["kind"] != "misrouted" || doc["evidence"].([]any)[0] != "evt-81" {
		t.Fatalf("get: %d %v", resp.StatusCode, doc)
	}
	resp, doc = do(t, srv, "GET", "/v1/incidents/inc-x", "k1", "", "")
	if resp.StatusCode != 404 || doc["type"] != problemBase+"not-found" {
		t.Fatalf("missing: %d %v", resp.StatusCode, doc)
	}
	if resp, _ := do(t, srv, "GET", "/v1/incidents", "", "", ""); resp.StatusCode != 401 {
		t.Fatalf("unauthenticated list: %d", resp.StatusCode)
	}
}

// TestIncidentsPageWithACursor asks for pages of two: a page with more
// after it names its next_cursor, the last page does not, the pages
// together hold each incident once, and a cursor the API did not make is
// a 400 that names the parameter.
func TestIncidentsPageWithACursor(t *testing.T) {
	at := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	var list []recovery.Incident
	for i := range 5 {
		list = append(list, recovery.Incident{ID: fmt.Sprintf("inc-%d", i), OrderID: "o", Kind: recovery.KindLate,
			DetectedAt: at.Add(-time.Duration(i) * time.Second)})
	}
	srv := httptest.NewServer((&Server{Inbox: &memInbox{seen: map[recovery.EventKey]bool{}}, Incidents: memIncidents{list: list},
		Credentials: apiKeys("k1"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler())
	defer srv.Close()
	var seen []string
	path, pages := "/v1/incidents?limit=2", 0
	for path != "" {
		pages++
		resp, doc := do(t, srv, "GET", path, "k1", "", "")
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, doc)
		}
		for _, inc := range doc["incidents"].([]any) {
			seen = append(seen, inc.(map[string]any)["id"].(string))
		}
		path = ""
		if c, ok := doc["next_cursor"].(string); ok {
			path = "/v1/incidents?limit=2&cursor=" + c
		}
	}
	if pages != 3 || fmt.Sprint(seen) != "[inc-0 inc-1 inc-2 inc-3 inc-4]" {
		t.Fatalf("%d pages gave %v", pages, seen)
	}
	for _, bad := range []string{"not-base64!", "bm9kb3Q", "MTIzLg"} { // "nodot", "123."
		resp, doc := do(t, srv, "GET", "/v1/incidents?cursor="+bad, "k1", "", "")
		errs, _ := doc["errors"].([]any)
		if resp.StatusCode != 400 || len(errs) != 1 || errs[0].(map[string]any)["field"] != "cursor" {
			t.Errorf("cursor %q: %d %v", bad, resp.StatusCode, doc)
		}
	}
}

func TestReadyz(t *testing.T) {
	notYet := errors.New("not yet")
	ready := false
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Checks: []Check{
		{Name: "ingest", Ready: func(context.Context) error { return nil }},
		{Name: "relay", Ready: func(context.Context) error {
			if !ready {
				return notYet
			}
			return nil
		}},
	}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	if resp, doc := do(t, srv, "GET", "/readyz", "", "", ""); resp.StatusCode != 503 {
		t.Fatalf("not ready: %d %v", resp.StatusCode, doc)
	}
	ready = true
	if resp, doc := do(t, srv, "GET", "/readyz", "", "", ""); resp.StatusCode != 200 {
		t.Fatalf("ready: %d %v", resp.StatusCode, doc)
	}
}

// TestPostEventsBodyLimit: a body over 4 MiB is refused as a whole with a
// 413 problem and nothing is stored; a body of exactly 4 MiB is read.
func TestPostEventsBodyLimit(t *testing.T) {
	const limit = 4 << 20
	// A valid batch, padded with JSON whitespace to the size wanted.
	batch := func(size int, id string) string {
		b := `{"events":[` + strings.Replace(goodEvent, "evt-81", id, 1) + `]}`
		return b[:len(b)-2] + strings.Repeat(" ", size-len(b)) + b[len(b)-2:]
	}
	for _, tc := range []struct {
		name    string
		size    int
		status  int
		problem string
		stored  int
	}{
		{"one byte over", limit + 1, http.StatusRequestEntityTooLarge, "too-large", 0},
		{"far over", 3 * limit, http.StatusRequestEntityTooLarge, "too-large", 0},
		{"exactly the limit", limit, http.StatusAccepted, "", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inbox := &memInbox{seen: map[recovery.EventKey]bool{}}
			s := &Server{Inbox: inbox, Credentials: apiKeys("k1"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			body := batch(tc.size, "evt-"+tc.name)
			if len(body) != tc.size {
				t.Fatalf("body of %d bytes, want %d", len(body), tc.size)
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/events", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer k1")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			s.Handler().ServeHTTP(rec, req)
			var doc map[string]any
			json.Unmarshal(rec.Body.Bytes(), &doc) //nolint:errcheck
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %v", rec.Code, tc.status, doc)
			}
			if tc.problem != "" && (rec.Header().Get("Content-Type") != "application/problem+json" || doc["type"] != problemBase+tc.problem) {
				t.Fatalf("answered %s %v, want a %s problem", rec.Header().Get("Content-Type"), doc, tc.problem)
			}
			if len(inbox.seen) != tc.stored {
				t.Fatalf("stored %d events, want %d", len(inbox.seen), tc.stored)
			}
		})
	}
}

// publicErr is an error whose text may be shown on the health page.
type publicErr string

func (e publicErr) Error() string  { return string(e) }
func (e publicErr) Public() string { return string(e) }

// TestHealthAndReadiness: /healthz answers 200 whatever the parts say;
// /readyz is 200 when every required check passes, names each check
// without raw error text (no host, user or SQL), shows optional checks
// without failing on them, and adds their figures.
func TestHealthAndReadiness(t *testing.T) {
	check := func(name string, err *error, optional bool) Check {
		return Check{Name: name, Ready: func(context.Context) error { return *err }, Optional: optional}
	}
	var ingest, relay, worker error
	relayCheck := check("relay", &relay, true)
	relayCheck.Details = func(context.Context) (any, error) { return map[string]any{"pending": 3}, nil }
	s := &Server{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Checks: []Check{check("ingest", &ingest, false), relayCheck, check("worker", &worker, false)}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	secret := errors.New(`failed to connect to host=db.internal user=recovery database=prod: password authentication failed`)
	for _, tc := range []struct {
		name                  string
		ingest, relay, worker error
		status                int
		checks                map[string]any
	}{
		{"all ready", nil, nil, nil, 200, map[string]any{"ingest": "ok", "relay": "ok", "worker": "ok"}},
		{"the optional relay waits", nil, publicErr("waiting for Temporal"), nil, 200,
			map[string]any{"ingest": "ok", "relay": "waiting for Temporal", "worker": "ok"}},
		{"database and worker down", secret, nil, publicErr("the worker waits for Temporal"), 503,
			map[string]any{"ingest": "unavailable", "relay": "ok", "worker": "the worker waits for Temporal"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ingest, relay, worker = tc.ingest, tc.relay, tc.worker
			if resp, doc := do(t, srv, "GET", "/healthz", "", "", ""); resp.StatusCode != 200 || doc["status"] != "ok" {
				t.Errorf("healthz: %d %v", resp.StatusCode, doc)
			}
			resp, doc := do(t, srv, "GET", "/readyz", "", "", "")
			if resp.StatusCode != tc.status || doc["ready"] != (tc.status == 200) {
				t.Fatalf("readyz: %d %v, want %d", resp.StatusCode, doc, tc.status)
			}
			got, _ := doc["checks"].(map[string]any)
			if len(got) != len(tc.checks) {
				t.Fatalf("checks %v, want %v", got, tc.checks)
			}
			for name, want := range tc.checks {
				if got[name] != want {
					t.Errorf("check %s = %v, want %v", name, got[name], want)
				}
			}
			if d, _ := doc["details"].(map[string]any); fmt.Sprint(d["relay"]) != "map[pending:3]" {
				t.Errorf("details %v, want the relay's figures", doc["details"])
			}
			if raw, _ := json.Marshal(doc); strings.Contains(string(raw), "db.internal") || strings.Contains(string(raw), "password") {
				t.Errorf("readyz shows raw error text: %s", raw)
			}
		})
	}
}

func TestReadAllDeclaredLength(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		body     io.Reader
		declared int64
		want     string
		err      error
	}{
		{"as declared", strings.NewReader("abc"), 3, "abc", nil},
		{"undeclared", strings.NewReader("abc"), -1, "abc", nil},
		{"shorter than declared", strings.NewReader("ab"), 3, "", io.ErrUnexpectedEOF},
		{"nothing of what was declared", strings.NewReader(""), 3, "", io.ErrUnexpectedEOF},
		{"longer than declared", strings.NewReader("abcd"), 3, "abcd", nil},
		{"declared past the preallocation", strings.NewReader("abc"), preallocMax + 1, "abc", nil},
		{"broken", io.MultiReader(strings.NewReader("a"), iotest.ErrReader(boom)), 3, "", boom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(tc.body, tc.declared)
			if !errors.Is(err, tc.err) || (err == nil && string(got) != tc.want) {
				t.Fatalf("readAll = %q, %v; want %q, %v", got, err, tc.want, tc.err)
			}
		})
	}
}

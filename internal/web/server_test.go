package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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

func (m memIncidents) ListIncidents(_ context.Context, f recovery.IncidentFilter) ([]recovery.Incident, error) {
	var out []recovery.Incident
	for _, i := range m.list {
		if f.OrderID == "" || i.OrderID == f.OrderID {
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
	s := &Server{Inbox: inbox, APIKeys: []string{"k1", "k2"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Incidents: memIncidents{list: []recovery.Incident{{ID: "inc-1", OrderID: "1001", Kind: recovery.KindMisrouted,
			Status: "open", Evidence: []string{"evt-81"}, Contacts: []recovery.Contact{}}}}}
	return httptest.NewServer(s.Handler())
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

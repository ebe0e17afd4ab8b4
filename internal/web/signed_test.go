package web

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

func signedServer(inbox *memInbox) *httptest.Server {
	s := &Server{Inbox: inbox, Credentials: apiKeys("k1"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		EventSigners: []auth.Signer{{Name: "events", Secrets: []string{"old-secret", "whsec_bmV3LXNlY3JldA=="}, Sources: []string{"*"}}}}
	return httptest.NewServer(s.Handler())
}

func postSigned(t *testing.T, srv *httptest.Server, secret, id string, ts time.Time, body, sent string, h map[string]string) int {
	t.Helper()
	sig, err := ingest.SignStandardWebhook(secret, id, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/v1/events", strings.NewReader(sent))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", id)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestEventsAcceptStandardWebhooksInsteadOfAKey(t *testing.T) {
	inbox := &memInbox{seen: map[recovery.EventKey]bool{}}
	srv := signedServer(inbox)
	defer srv.Close()
	now := time.Now()
	for _, tc := range []struct {
		name, secret string
		ts           time.Time
		tamper       bool
		want         int
	}{
		{"current secret", "whsec_bmV3LXNlY3JldA==", now, false, 202},
		{"previous secret during rotation", "old-secret", now, false, 202},
		{"unknown secret", "other", now, false, 401},
		{"stale timestamp", "old-secret", now.Add(-6 * time.Minute), false, 401},
		{"tampered body", "old-secret", now, true, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inbox.seen = map[recovery.EventKey]bool{}
			sent := goodEvent
			if tc.tamper {
				sent = strings.Replace(goodEvent, "Memphis", "Nashville", 1)
			}
			if got := postSigned(t, srv, tc.secret, "msg_1", tc.ts, goodEvent, sent, nil); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
			if stored := len(inbox.seen); (tc.want == 202) != (stored == 1) {
				t.Fatalf("stored %d events after a %d answer", stored, tc.want)
			}
		})
	}
}

func TestEventsWithoutKeyOrSignature(t *testing.T) {
	srv := signedServer(&memInbox{seen: map[recovery.EventKey]bool{}})
	defer srv.Close()
	resp, doc := do(t, srv, "POST", "/v1/events", "", "application/json", goodEvent)
	if resp.StatusCode != 401 || resp.Header.Get("Content-Type") != "application/problem+json" || doc["title"] == nil {
		t.Fatalf("status %d %v, want a 401 problem", resp.StatusCode, doc)
	}
}

func TestCloudEventsOverHTTP(t *testing.T) {
	inbox := &memInbox{seen: map[recovery.EventKey]bool{}}
	srv := newTestServer(inbox)
	defer srv.Close()
	ce := strings.Replace(goodEvent, `{"id"`, `{"specversion":"1.0","id"`, 1)
	resp, doc := do(t, srv, "POST", "/v1/events", "k1", ingest.ContentTypeCloudEvents, ce)
	if resp.StatusCode != 202 || doc["accepted"].(float64) != 1 {
		t.Fatalf("structured: %d %v", resp.StatusCode, doc)
	}
	resp, doc = do(t, srv, "POST", "/v1/events", "k1", ingest.ContentTypeCloudEventsBatch, "["+strings.Replace(ce, "evt-81", "evt-82", 1)+"]")
	if resp.StatusCode != 202 || doc["accepted"].(float64) != 1 {
		t.Fatalf("batch: %d %v", resp.StatusCode, doc)
	}
	resp, doc = do(t, srv, "POST", "/v1/events", "k1", ingest.ContentTypeCloudEvents, strings.Replace(ce, `"1.0"`, `"0.3"`, 1))
	if resp.StatusCode != 422 || !strings.Contains(resp.Header.Get("Content-Type"), "problem+json") {
		t.Fatalf("old specversion: %d %v", resp.StatusCode, doc)
	}
}

// memReplays remembers deliveries in memory.
type memReplays struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (m *memReplays) SeenDelivery(_ context.Context, id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[id], nil
}

func (m *memReplays) RecordDelivery(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seen[id] = true
	return nil
}

// A signed delivery sent again is answered without effect, even when its
// events would not be duplicates (the engine never parses it again); one
// that failed to store is not remembered, so its retry is stored. CloudEvents
// binary mode cannot be signed: its ce-* headers are outside the signature.
func TestSignedDeliveriesAreNotReplayed(t *testing.T) {
	inbox := &memInbox{seen: map[recovery.EventKey]bool{}}
	replays := &memReplays{seen: map[string]bool{}}
	s := &Server{Inbox: inbox, Credentials: apiKeys("k1"), Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Replays: replays,
		EventSigners: []auth.Signer{{Name: "events", Secrets: []string{"old-secret"}, Sources: []string{"*"}}}}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	now := time.Now()

	inbox.fail = errors.New("database down")
	if code := postSigned(t, srv, "old-secret", "msg-1", now, goodEvent, goodEvent, nil); code != 503 {
		t.Fatalf("while the store fails: %d", code)
	}
	inbox.fail = nil
	if code := postSigned(t, srv, "old-secret", "msg-1", now, goodEvent, goodEvent, nil); code != 202 || !inbox.seen[recovery.EventKey{Source: "shop-eu", ID: "evt-81"}] {
		t.Fatalf("the retry after a failure: %d, stored %v", code, inbox.seen)
	}
	inbox.seen = map[recovery.EventKey]bool{} // were it parsed again, its event would count as new
	if code := postSigned(t, srv, "old-secret", "msg-1", now, goodEvent, goodEvent, nil); code != 202 || len(inbox.seen) != 0 {
		t.Fatalf("a replay: %d, stored %v", code, inbox.seen)
	}
	binary := map[string]string{"ce-specversion": "1.0", "ce-id": "forged", "ce-source": "shop-eu",
		"ce-type": "order.cancelled", "ce-time": "2026-11-20T10:00:00Z"}
	if code := postSigned(t, srv, "old-secret", "msg-2", now, `{"order_id":"1001"}`, `{"order_id":"1001"}`, binary); code != 422 || len(inbox.seen) != 0 {
		t.Fatalf("signed binary mode: %d, stored %v", code, inbox.seen)
	}
}

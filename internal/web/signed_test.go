package web

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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

package web

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// queue is an EventQueue holding quarantined events in memory.
type queue struct {
	dead     []recovery.DeadEvent
	requeued []int64
	all      bool
}

func (q *queue) DeadEvents(_ context.Context, after int64, limit int) ([]recovery.DeadEvent, error) {
	var out []recovery.DeadEvent
	for _, d := range q.dead {
		if d.Seq > after && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (q *queue) Requeue(_ context.Context, seqs []int64) (int64, error) {
	q.requeued, q.all = seqs, len(seqs) == 0
	if q.all {
		return int64(len(q.dead)), nil
	}
	return int64(len(seqs)), nil
}

func TestDeadLetterEndpoints(t *testing.T) {
	q := &queue{}
	for i := range 3 {
		q.dead = append(q.dead, recovery.DeadEvent{Seq: int64(10 + i), Source: "shop", ID: "e", Type: "order.created",
			ErrorKind: "invalid-argument", Note: "refused", DeadAt: time.Now()})
	}
	root := auth.Credential{Name: "root", Key: "root-key", Rights: []auth.Right{auth.Admin}}
	s := &Server{Events: q, Credentials: append(apiKeys("k1"), root), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	call := func(method, path, key, body string) (int, map[string]any) {
		req := httptest.NewRequest(method, path, strings.NewReader(body))
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		var doc map[string]any
		json.Unmarshal(rec.Body.Bytes(), &doc) //nolint:errcheck
		return rec.Code, doc
	}
	if code, _ := call("GET", "/v1/events?status=dead", "", ""); code != 401 {
		t.Fatalf("without a key: %d", code)
	}
	if code, doc := call("GET", "/v1/events", "k1", ""); code != 400 || !strings.Contains(jsonText(doc), `"field":"status"`) {
		t.Fatalf("without status=dead: %d %v", code, doc)
	}
	code, doc := call("GET", "/v1/events?status=dead&limit=2", "k1", "")
	if evs, _ := doc["events"].([]any); code != 200 || len(evs) != 2 || doc["next_after"] != float64(11) {
		t.Fatalf("first page: %d %v", code, doc)
	}
	code, doc = call("GET", "/v1/events?status=dead&limit=2&after=11", "k1", "")
	if evs, _ := doc["events"].([]any); code != 200 || len(evs) != 1 || doc["next_after"] != nil {
		t.Fatalf("last page: %d %v", code, doc)
	}
	// Requeueing is for admins: an API key reads the quarantine but may
	// not requeue.
	if code, _ := call("POST", "/v1/events/requeue", "k1", `{"seqs":[10]}`); code != 403 {
		t.Fatalf("requeue with an API key: %d, want 403", code)
	}
	for _, body := range []string{`{}`, `{"seqs":[10],"all_dead":true}`, `{"seq":[10]}`} {
		if code, _ := call("POST", "/v1/events/requeue", "root-key", body); code/100 != 4 {
			t.Errorf("requeue %s answered %d", body, code)
		}
	}
	if q.requeued != nil || q.all {
		t.Fatalf("a refused request requeued %v (all %v)", q.requeued, q.all)
	}
	if code, doc := call("POST", "/v1/events/requeue", "root-key", `{"seqs":[10,12]}`); code != 200 || doc["requeued"] != float64(2) ||
		len(q.requeued) != 2 {
		t.Fatalf("requeue two: %d %v %v", code, doc, q.requeued)
	}
	if code, doc := call("POST", "/v1/events/requeue", "root-key", `{"all_dead":true}`); code != 200 || doc["requeued"] != float64(3) || !q.all {
		t.Fatalf("requeue all: %d %v", code, doc)
	}
}

func jsonText(v any) string { b, _ := json.Marshal(v); return string(b) }

// A caller over its rate gets 429 with Retry-After; another caller, and
// the health checks, are not held back.
func TestRateLimitPerCaller(t *testing.T) {
	s := &Server{Events: &queue{}, Credentials: apiKeys("k1", "k2"), RateLimit: RateLimit{PerSecond: 1, Burst: 3},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	h := s.Handler()
	get := func(path, key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("GET", path, nil)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	for i := range 3 {
		if rec := get("/v1/events?status=dead", "k1"); rec.Code != 200 {
			t.Fatalf("request %d within the burst: %d", i, rec.Code)
		}
	}
	rec := get("/v1/events?status=dead", "k1")
	if rec.Code != 429 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("over the rate: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if rec := get("/v1/events?status=dead", "k2"); rec.Code != 200 {
		t.Fatalf("another key was held back: %d", rec.Code)
	}
	if rec := get("/healthz", ""); rec.Code != 200 {
		t.Fatalf("healthz limited: %d", rec.Code)
	}
}

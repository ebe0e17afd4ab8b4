package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestPoisonNeverStopsThePipeline sends what once stopped the relay for
// everyone: an 8,000-character SKU, a 3,000-character order id, a 3 MiB
// event and invalid UTF-8 are refused at the door with a 422 naming the
// field; the same kind of values already stored (from before the bounds)
// are quarantined by the relay or left out of the catalog. A misroute
// pushed right after each is detected and contacted as usual, and /readyz
// answers 200 throughout.
func TestPoisonNeverStopsThePipeline(t *testing.T) {
	// Requeueing is for an admin key; the API key reads the quarantine.
	const adminKey = "e2e-admin-key-0123456789"
	prod := newProduction(t, "", `RECOVERY_KEYS={"keys": [{"name": "e2e-admin", "key": "`+adminKey+`", "rights": ["admin"]}]}`)
	prod.start(t)
	base, env, dbURL := prod.base, prod.env, prod.dbURL

	// Readiness, watched all along.
	var notReady atomic.Int64
	var lastBad atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
			resp, err := http.Get(base + "/readyz")
			if err != nil || resp.StatusCode != 200 {
				notReady.Add(1)
				lastBad.Store(fmt.Sprint(resp, err))
			}
			if err == nil {
				resp.Body.Close()
			}
		}
	})
	defer func() { close(stop); wg.Wait() }()

	random := func(n int) string {
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + rng.IntN(26))
		}
		return string(b)
	}
	stock := func(sku string) string {
		return `{"id":"inv-` + fmt.Sprint(time.Now().UnixNano()) + `","source":"poison","type":"inventory.changed","time":"2026-11-20T10:00:00Z","data":{"sku":"` + sku + `","available":1}}`
	}
	order := func(orderID, name string) string {
		return `{"id":"o-` + fmt.Sprint(time.Now().UnixNano()) + `","source":"poison","type":"order.created","time":"2026-11-20T10:00:00Z",
"data":{"order_id":"` + orderID + `","currency":"EUR","total_minor":100,"customer":{"email":"p@example.com","name":"` + name + `"},
"shipping_address":{"postal_code":"10115","country":"DE"},"lines":[{"sku":"A","quantity":1,"unit_price_minor":100}]}}`
	}
	huge := `{"id":"big-1","source":"poison","type":"inventory.changed","time":"2026-11-20T10:00:00Z","data":{"sku":"S","available":1,"note":"` +
		strings.Repeat("x", 3<<20) + `"}}`
	for _, tc := range []struct{ name, body, field string }{
		{"an 8,000-character sku", stock(random(8000)), "data.sku"},
		{"a 3,000-character order id", order(random(3000), "Ada"), "data.order_id"},
		{"a 3 MiB event", huge, "data"},
		{"invalid UTF-8", order("utf-"+fmt.Sprint(time.Now().UnixNano()), "Ada \xff\xfe"), "data.customer.name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := postRaw(t, base, tc.body)
			if code != 422 || !strings.Contains(body, `"field":"`+tc.field+`"`) {
				t.Fatalf("answered %d %.300s, want 422 naming %s", code, body, tc.field)
			}
			misrouteAfter(t, base)
		})
	}

	// The same values stored before ingest bounded them: the relay leaves
	// the SKU out of the catalog and quarantines the order whose id
	// Temporal refuses; the others still flow.
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	longOrder := random(1500)
	for _, row := range []struct{ id, typ, order, data string }{
		{"old-sku", "inventory.changed", "", `{"sku":"` + random(8000) + `","available":1}`},
		{"old-order", "order.created", longOrder, `{"order_id":"` + longOrder + `","currency":"EUR","total_minor":1}`},
	} {
		if _, err := conn.Exec(ctx, `INSERT INTO events (source, id, type, order_id, occurred_at, data) VALUES ('old', $1, $2, $3, now(), $4)`,
			row.id, row.typ, row.order, row.data); err != nil {
			t.Fatal(err)
		}
	}
	misrouteAfter(t, base)
	deadline := time.Now().Add(30 * time.Second)
	var dead struct {
		Events []struct {
			ID string `json:"id"`
		} `json:"events"`
	}
	for {
		dead.Events = nil
		code, body := as(t, e2eKey, base, "GET", "/v1/events?status=dead", nil)
		json.Unmarshal([]byte(body), &dead) //nolint:errcheck
		if code == 200 && len(dead.Events) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("dead events: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var kind string
	var attempts int
	conn.QueryRow(ctx, `SELECT error_kind, attempts FROM events WHERE id = 'old-order'`).Scan(&kind, &attempts) //nolint:errcheck
	if kind != "invalid-argument" || attempts != 1 {
		t.Fatalf("the long order id: kind %q after %d attempts, want invalid-argument after 1", kind, attempts)
	}
	var pending int
	conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE relayed_at IS NULL AND dead_at IS NULL`).Scan(&pending) //nolint:errcheck
	if pending != 0 {
		t.Fatalf("%d events still pending: the poison held something back", pending)
	}
	if out := runCLI(t, append(slices.Clone(env), "RECOVERY_OPS_KEY="+adminKey), "events", "dead"); !strings.Contains(out, "old/old-order") || !strings.Contains(out, "1 quarantined event(s)") {
		t.Fatalf("events dead:\n%s", out)
	}
	if out := runCLI(t, append(slices.Clone(env), "RECOVERY_OPS_KEY="+adminKey), "events", "retry", "--dead"); !strings.Contains(out, "requeued 1 event(s)") {
		t.Fatalf("events retry --dead:\n%s", out)
	}
	deadline = time.Now().Add(30 * time.Second)
	for attempts < 2 {
		if time.Now().After(deadline) {
			t.Fatal("the requeued event was not tried again")
		}
		time.Sleep(200 * time.Millisecond)
		conn.QueryRow(ctx, `SELECT attempts FROM events WHERE id = 'old-order' AND dead_at IS NOT NULL`).Scan(&attempts) //nolint:errcheck
	}
	if n := notReady.Load(); n > 0 {
		t.Fatalf("/readyz was not 200 %d times (last %v)", n, lastBad.Load())
	}
}

// misrouteAfter pushes a fresh misroute story and waits for its apology.
func misrouteAfter(t *testing.T, base string) {
	t.Helper()
	orderID := fmt.Sprintf("after-%d", time.Now().UnixNano())
	raw, _ := json.Marshal(map[string]any{"events": demoStory(orderID, time.Now())})
	// A customer of its own: the policy sends repeat claimants to a person.
	raw = bytes.ReplaceAll(raw, []byte("ada@example.com"), []byte("ada+"+orderID+"@example.com"))
	raw = bytes.ReplaceAll(raw, []byte(`"id":"c-7"`), []byte(`"id":"c-`+orderID+`"`))
	if code, body := postRaw(t, base, string(raw)); code != 202 {
		t.Fatalf("misroute push: %d %s", code, body)
	}
	waitIncident(t, base, orderID, "misrouted", 60*time.Second)
}

// postRaw posts events exactly as given (as() would re-encode them).
func postRaw(t *testing.T, base, body string) (int, string) {
	t.Helper()
	return call(t, "POST", base+"/v1/events", e2eKey, "", body)
}

package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is a Signaler that records calls and can fail chosen orders,
// or play a Temporal that does not answer at all.
type recorder struct {
	mu    sync.Mutex
	calls map[string][][]string // order -> each call's event ids
	fail  map[string]bool
	down  bool
	pings int
	last  map[string]recovery.Event // event id -> as last delivered
}

func (r *recorder) SignalOrder(_ context.Context, orderID string, evs []recovery.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return &relay.UnavailableError{Err: errors.New("connection refused")}
	}
	if r.fail[orderID] {
		return errors.New("workflow task backlog")
	}
	ids := make([]string, len(evs))
	for i, e := range evs {
		ids[i] = e.ID
		if r.last == nil {
			r.last = map[string]recovery.Event{}
		}
		r.last[e.ID] = e
	}
	r.calls[orderID] = append(r.calls[orderID], ids)
	return nil
}

func newStore(t *testing.T) *store.Store {
	st := storetest.Open(t)
	return st
}

func ev(id, orderID string) recovery.Event {
	data, _ := json.Marshal(map[string]string{"order_id": orderID, "sku": "X"})
	return recovery.Event{ID: id, Source: "t", Type: recovery.TypeInventoryChanged, Time: time.Now(), Data: data}
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestPassGroupsPerOrderAndMarks(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	st.InsertEvents(ctx, []recovery.Event{ev("1", "a"), ev("2", "b"), ev("3", "a"), ev("4", ""), ev("5", "a")}) //nolint:errcheck
	rec := &recorder{calls: map[string][][]string{}}
	r := relay.New(st, rec, relay.Config{}, quiet)
	n, err := r.Pass(ctx)
	if err != nil || n != 5 {
		t.Fatalf("pass = %d, %v", n, err)
	}
	if got := fmt.Sprint(rec.calls["a"]); got != "[[1 3 5]]" {
		t.Fatalf("order a got %s, want one signal with [1 3 5] in commit order", got)
	}
	if got := fmt.Sprint(rec.calls["b"]); got != "[[2]]" {
		t.Fatalf("order b got %s", got)
	}
	if len(rec.calls) != 2 {
		t.Fatalf("signalled %d orders, want 2 (the event without order_id goes nowhere)", len(rec.calls))
	}
	if p, _ := st.PendingCount(ctx); p != 0 {
		t.Fatalf("pending after pass = %d", p)
	}
	if n, _ := r.Pass(ctx); n != 0 {
		t.Fatalf("second pass claimed %d events; relayed events must not be sent again", n)
	}
}

// passUntil runs passes until cond holds (backoffs make later passes
// find more due), failing after 10 s.
func passUntil(t *testing.T, r *relay.Relay, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		if _, err := r.Pass(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *recorder) Ping(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pings++
	if r.down {
		return errors.New("connection refused")
	}
	return nil
}

func (r *recorder) setDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

func (r *recorder) got(order string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return fmt.Sprint(r.calls[order])
}

// An order whose signal fails is retried after a backoff of its own; the
// other orders go through, and the pass itself does not fail (readiness
// never follows one order down).
func TestFailedSignalIsRetriedAndHoldsNobodyBack(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	st.InsertEvents(ctx, []recovery.Event{ev("1", "ok"), ev("2", "down")}) //nolint:errcheck
	rec := &recorder{calls: map[string][][]string{}, fail: map[string]bool{"down": true}}
	r := relay.New(st, rec, relay.Config{}, quiet)
	if _, err := r.Pass(ctx); err != nil {
		t.Fatalf("a failed signal failed the pass: %v", err)
	}
	if r.Ready(ctx) != nil {
		t.Fatal("one order's failure made the relay unready")
	}
	if p, _ := st.PendingCount(ctx); p != 1 || rec.got("ok") != "[[1]]" {
		t.Fatalf("pending = %d, ok got %s: want the failed order's event pending and the other delivered", p, rec.got("ok"))
	}
	if n, _ := r.Pass(ctx); n != 0 {
		t.Fatalf("the failed event was claimed again at once (%d): it must back off", n)
	}
	rec.mu.Lock()
	rec.fail = nil
	rec.mu.Unlock()
	passUntil(t, r, "the retry", func() bool { return rec.got("down") == "[[2]]" })
	if p, _ := st.PendingCount(ctx); p != 0 || rec.got("ok") != "[[1]]" {
		t.Fatalf("after recovery: pending %d, ok got %s", p, rec.got("ok"))
	}
}

// poisoner refuses, for good, any signal that carries the event "poison".
type poisoner struct{ recorder }

func (p *poisoner) SignalOrder(ctx context.Context, orderID string, evs []recovery.Event) error {
	for _, e := range evs {
		if e.ID == "poison" {
			return &relay.PermanentError{Kind: "invalid-argument", Note: "refused", Err: errors.New("bad argument")}
		}
	}
	return p.recorder.SignalOrder(ctx, orderID, evs)
}

// A permanent failure quarantines the one event that causes it (found by
// sending the order's events one by one), with its reason; the order's
// other events and every other order go through, and it never comes back
// to the head of the queue until ops requeue it.
func TestPoisonEventIsQuarantined(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	st.InsertEvents(ctx, []recovery.Event{ev("1", "a"), ev("poison", "a"), ev("3", "a"), ev("4", "b")}) //nolint:errcheck
	rec := &poisoner{recorder{calls: map[string][][]string{}}}
	r := relay.New(st, rec, relay.Config{}, quiet)
	if n, err := r.Pass(ctx); err != nil || n != 4 {
		t.Fatalf("pass = %d, %v", n, err)
	}
	if rec.got("a") != "[[1] [3]]" || rec.got("b") != "[[4]]" {
		t.Fatalf("a got %s, b got %s: want every event but the poison delivered", rec.got("a"), rec.got("b"))
	}
	dead, err := st.DeadEvents(ctx, 0, 10)
	if err != nil || len(dead) != 1 || dead[0].ID != "poison" || dead[0].ErrorKind != "invalid-argument" ||
		dead[0].Attempts != 1 || dead[0].DeadAt.IsZero() {
		t.Fatalf("dead = %+v, %v", dead, err)
	}
	if p, _ := st.PendingCount(ctx); p != 0 {
		t.Fatalf("pending %d: a quarantined event is not pending", p)
	}
	if n, _ := r.Pass(ctx); n != 0 {
		t.Fatalf("a quarantined event was claimed again (%d)", n)
	}
	if n, err := st.Requeue(ctx, []int64{dead[0].Seq}); err != nil || n != 1 {
		t.Fatalf("requeue = %d, %v", n, err)
	}
	if n, _ := r.Pass(ctx); n != 1 {
		t.Fatalf("the requeued event was not claimed (%d)", n)
	}
	if dead, _ := st.DeadEvents(ctx, 0, 10); len(dead) != 1 {
		t.Fatalf("still poison after the requeue: dead = %+v", dead)
	}
}

// One order's events are split across signals by size.
func TestLargeGroupsAreSplitBySize(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	big := func(id string) recovery.Event {
		data, _ := json.Marshal(map[string]string{"order_id": "a", "sku": "X", "note": strings.Repeat("n", 200<<10)})
		return recovery.Event{ID: id, Source: "t", Type: recovery.TypeInventoryChanged, Time: time.Now(), Data: data}
	}
	st.InsertEvents(ctx, []recovery.Event{big("1"), big("2"), big("3"), ev("4", "a")}) //nolint:errcheck
	rec := &recorder{calls: map[string][][]string{}}
	if _, err := relay.New(st, rec, relay.Config{}, quiet).Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if got := rec.got("a"); got != "[[1 2] [3 4]]" {
		t.Fatalf("a got %s, want signals of at most %d KiB, in order", got, relay.MaxSignalBytes>>10)
	}
}

// A relay that dies between claiming and recording leaves its events to
// the next claim once the lease runs out.
func TestLeaseRunsOut(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	st.InsertEvents(ctx, []recovery.Event{ev("1", "a")}) //nolint:errcheck
	c, err := st.ClaimPending(ctx, 10, 200*time.Millisecond)
	if err != nil || len(c.Events) != 1 {
		t.Fatalf("claim = %+v, %v", c, err)
	}
	if again, _ := st.ClaimPending(ctx, 10, time.Minute); len(again.Events) != 0 {
		t.Fatal("a leased event was claimed twice")
	}
	rec := &recorder{calls: map[string][][]string{}}
	passUntil(t, relay.New(st, rec, relay.Config{}, quiet), "the claim after the lease", func() bool { return rec.got("a") == "[[1]]" })
}

func TestRunWakesOnCommit(t *testing.T) {
	st := newStore(t)
	rec := &recorder{calls: map[string][][]string{}}
	r := relay.New(st, rec, relay.Config{Poll: time.Hour}, quiet) // only NOTIFY can wake it
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Run(ctx) //nolint:errcheck
	deadline := time.Now().Add(10 * time.Second)
	for (r.Ready(ctx) != nil || !r.Listening()) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !r.Listening() {
		t.Fatal("the relay is not listening after 10s")
	}
	st.InsertEvents(ctx, []recovery.Event{ev("w", "woken")}) //nolint:errcheck
	for time.Now().Before(deadline) {
		rec.mu.Lock()
		n := len(rec.calls["woken"])
		rec.mu.Unlock()
		if n == 1 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("relay did not deliver a committed event within 10s without polling")
}

func TestStockChangeWithoutOrderReachesOrdersWithTheSKU(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	order := func(id, sku string) recovery.Event {
		data, _ := json.Marshal(recovery.OrderData{OrderID: id, Currency: "EUR",
			Lines: []recovery.OrderLine{{SKU: "LAMP-01", Quantity: 1}, {SKU: sku, Quantity: 2}}})
		return recovery.Event{ID: "o-" + id, Source: "t", Type: recovery.TypeOrderCreated, Time: time.Now(), Data: data}
	}
	rec := &recorder{calls: map[string][][]string{}}
	r := relay.New(st, rec, relay.Config{}, quiet)
	shipped, _ := json.Marshal(recovery.ShipmentData{OrderID: "d", ShipmentID: "s-1",
		Lines: []recovery.ShipmentLine{{SKU: "BULB-02", Quantity: 2}}})
	cancelled, _ := json.Marshal(recovery.OrderRef{OrderID: "e"})
	st.InsertEvents(ctx, []recovery.Event{order("a", "BULB-02"), order("b", "BULB-02"), order("c", "CHAIR-9"), //nolint:errcheck
		order("d", "BULB-02"), {ID: "ship-d", Source: "t", Type: recovery.TypeShipmentCreated, Time: time.Now(), Data: shipped},
		order("e", "BULB-02"), {ID: "cancel-e", Source: "t", Type: recovery.TypeOrderCancelled, Time: time.Now(), Data: cancelled}})
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	st.InsertEvents(ctx, []recovery.Event{ev("stock", ""), func() recovery.Event { //nolint:errcheck
		data, _ := json.Marshal(recovery.InventoryData{SKU: "BULB-02", Available: 0})
		return recovery.Event{ID: "bulbs", Source: "t", Type: recovery.TypeInventoryChanged, Time: time.Now(), Data: data}
	}()})
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	// Only the orders still waiting for the SKU: not c (another SKU), not
	// d (its bulbs shipped), not e (cancelled).
	for o, want := range map[string]string{"a": "[[o-a] [bulbs]]", "b": "[[o-b] [bulbs]]", "c": "[[o-c]]",
		"d": "[[o-d ship-d]]", "e": "[[o-e cancel-e]]"} {
		if got := fmt.Sprint(rec.calls[o]); got != want {
			t.Errorf("order %s got %s, want %s", o, got, want)
		}
	}
	if p, _ := st.PendingCount(ctx); p != 0 {
		t.Fatalf("pending = %d; the stock change must be marked relayed once every order took it", p)
	}
}

func TestScanBeforeItsShipmentIsAdopted(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	rec := &recorder{calls: map[string][][]string{}}
	r := relay.New(st, rec, relay.Config{}, quiet)
	orphan, _ := json.Marshal(recovery.TrackingData{ShipmentID: "JD42", TrackingNumber: "JD42", Status: "in_transit",
		Location: &recovery.Location{Country: "DE"}})
	st.InsertEvents(ctx, []recovery.Event{{ID: "scan", Source: "aftership", Type: recovery.TypeShipmentTracking, Time: time.Now(), Data: orphan}}) //nolint:errcheck
	if _, err := r.Pass(ctx); err != nil || len(rec.calls) != 0 {
		t.Fatalf("an orphan scan reached %v (%v)", rec.calls, err)
	}
	sh, _ := json.Marshal(recovery.ShipmentData{OrderID: "o9", ShipmentID: "s-1", TrackingNumber: "JD42"})
	st.InsertEvents(ctx, []recovery.Event{{ID: "ship", Source: "shop", Type: recovery.TypeShipmentCreated, Time: time.Now(), Data: sh}}) //nolint:errcheck
	for range 2 {
		if _, err := r.Pass(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := fmt.Sprint(rec.calls["o9"]); got != "[[ship] [scan]]" {
		t.Fatalf("order o9 got %s, want the shipment then the adopted scan", got)
	}
	var d recovery.TrackingData
	json.Unmarshal(rec.last["scan"].Data, &d) //nolint:errcheck
	if d.OrderID != "o9" || d.ShipmentID != "s-1" || d.TrackingNumber != "JD42" || rec.last["scan"].Subject != "order/o9" {
		t.Fatalf("adopted scan %+v / %s: want order o9, shipment s-1", d, rec.last["scan"].Subject)
	}
	if p, _ := st.PendingCount(ctx); p != 0 {
		t.Fatalf("pending %d", p)
	}
}

// While Temporal does not answer, events wait without spending attempts,
// the relay says so in its health, and when Temporal returns everything
// goes through at once.
func TestTemporalDownKeepsEverythingUntilItReturns(t *testing.T) {
	st := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st.InsertEvents(ctx, []recovery.Event{ev("1", "a"), ev("2", "b")}) //nolint:errcheck
	rec := &recorder{calls: map[string][][]string{}, down: true}
	r := relay.New(st, rec, relay.Config{Poll: 50 * time.Millisecond}, quiet)
	go r.Run(ctx) //nolint:errcheck
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec.mu.Lock()
		pings := rec.pings
		rec.mu.Unlock()
		if pings >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the relay does not probe Temporal while it is down")
		}
		time.Sleep(20 * time.Millisecond)
	}
	err := r.Ready(ctx)
	var he relay.HealthError
	if !errors.As(err, &he) || !strings.Contains(he.Public(), "waiting for Temporal") {
		t.Fatalf("ready = %v, want a health error that says it waits for Temporal", err)
	}
	var attempts int
	st.Pool().QueryRow(ctx, `SELECT coalesce(max(attempts), 0) FROM events`).Scan(&attempts) //nolint:errcheck
	if attempts != 0 {
		t.Fatalf("attempts %d: an outage must not spend the events' attempts", attempts)
	}
	rec.setDown(false)
	for rec.got("a") != "[[1]]" || rec.got("b") != "[[2]]" {
		if time.Now().After(deadline) {
			t.Fatalf("after Temporal returned: a %s, b %s", rec.got("a"), rec.got("b"))
		}
		time.Sleep(20 * time.Millisecond)
	}
	for r.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("ready after Temporal returned: %v", r.Ready(ctx))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

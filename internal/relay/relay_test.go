package relay_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// recorder is a Signaler that records calls and can fail chosen orders.
type recorder struct {
	mu    sync.Mutex
	calls map[string][][]string // order -> each call's event ids
	fail  map[string]bool
	last  map[string]recovery.Event // event id -> as last delivered
}

func (r *recorder) SignalOrder(_ context.Context, orderID string, evs []recovery.Event) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail[orderID] {
		return errors.New("temporal unavailable")
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
	st, err := store.Open(context.Background(), pgtest.URL(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
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

func TestFailedSignalStaysPending(t *testing.T) {
	st := newStore(t)
	ctx := context.Background()
	st.InsertEvents(ctx, []recovery.Event{ev("1", "ok"), ev("2", "down")}) //nolint:errcheck
	rec := &recorder{calls: map[string][][]string{}, fail: map[string]bool{"down": true}}
	r := relay.New(st, rec, relay.Config{}, quiet)
	if _, err := r.Pass(ctx); err == nil {
		t.Fatal("a failed signal must be reported")
	}
	if p, _ := st.PendingCount(ctx); p != 1 {
		t.Fatalf("pending = %d, want the failed order's event", p)
	}
	rec.fail = nil
	if _, err := r.Pass(ctx); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(rec.calls["down"]) != "[[2]]" || len(rec.calls["ok"]) != 1 {
		t.Fatalf("after recovery: %v", rec.calls)
	}
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
	st.InsertEvents(ctx, []recovery.Event{order("a", "BULB-02"), order("b", "BULB-02"), order("c", "CHAIR-9")}) //nolint:errcheck
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
	for o, want := range map[string]string{"a": "[[o-a] [bulbs]]", "b": "[[o-b] [bulbs]]", "c": "[[o-c]]"} {
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

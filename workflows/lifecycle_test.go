package workflows

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// lifecycle runs OrderWorkflow over a store shared between runs, with the
// real RecoveryWorkflow for its incidents.
type lifecycle struct {
	st   *recoverytest.MemStore
	sink *messaging.MemorySink
	cfg  recovery.DetectionConfig
}

func newLifecycle() *lifecycle {
	cfg := recovery.DefaultDetection()
	cfg.OrderIdle, cfg.HealWindow = 24*time.Hour, 48*time.Hour
	return &lifecycle{st: recoverytest.NewMemStore(), sink: &messaging.MemorySink{}, cfg: cfg}
}

// run starts a fresh run, signals each batch at its offset, and returns
// how long the run lasted and how it ended; a run still going at limit is
// cancelled.
func (l *lifecycle) run(t *testing.T, limit time.Duration, batches map[time.Duration][]recovery.Event) (time.Duration, error, bool) {
	t.Helper()
	env := quietSuite().NewTestWorkflowEnvironment()
	registerActivities(env, &activities.Activities{Store: l.st, Remedies: l.st, Outbox: l.st,
		Messenger: &messaging.Capture{Sink: l.sink}, Detection: l.cfg})
	env.RegisterWorkflow(RecoveryWorkflow)
	for at, evs := range batches {
		evs := evs
		env.RegisterDelayedCallback(func() {
			l.st.Record(evs...)
			env.SignalWorkflow(SignalEvents, EventsSignal{Events: evs})
		}, at)
	}
	cancelled := false
	env.RegisterDelayedCallback(func() { cancelled = true; env.CancelWorkflow() }, limit)
	start := env.Now()
	env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	return env.Now().Sub(start), env.GetWorkflowError(), !cancelled
}

// A delivered order's workflow completes once it was idle for
// RECOVERY_ORDER_IDLE, keeping its projection; a late scan starts a new
// run that still knows the order (where it ships) and opens the right
// incident.
func TestFinishedOrderCompletesAndALateScanResumesIt(t *testing.T) {
	l := newLifecycle()
	deliveredAt := t0.Add(30 * time.Hour)
	took, err, completed := l.run(t, 60*24*time.Hour, map[time.Duration][]recovery.Event{
		time.Minute:    {farOrder(), shipmentCreated(), scan("pick", "picked_up", "DE", "04103", t0.Add(2*time.Hour))},
		30 * time.Hour: {scan("done", "delivered", "DE", "10115", deliveredAt)},
	})
	if err != nil || !completed {
		t.Fatalf("the delivered order's workflow did not complete: %v (after %s)", err, took)
	}
	// Idle for a day after the last event, not before.
	if took < 54*time.Hour || took > 55*time.Hour {
		t.Fatalf("completed after %s, want a day after the delivery at 30h", took)
	}
	raw := l.st.OrderStates["1001"]
	var saved OrderState
	if err := json.Unmarshal(raw, &saved); err != nil || saved.Order == nil || saved.Order.ShippingAddress.PostalCode != "10115" ||
		!saved.terminal() || len(saved.Seen) != 4 {
		t.Fatalf("projection = %s (%v)", raw, err)
	}
	if saved.Order.Customer.Email != "" {
		t.Fatalf("the projection names the customer: %s", raw)
	}

	// The carrier's late word: delivered, but in another postal code.
	late := scan("late", "delivered", "DE", "80331", deliveredAt.Add(time.Hour))
	_, err, completed = l.run(t, 10*24*time.Hour, map[time.Duration][]recovery.Event{
		time.Minute:     {late},
		2 * time.Minute: {scan("done", "delivered", "DE", "10115", deliveredAt)}, // a re-send: still seen
	})
	if err != nil || !completed {
		t.Fatalf("the resumed run did not complete: %v", err)
	}
	var misrouted []recovery.Incident
	for _, inc := range l.st.Incidents {
		misrouted = append(misrouted, inc)
	}
	if len(misrouted) != 1 || misrouted[0].Kind != recovery.KindMisrouted || misrouted[0].Evidence[0] != "late" {
		t.Fatalf("incidents after the late scan: %+v, want one misrouted on its evidence", misrouted)
	}
	// The incident's end let the order finish again, with it.
	json.Unmarshal(l.st.OrderStates["1001"], &saved) //nolint:errcheck
	if len(saved.Incidents) != 1 || saved.Applied != 5 {
		t.Fatalf("second projection: %d incidents, %d events", len(saved.Incidents), saved.Applied)
	}
}

// An order with an incident still running does not complete, whatever its
// idle time: the incident may need it (a heal, its end).
func TestOrderWaitsForItsIncidents(t *testing.T) {
	l := newLifecycle()
	l.cfg.HealWindow = 10 * 24 * time.Hour
	took, err, completed := l.run(t, 60*24*time.Hour, map[time.Duration][]recovery.Event{
		time.Minute:    {farOrder(), shipmentCreated(), exception("dmg", recovery.ExceptionDamaged, t0.Add(2*time.Hour))},
		48 * time.Hour: {scan("done", "delivered", "DE", "10115", t0.Add(48*time.Hour))},
	})
	if err != nil || !completed {
		t.Fatalf("did not complete: %v", err)
	}
	var inc recovery.Incident
	for _, i := range l.st.Incidents {
		inc = i
	}
	if inc.Kind != recovery.KindCarrierException || inc.Status != recovery.IncidentResolved {
		t.Fatalf("incident = %+v, want a resolved carrier exception", inc)
	}
	// A damaged parcel never heals, even when delivered: its workflow
	// listens out the heal window; the order completes after that, not a
	// day after its last event.
	// Its last event was two days in, so the idle day is long over: it
	// completes as soon as the incident has ended.
	if took < 10*24*time.Hour || took > 10*24*time.Hour+time.Hour {
		t.Fatalf("completed after %s, want just after its incident's heal window ended (10 days)", took)
	}
}

// Seen keeps the newest keys only: a long-lived order's state stays small.
func TestSeenIsBounded(t *testing.T) {
	st := newState("1001")
	st.boundSeen = true
	for i := range maxSeen + 500 {
		if _, _, ok := st.apply(mkEvent(fmt.Sprintf("e%d", i), recovery.TypeInventoryChanged, t0,
			recovery.InventoryData{OrderID: "1001", SKU: "A", Available: int64(i)})); !ok {
			t.Fatalf("event %d refused", i)
		}
	}
	if len(st.Seen) != maxSeen || len(st.SeenOrder) != maxSeen || st.Seen["test\x00e0"] || !st.Seen[fmt.Sprintf("test\x00e%d", maxSeen+499)] {
		t.Fatalf("seen %d keys (%d in order)", len(st.Seen), len(st.SeenOrder))
	}
	if _, _, ok := st.apply(mkEvent(fmt.Sprintf("e%d", maxSeen+499), recovery.TypeInventoryChanged, t0,
		recovery.InventoryData{OrderID: "1001", SKU: "A"})); ok {
		t.Fatal("a recent re-send was applied twice")
	}
}

// An order.updated older than what the order already knows changes
// nothing, whatever order the events arrive in.
func TestOrderUpdatesFollowEventTime(t *testing.T) {
	p1, p2, p0 := t0.Add(72*time.Hour), t0.Add(96*time.Hour), t0.Add(48*time.Hour)
	created := orderCreated(p1)
	newer := mkEvent("u2", recovery.TypeOrderUpdated, t0.Add(2*time.Hour), map[string]any{"order_id": "1001", "promised_delivery": p2})
	stale := mkEvent("u1", recovery.TypeOrderUpdated, t0.Add(time.Hour), map[string]any{"order_id": "1001",
		"promised_delivery": p0, "total_minor": 1})
	for _, byTime := range []bool{true, false} {
		st := newState("1001")
		st.orderByTime = byTime
		for _, e := range []recovery.Event{newer, created, stale} { // arrival order
			st.apply(e)
		}
		promise := st.Order.PromisedDelivery
		switch {
		case byTime && (promise == nil || !promise.Equal(p2) || st.Order.TotalMinor != 1 || st.Order.Currency != "EUR"):
			t.Errorf("by event time: promise %v, total %d, currency %q; want the newer promise, the stale update's total (nothing newer set it), EUR",
				promise, st.Order.TotalMinor, st.Order.Currency)
		case !byTime && (promise == nil || !promise.Equal(p0)):
			t.Errorf("by arrival (older histories): promise %v, want the last to arrive", promise)
		}
	}
}

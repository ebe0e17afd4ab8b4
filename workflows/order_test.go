package workflows

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

var t0 = time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)

func mkEvent(id, typ string, at time.Time, data any) recovery.Event {
	raw, _ := json.Marshal(data)
	return recovery.Event{ID: id, Source: "test", Type: typ, Time: at, Data: raw}
}

func orderCreated(promise time.Time) recovery.Event {
	return mkEvent("o1", recovery.TypeOrderCreated, t0, recovery.OrderData{OrderID: "1001", Currency: "EUR", TotalMinor: 8999,
		PromisedDelivery: &promise, Customer: recovery.Customer{Email: "ada@example.com", Locale: "de-DE"},
		ShippingAddress: recovery.Location{PostalCode: "10115", Country: "DE"},
		Lines:           []recovery.OrderLine{{SKU: "LAMP-01", Quantity: 1, UnitPriceMinor: 8999}}})
}

func shipmentCreated() recovery.Event {
	return mkEvent("s1", recovery.TypeShipmentCreated, t0.Add(time.Hour), recovery.ShipmentData{OrderID: "1001",
		ShipmentID: "s-1", Origin: &recovery.Location{Country: "DE", PostalCode: "04103"}})
}

func scan(id, status, country, postal string, at time.Time) recovery.Event {
	return mkEvent(id, recovery.TypeShipmentTracking, at, recovery.TrackingData{OrderID: "1001", ShipmentID: "s-1",
		Status: status, Location: &recovery.Location{Country: country, PostalCode: postal}})
}

// started is one RecoveryWorkflow the OrderWorkflow started.
type started struct {
	WorkflowID string
	In         RecoveryInput
	At         time.Time
}

// harness runs OrderWorkflow in the test environment with the child
// workflow mocked and recorded.
type harness struct {
	env     *testsuite.TestWorkflowEnvironment
	mu      sync.Mutex
	started []started
	heals   map[string]HealSignal
}

func newHarness(t *testing.T) *harness {
	return newHarnessWith(t, recovery.DefaultDetection())
}

func newHarnessWith(t *testing.T, cfg recovery.DetectionConfig) *harness {
	var suite testsuite.WorkflowTestSuite
	h := &harness{env: suite.NewTestWorkflowEnvironment(), heals: map[string]HealSignal{}}
	h.env.SetStartTime(t0)
	h.env.RegisterActivity(&activities.Activities{Detection: cfg})
	// A stand-in registered under RecoveryWorkflow's name records each
	// start and, like the real one, stays open to hear of a heal.
	h.env.RegisterWorkflowWithOptions(func(ctx workflow.Context, in RecoveryInput) (RecoveryResult, error) {
		id := workflow.GetInfo(ctx).WorkflowExecution.ID
		h.mu.Lock()
		h.started = append(h.started, started{id, in, workflow.Now(ctx)})
		h.mu.Unlock()
		var heal HealSignal
		if ok, _ := workflow.GetSignalChannel(ctx, SignalHeal).ReceiveWithTimeout(ctx, 1000*time.Hour, &heal); ok {
			h.mu.Lock()
			h.heals[id] = heal
			h.mu.Unlock()
		}
		return RecoveryResult{IncidentID: in.Incident.ID, Healed: heal.Reason}, nil
	}, workflow.RegisterOptions{Name: "RecoveryWorkflow"})
	return h
}

// signal delivers events at the given offset from the start.
func (h *harness) signal(after time.Duration, evs ...recovery.Event) {
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalEvents, EventsSignal{Events: evs})
	}, after)
}

// run executes the workflow until the given offset, then cancels it.
func (h *harness) run(t *testing.T, until time.Duration) {
	t.Helper()
	h.env.RegisterDelayedCallback(h.env.CancelWorkflow, until)
	h.env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	if err := h.env.GetWorkflowError(); err != nil && !errors.Is(err, workflow.ErrCanceled) && !isCanceled(err) {
		t.Fatalf("workflow error: %v", err)
	}
}

func isCanceled(err error) bool {
	var ce interface{ Error() string }
	return errors.As(err, &ce) && (ce.Error() == "canceled" || ce.Error() == "context canceled")
}

func (h *harness) kinds() []string {
	var out []string
	for _, s := range h.started {
		out = append(out, string(s.In.Incident.Kind)+"@"+s.In.Incident.ShipmentID)
	}
	return out
}

func TestMisrouteOpensOneIncidentEvenWhenRepeated(t *testing.T) {
	h := newHarness(t)
	promise := t0.Add(96 * time.Hour)
	pl := scan("scan-pl", "in_transit", "PL", "60-001", t0.Add(3*time.Hour))
	h.signal(time.Minute, orderCreated(promise), shipmentCreated(), scan("scan-1", "picked_up", "DE", "04103", t0.Add(2*time.Hour)), pl)
	h.signal(2*time.Minute, pl)                                                           // the relay sent it again
	h.signal(3*time.Minute, scan("scan-cz", "in_transit", "CZ", "", t0.Add(4*time.Hour))) // still the same incident
	h.run(t, time.Hour)
	if len(h.started) != 1 {
		t.Fatalf("started %v, want exactly one misroute incident", h.kinds())
	}
	s := h.started[0]
	if s.WorkflowID != "incident/1001/s-1/misrouted" || s.In.Incident.ID != IncidentID("1001", "s-1", recovery.KindMisrouted, 1) {
		t.Fatalf("child id %s / incident %s", s.WorkflowID, s.In.Incident.ID)
	}
	if len(s.In.Incident.Evidence) != 1 || s.In.Incident.Evidence[0] != "scan-pl" || s.In.Order.TotalMinor != 8999 {
		t.Fatalf("incident = %+v", s.In.Incident)
	}
}

func TestLateFiresAtThePromise(t *testing.T) {
	h := newHarnessWith(t, lateOnly())
	promise := t0.Add(72 * time.Hour)
	h.signal(time.Minute, orderCreated(promise), shipmentCreated(), scan("scan-1", "in_transit", "DE", "", t0.Add(2*time.Hour)))
	h.run(t, 100*time.Hour)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindLate {
		t.Fatalf("started %v, want one late incident", h.kinds())
	}
	if at := h.started[0].At; at.Before(promise) || at.After(promise.Add(time.Minute)) {
		t.Fatalf("late incident opened at %s, promise was %s", at, promise)
	}
	if ev := h.started[0].In.Incident.Evidence; len(ev) != 1 || ev[0] != "o1" {
		t.Fatalf("evidence = %v, want the order event that set the promise", ev)
	}
}

func TestDeliveryBeforePromiseCancelsLate(t *testing.T) {
	h := newHarness(t)
	promise := t0.Add(72 * time.Hour)
	h.signal(time.Minute, orderCreated(promise), shipmentCreated())
	h.signal(48*time.Hour, scan("scan-d", "delivered", "DE", "10115", t0.Add(48*time.Hour)))
	h.run(t, 200*time.Hour)
	if len(h.started) != 0 {
		t.Fatalf("a correct journey opened %v", h.kinds())
	}
}

func TestMovedPromiseRearmsLate(t *testing.T) {
	h := newHarnessWith(t, lateOnly())
	promise, later := t0.Add(24*time.Hour), t0.Add(96*time.Hour)
	h.signal(time.Minute, orderCreated(promise), shipmentCreated())
	h.signal(time.Hour, mkEvent("u1", recovery.TypeOrderUpdated, t0.Add(time.Hour),
		map[string]any{"order_id": "1001", "promised_delivery": later}))
	h.run(t, 200*time.Hour)
	if len(h.started) != 1 {
		t.Fatalf("started %v, want one late incident", h.kinds())
	}
	if at := h.started[0].At; at.Before(later) {
		t.Fatalf("late fired at %s, before the moved promise %s", at, later)
	}
}

func TestCancelledOrderOpensNothing(t *testing.T) {
	h := newHarness(t)
	h.signal(time.Minute, orderCreated(t0.Add(24*time.Hour)), shipmentCreated())
	h.signal(time.Hour, mkEvent("c1", recovery.TypeOrderCancelled, t0.Add(time.Hour), recovery.OrderRef{OrderID: "1001"}))
	h.signal(2*time.Hour, scan("scan-pl", "in_transit", "PL", "", t0.Add(2*time.Hour)))
	h.run(t, 100*time.Hour)
	if len(h.started) != 0 {
		t.Fatalf("cancelled order opened %v", h.kinds())
	}
}

func TestScanBeforeOrderIsJudgedWhenTheOrderArrives(t *testing.T) {
	h := newHarness(t)
	h.signal(time.Minute, shipmentCreated(), scan("scan-pl", "in_transit", "PL", "", t0.Add(3*time.Hour)))
	h.signal(time.Hour, orderCreated(t0.Add(96*time.Hour)))
	h.run(t, 2*time.Hour)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindMisrouted {
		t.Fatalf("started %v, want the misroute once the order is known", h.kinds())
	}
}

func TestContinueAsNewKeepsState(t *testing.T) {
	old := signalsPerRun
	signalsPerRun = 10
	defer func() { signalsPerRun = old }()
	h := newHarnessWith(t, lateOnly())
	h.signal(time.Minute, orderCreated(t0.Add(96*time.Hour)), shipmentCreated())
	for i := range 10 {
		h.signal(time.Duration(2+i)*time.Minute, scan("scan-"+string(rune('a'+i)), "in_transit", "DE", "", t0.Add(2*time.Hour)))
	}
	h.env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next OrderInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	if next.State == nil || next.State.Order == nil || next.State.Order.TotalMinor != 8999 || !next.State.Seen["test\x00o1"] {
		t.Fatalf("carried state lost the order or the seen events: %+v", next.State)
	}
	// The next run still fires the late timer from the carried promise.
	h2 := newHarness(t)
	h2.env.RegisterDelayedCallback(h2.env.CancelWorkflow, 200*time.Hour)
	h2.env.ExecuteWorkflow(OrderWorkflow, next)
	if len(h2.started) != 1 || h2.started[0].In.Incident.Kind != recovery.KindLate {
		t.Fatalf("after continue-as-new started %v, want the late incident", h2.kinds())
	}
}

// lateOnly is the default detection without the stall and pickup limits,
// for tests about the promise alone.
func lateOnly() recovery.DetectionConfig {
	c := recovery.DefaultDetection()
	c.DefaultStall, c.PickupLimit = 0, 0
	return c
}

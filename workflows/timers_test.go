package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// stallOnly is the default detection: stalls (72 h) and pickups (48 h).
// The promise is always watched; tests that use this give the order one
// beyond their horizon (farOrder).
func stallOnly() recovery.DetectionConfig { return recovery.DefaultDetection() }

// farOrder is an order whose promise lies beyond every test's horizon.
func farOrder() recovery.Event { return orderCreated(t0.Add(90 * 24 * time.Hour)) }

func (h *harness) startedAt(kind recovery.Kind) (time.Time, bool) {
	for _, s := range h.started {
		if s.In.Incident.Kind == kind {
			return s.At, true
		}
	}
	return time.Time{}, false
}

func TestStallFiresAtTheLimitFromTheLastScan(t *testing.T) {
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	// A scan at 50 h restarts the 72 h limit: the stall is due at 122 h, not 74 h.
	h.signal(50*time.Hour, scan("b", "in_transit", "DE", "06108", t0.Add(50*time.Hour)))
	h.run(t, 200*time.Hour)
	at, ok := h.startedAt(recovery.KindStalled)
	if !ok || len(h.started) != 1 {
		t.Fatalf("started %v, want one stall", h.kinds())
	}
	if want := t0.Add(122 * time.Hour); at.Before(want) || at.After(want.Add(2*time.Second)) {
		t.Fatalf("stall opened at %s, want %s (72 h after the last scan)", at, want)
	}
	inc := h.started[0].In.Incident
	if inc.Evidence[0] != "b" || inc.ShipmentID != "s-1" {
		t.Fatalf("stall incident %+v, want the last scan as evidence", inc)
	}
}

func TestStallIsCancelledByDelivery(t *testing.T) {
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(60*time.Hour, scan("d", "delivered", "DE", "10115", t0.Add(60*time.Hour)))
	h.run(t, 400*time.Hour)
	if len(h.started) != 0 {
		t.Fatalf("started %v after a delivery, want nothing", h.kinds())
	}
}

func TestStallHealsWhenTheParcelMovesAgain(t *testing.T) {
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(80*time.Hour, scan("b", "in_transit", "DE", "06108", t0.Add(79*time.Hour)))
	h.run(t, 100*time.Hour)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindStalled {
		t.Fatalf("started %v, want the stall", h.kinds())
	}
	wf := h.started[0].WorkflowID
	if got, ok := h.heals[wf]; !ok || got.EventID != "b" {
		t.Fatalf("heals %v, want %s healed by scan b", h.heals, wf)
	}
}

func TestStallLimitsPerLaneInBusinessDays(t *testing.T) {
	cfg := stallOnly()
	cfg.Stall = []recovery.StallLimit{{Carrier: "dhl", Limit: 24 * time.Hour, BusinessDays: true}}
	h := newHarnessWith(t, cfg)
	friday := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC) // t0 is Friday 09:00
	sc := mkEvent("a", recovery.TypeShipmentTracking, friday, recovery.TrackingData{OrderID: "1001", ShipmentID: "s-1",
		Carrier: "dhl", Status: "in_transit", Location: &recovery.Location{Country: "DE"}})
	h.signal(time.Minute, farOrder(), shipmentCreated(), sc)
	h.run(t, 200*time.Hour)
	at, ok := h.startedAt(recovery.KindStalled)
	want := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) // Monday noon: the weekend does not count
	if !ok || at.Before(want) || at.After(want.Add(2*time.Second)) {
		t.Fatalf("stall at %s (found %v), want %s", at, ok, want)
	}
}

func TestNotPickedUp(t *testing.T) {
	for _, tc := range []struct {
		name   string
		pickup bool
	}{{"no pickup", false}, {"picked up in time", true}} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := stallOnly()
			cfg.DefaultStall = 0
			h := newHarnessWith(t, cfg)
			h.signal(time.Minute, farOrder(), shipmentCreated()) // label at t0+1h
			if tc.pickup {
				h.signal(20*time.Hour, scan("p", "picked_up", "DE", "04103", t0.Add(20*time.Hour)))
			}
			h.run(t, 200*time.Hour)
			at, ok := h.startedAt(recovery.KindNotPickedUp)
			if ok == tc.pickup {
				t.Fatalf("started %v", h.kinds())
			}
			if want := t0.Add(49 * time.Hour); ok && (at.Before(want) || at.After(want.Add(2*time.Second))) {
				t.Fatalf("not_picked_up at %s, want %s", at, want)
			}
		})
	}
}

func TestCancelledOrderStopsEveryTimer(t *testing.T) {
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, orderCreated(t0.Add(30*time.Hour)), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(10*time.Hour, mkEvent("c", recovery.TypeOrderCancelled, t0.Add(10*time.Hour), recovery.OrderRef{OrderID: "1001"}))
	h.run(t, 400*time.Hour)
	if len(h.started) != 0 {
		t.Fatalf("started %v for a cancelled order", h.kinds())
	}
}

func TestStallSurvivesContinueAsNew(t *testing.T) {
	old := signalsPerRun
	signalsPerRun = 2
	defer func() { signalsPerRun = old }()
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated())
	h.signal(2*time.Minute, scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	var can *workflow.ContinueAsNewError
	if err := h.env.GetWorkflowError(); !asContinueAsNew(err, &can) {
		t.Fatalf("workflow error %v, want continue-as-new", err)
	}
	var next OrderInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	h2 := newHarnessWith(t, recovery.DetectionConfig{}) // the carried config must win
	h2.env.SetStartTime(t0.Add(3 * time.Minute))
	h2.env.RegisterDelayedCallback(h2.env.CancelWorkflow, 200*time.Hour)
	h2.env.ExecuteWorkflow(OrderWorkflow, next)
	at, ok := h2.startedAt(recovery.KindStalled)
	if want := t0.Add(74 * time.Hour); !ok || at.Before(want) || at.After(want.Add(2*time.Second)) {
		t.Fatalf("after continue-as-new: stall at %s (found %v), want %s; started %v", at, ok, want, h2.kinds())
	}
}

func TestOlderScanAfterHealDoesNotReopen(t *testing.T) {
	h := newHarnessWith(t, lateOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated(), scan("pl", "in_transit", "PL", "", t0.Add(3*time.Hour)))
	h.signal(time.Hour, scan("ok", "delivered", "DE", "10115", t0.Add(30*time.Hour)))
	// An older third-country scan and a failed attempt arrive late: history, not news.
	h.signal(2*time.Hour, scan("cz", "in_transit", "CZ", "", t0.Add(4*time.Hour)),
		scan("fa", "failed_attempt", "DE", "10115", t0.Add(20*time.Hour)))
	h.run(t, 10*time.Hour)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindMisrouted {
		t.Fatalf("started %v, want only the first misroute", h.kinds())
	}
	if got := h.heals[h.started[0].WorkflowID]; got.Reason != "delivered to the right address" || got.EventID != "ok" {
		t.Fatalf("heal %+v, want delivered to the right address by ok", got)
	}
}

func TestProblemThatComesBackOpensASecondIncident(t *testing.T) {
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(80*time.Hour, scan("b", "in_transit", "DE", "06108", t0.Add(80*time.Hour))) // heals the first stall
	h.run(t, 160*time.Hour)                                                              // stalls again at 152 h
	if len(h.started) != 2 || h.started[1].In.Incident.Kind != recovery.KindStalled {
		t.Fatalf("started %v, want two stalls", h.kinds())
	}
	if h.started[0].In.Incident.ID == h.started[1].In.Incident.ID || h.started[1].WorkflowID != "incident/1001/s-1/stalled/2" {
		t.Fatalf("second stall %s / %s must be its own incident", h.started[1].In.Incident.ID, h.started[1].WorkflowID)
	}
}

func TestStatusKinds(t *testing.T) {
	for _, tc := range []struct {
		status, code string
		want         recovery.Kind
	}{
		{"returned_to_sender", "", recovery.KindReturnedToSender},
		{"lost", "", recovery.KindLost},
		{"exception", "damaged", recovery.KindCarrierException},
		{"exception", "customs_hold", recovery.KindCarrierException},
		{"failed_attempt", "", recovery.KindCarrierException},
		{"exception", "misrouted", ""}, // DetectMisroute's
		{"in_transit", "", ""},
	} {
		f, ok := DetectStatus(&Shipment{ID: "s-1"}, Scan{EventID: "e", Status: tc.status, ExceptionCode: tc.code})
		if f.Kind != tc.want || ok != (tc.want != "") {
			t.Errorf("%s/%s: got %q, want %q", tc.status, tc.code, f.Kind, tc.want)
		}
	}
}

func TestWrongItemAndOutOfStock(t *testing.T) {
	s := newState("1001")
	s.Order = berlinOrder()
	s.Order.Lines = []recovery.OrderLine{{SKU: "LAMP-01", Quantity: 1}, {SKU: "BULB-02", Quantity: 2}}
	sh := s.shipment("s-1")
	sh.CreatedEvent, sh.Lines = "sc", []recovery.ShipmentLine{{SKU: "LAMP-01", Quantity: 1}}
	if _, ok := DetectWrongItem(s.Order, s, sh); ok {
		t.Fatal("a partial shipment of ordered items is not wrong")
	}
	sh.Lines = []recovery.ShipmentLine{{SKU: "LAMP-01", Quantity: 1}, {SKU: "CHAIR-9", Quantity: 1}}
	if f, ok := DetectWrongItem(s.Order, s, sh); !ok || f.Evidence[0] != "sc" {
		t.Fatalf("an unordered SKU must be wrong_item: %+v", f)
	}
	sh.Lines = []recovery.ShipmentLine{{SKU: "LAMP-01", Quantity: 2}}
	if _, ok := DetectWrongItem(s.Order, s, sh); !ok {
		t.Fatal("more than ordered must be wrong_item")
	}
	sh.Lines = []recovery.ShipmentLine{{SKU: "LAMP-01", Quantity: 1}}
	s.Stock["BULB-02"] = StockLevel{Available: 1, EventID: "inv", Time: t0}
	if f, ok := DetectOutOfStock(s); !ok || f.Evidence[0] != "inv" || f.ShipmentID != "" {
		t.Fatalf("two ordered, one available: %+v", f)
	}
	s.Stock["LAMP-01"] = StockLevel{Available: 0, EventID: "inv2", Time: t0}
	s.Stock["BULB-02"] = StockLevel{Available: 5, EventID: "inv3", Time: t0.Add(time.Hour)}
	if f, ok := DetectOutOfStock(s); ok {
		t.Fatalf("a shipped line cannot run out of stock: %+v", f)
	}
}

func TestMoveAway(t *testing.T) {
	lat := func(v float64) *float64 { return &v }
	order := berlinOrder()
	order.ShippingAddress.Lat, order.ShippingAddress.Lng = lat(52.53), lat(13.38) // Berlin
	sh := &Shipment{ID: "s-1", Scans: []Scan{{EventID: "halle", Time: t0, Lat: lat(51.48), Lng: lat(11.97)}}}
	munich := Scan{EventID: "munich", Time: t0.Add(time.Hour), Lat: lat(48.14), Lng: lat(11.58)}
	if f, ok := DetectMoveAway(order, sh, munich, 150); !ok || f.Evidence[0] != "munich" {
		t.Fatalf("Halle then Munich, going to Berlin, is moving away: %+v", f)
	}
	potsdam := Scan{EventID: "potsdam", Time: t0.Add(time.Hour), Lat: lat(52.39), Lng: lat(13.06)}
	if _, ok := DetectMoveAway(order, sh, potsdam, 150); ok {
		t.Fatal("closer is not away")
	}
	order.ShippingAddress.Lat = nil
	if _, ok := DetectMoveAway(order, sh, munich, 150); ok {
		t.Fatal("without the destination's coordinates there is no rule")
	}
}

func TestAddBusiness(t *testing.T) {
	fri := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		from time.Time
		d    time.Duration
		want time.Time
	}{
		{fri, 24 * time.Hour, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)},
		{fri, 6 * time.Hour, fri.Add(6 * time.Hour)},
		{time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC), time.Hour, time.Date(2026, 11, 23, 1, 0, 0, 0, time.UTC)},
		{fri, 72 * time.Hour, time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)},
	} {
		if got := recovery.AddBusiness(tc.from, tc.d); !got.Equal(tc.want) {
			t.Errorf("AddBusiness(%s, %s) = %s, want %s", tc.from, tc.d, got, tc.want)
		}
	}
}

// Healing in the incident workflow: before contact nothing is sent; after
// it, one short follow-up.
func TestRecoveryWorkflowHeals(t *testing.T) {
	for _, tc := range []struct {
		name      string
		settle    time.Duration
		healAfter time.Duration
		wantMsgs  int
		followUp  bool
	}{
		{"healed while settling: no contact", 30 * time.Minute, 10 * time.Minute, 0, true},
		{"healed after contact: follow-up", 0, time.Hour, 2, true},
		{"healed after contact, follow-ups off", 0, time.Hour, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := quietSuite().NewTestWorkflowEnvironment()
			st, sink := recoverytest.NewMemStore(), &messaging.MemorySink{}
			registerActivities(env, &activities.Activities{Store: st, Remedies: st, Messenger: &messaging.Capture{Sink: sink}})
			in := recoveryInput("en-GB")
			in.Settle, in.HealWindow, in.FollowUpOnHeal = tc.settle, 24*time.Hour, tc.followUp
			env.RegisterDelayedCallback(func() {
				env.SignalWorkflow(SignalHeal, HealSignal{Reason: "delivered to the right address", EventID: "ok"})
			}, tc.healAfter)
			env.ExecuteWorkflow(RecoveryWorkflow, seated(st, in))
			if err := env.GetWorkflowError(); err != nil {
				t.Fatal(err)
			}
			if len(sink.Messages) != tc.wantMsgs {
				t.Fatalf("sent %d messages, want %d", len(sink.Messages), tc.wantMsgs)
			}
			if tc.wantMsgs == 2 && (sink.Messages[1].To != "ada@example.com" || !contains(sink.Messages[1].Text, "delivered to the right address")) {
				t.Fatalf("follow-up = %+v", sink.Messages[1])
			}
			inc := st.Incidents[in.Incident.ID]
			if inc.Status != recovery.IncidentHealed || inc.Resolution != "healed: delivered to the right address" || inc.ClosedAt == nil {
				t.Fatalf("incident = %+v, want healed", inc)
			}
		})
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func asContinueAsNew(err error, target **workflow.ContinueAsNewError) bool {
	return errors.As(err, target)
}

// An older scan that arrives late is history: it never moves the stall
// deadline back to 72 h after itself.
func TestOlderScanNeverMovesTheStallBack(t *testing.T) {
	h := newHarnessWith(t, stallOnly())
	h.signal(time.Minute, farOrder(), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(50*time.Hour, scan("b", "in_transit", "DE", "06108", t0.Add(50*time.Hour)))
	h.signal(60*time.Hour, scan("old", "in_transit", "DE", "04109", t0.Add(10*time.Hour)))
	h.run(t, 200*time.Hour)
	at, ok := h.startedAt(recovery.KindStalled)
	if want := t0.Add(122 * time.Hour); !ok || len(h.started) != 1 || at.Before(want) || at.After(want.Add(2*time.Second)) {
		t.Fatalf("stall at %s (found %v, started %v), want %s: 72 h after the newest scan", at, ok, h.kinds(), want)
	}
	if ev := h.started[0].In.Incident.Evidence; len(ev) != 1 || ev[0] != "b" {
		t.Fatalf("evidence %v, want the newest scan b", ev)
	}
}

package workflows

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// scanEst is a scan that carries the carrier's estimated delivery.
func scanEst(id, status string, at, est time.Time) recovery.Event {
	return mkEvent(id, recovery.TypeShipmentTracking, at, recovery.TrackingData{OrderID: "1001", ShipmentID: "s-1",
		Status: status, Location: &recovery.Location{Country: "DE", PostalCode: "06108"}, EstimatedDelivery: &est})
}

// becameLate records the BecameLate activities the order's workflow runs.
func (h *harness) becameLate() *[]activities.BecameLateInput {
	var mu sync.Mutex
	var got []activities.BecameLateInput
	h.env.OnActivity("BecameLate", mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.BecameLateInput) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, in)
		return nil
	})
	return &got
}

// TestAtRiskBeforeThePromiseThenLateWithoutASecondIncident: a scan whose
// estimate moves past the promise opens an at_risk incident at once,
// days before the promise; when the promise passes undelivered, the same
// incident becomes late (BecameLate) and no late incident is opened.
func TestAtRiskBeforeThePromiseThenLateWithoutASecondIncident(t *testing.T) {
	h := newHarness(t)
	late := h.becameLate()
	promise := t0.Add(72 * time.Hour)
	h.signal(time.Minute, orderCreated(promise), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(10*time.Hour, scanEst("b", "in_transit", t0.Add(10*time.Hour), promise.Add(48*time.Hour)))
	h.run(t, 80*time.Hour) // past the promise (72 h), before the stall limit (82 h)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindAtRisk {
		t.Fatalf("started %v, want one at_risk incident and no late one", h.kinds())
	}
	at, _ := h.startedAt(recovery.KindAtRisk)
	if at.After(t0.Add(11*time.Hour)) || h.started[0].In.Incident.Evidence[0] != "b" {
		t.Fatalf("at_risk opened at %s on %v, want at the scan (10 h), 62 h before the promise", at, h.started[0].In.Incident.Evidence)
	}
	if len(*late) != 1 || (*late)[0].IncidentID != h.started[0].In.Incident.ID {
		t.Fatalf("became late %+v, want the at_risk incident once", *late)
	}
}

// TestAtRiskHealsWhenTheEstimateComesBack: the carrier's next estimate
// is within the promise again: the incident heals, and when the parcel
// comes on time nothing more opens.
func TestAtRiskHealsWhenTheEstimateComesBack(t *testing.T) {
	h := newHarness(t)
	late := h.becameLate()
	promise := t0.Add(72 * time.Hour)
	h.signal(time.Minute, orderCreated(promise), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(10*time.Hour, scanEst("b", "in_transit", t0.Add(10*time.Hour), promise.Add(24*time.Hour)))
	h.signal(20*time.Hour, scanEst("c", "in_transit", t0.Add(20*time.Hour), promise.Add(-6*time.Hour)))
	h.signal(60*time.Hour, scan("d", "delivered", "DE", "10115", t0.Add(60*time.Hour)))
	h.run(t, 200*time.Hour)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindAtRisk {
		t.Fatalf("started %v, want the one at_risk incident", h.kinds())
	}
	if heal, ok := h.heals[h.started[0].WorkflowID]; !ok || heal.EventID != "c" || heal.Reason != "the carrier expects to deliver on time again" {
		t.Fatalf("heals %+v, want the at_risk incident healed by scan c", h.heals)
	}
	if len(*late) != 0 {
		t.Fatalf("became late %+v after an on-time delivery", *late)
	}
}

// TestNoAtRisk: an estimate within the promise, a slip and its recovery
// arriving together, and a slipped estimate scanned after the promise
// passed (the late timer speaks then) open no at_risk incident.
func TestNoAtRisk(t *testing.T) {
	promise := t0.Add(72 * time.Hour)
	for name, evs := range map[string][]recovery.Event{
		"within the promise": {scanEst("b", "in_transit", t0.Add(10*time.Hour), promise.Add(-time.Hour))},
		"slip and recovery together": {scanEst("b", "in_transit", t0.Add(10*time.Hour), promise.Add(24*time.Hour)),
			scanEst("c", "in_transit", t0.Add(11*time.Hour), promise.Add(-time.Hour))},
	} {
		h := newHarness(t)
		h.becameLate()
		h.signal(time.Minute, append([]recovery.Event{orderCreated(promise), shipmentCreated(),
			scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour))}, evs...)...)
		h.signal(30*time.Hour, scan("d", "delivered", "DE", "10115", t0.Add(30*time.Hour)))
		h.run(t, 100*time.Hour)
		if len(h.started) != 0 {
			t.Errorf("%s: started %v, want nothing", name, h.kinds())
		}
	}
	h := newHarness(t)
	h.becameLate()
	h.signal(time.Minute, orderCreated(promise), shipmentCreated(), scan("a", "picked_up", "DE", "04103", t0.Add(2*time.Hour)))
	h.signal(60*time.Hour, scan("m", "in_transit", "DE", "06108", t0.Add(60*time.Hour)))
	h.signal(80*time.Hour, scanEst("b", "in_transit", t0.Add(80*time.Hour), promise.Add(24*time.Hour)))
	h.run(t, 100*time.Hour)
	if len(h.started) != 1 || h.started[0].In.Incident.Kind != recovery.KindLate {
		t.Fatalf("a slip scanned after the promise: started %v, want the late incident alone", h.kinds())
	}
}

package workflows

import (
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// The shop's fulfillment and the carrier's scans of it, as the provider
// mappers write them: the carrier's event names the order and its own
// tracking number (in its own case) as the shipment.
func shopShipment(at time.Time) recovery.Event {
	return mkEvent("ship-123456", recovery.TypeShipmentCreated, at, recovery.ShipmentData{OrderID: "1001",
		ShipmentID: "123456", Carrier: "ups", TrackingNumber: "1z827wk74630",
		Origin: &recovery.Location{Country: "DE", PostalCode: "04103"}})
}

func carrierScan(id, status string, at time.Time) recovery.Event {
	return mkEvent(id, recovery.TypeShipmentTracking, at, recovery.TrackingData{OrderID: "1001",
		ShipmentID: "1Z827WK74630", TrackingNumber: "1Z827WK74630", Carrier: "ups", Status: status,
		Location: &recovery.Location{Country: "DE", PostalCode: "06108"}})
}

func TestCarrierScansJoinTheShopsShipment(t *testing.T) {
	for _, tc := range []struct {
		name  string
		order []recovery.Event
	}{
		{"shipment first", []recovery.Event{shopShipment(t0), carrierScan("c1", "picked_up", t0.Add(time.Hour))}},
		{"carrier first", []recovery.Event{carrierScan("c1", "picked_up", t0.Add(time.Hour)), shopShipment(t0)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newState("1001")
			s.resolveTracking = true
			for _, e := range tc.order {
				s.apply(e)
			}
			if len(s.Shipments) != 1 || s.Shipments["123456"] == nil {
				t.Fatalf("shipments %v, want only the shop's 123456", s.shipmentIDs())
			}
			sh := s.Shipments["123456"]
			if !sh.PickedUp || len(sh.Scans) != 1 || sh.CreatedEvent != "ship-123456" || sh.LabelAt == nil {
				t.Fatalf("shipment %+v, want the carrier's pickup on the shop's shipment", sh)
			}
			if _, _, ok := s.apply(carrierScan("c1", "picked_up", t0.Add(time.Hour))); ok || len(sh.Scans) != 1 {
				t.Fatal("a re-sent scan was applied twice")
			}
		})
	}
	// Without the change (histories recorded before it), scans keep the
	// shipment they name.
	s := newState("1001")
	s.apply(shopShipment(t0))
	s.apply(carrierScan("c1", "picked_up", t0.Add(time.Hour)))
	if len(s.Shipments) != 2 {
		t.Fatalf("unversioned: %v", s.shipmentIDs())
	}
}

// A missed pickup on the shop's shipment heals when the carrier reports
// the pickup under its tracking number, through the order's workflow and
// the real incident workflow.
func TestMissedPickupHealsByTrackingNumber(t *testing.T) {
	tc := healCase{
		name:   "not picked up: the carrier scans its tracking number",
		cfg:    func(c *recovery.DetectionConfig) { c.DefaultStall = 0 },
		opens:  []recovery.Event{farOrder(), shopShipment(t0)},
		openAt: 48 * time.Hour, kind: recovery.KindNotPickedUp,
		heal: func(at time.Time) []recovery.Event {
			return []recovery.Event{carrierScan("heal", "picked_up", at)}
		},
		reason: "the carrier picked the parcel up",
	}
	r := runHeal(t, tc, 0, 2*time.Hour, 24*time.Hour)
	inc := r.incident(t, tc)
	if inc.Status != recovery.IncidentHealed || inc.Resolution != "healed: "+tc.reason {
		t.Fatalf("incident %s (%s), want healed by the carrier's pickup", inc.Status, inc.Resolution)
	}
}

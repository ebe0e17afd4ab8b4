package workflows

import (
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

func berlinOrder() *recovery.OrderData {
	return &recovery.OrderData{OrderID: "1001", Currency: "EUR", TotalMinor: 8999,
		ShippingAddress: recovery.Location{PostalCode: "10115", Country: "DE"}}
}

func TestDetectMisroute(t *testing.T) {
	leipzig := &Shipment{ID: "s-1", Origin: &recovery.Location{Country: "DE", PostalCode: "04103"}}
	noOrigin := &Shipment{ID: "s-1"}
	tests := []struct {
		name  string
		order *recovery.OrderData
		sh    *Shipment
		scan  Scan
		want  bool
	}{
		{"carrier code", nil, noOrigin, Scan{Status: "exception", ExceptionCode: "MISSORT", Country: "DE"}, true},
		{"carrier code with separators", berlinOrder(), leipzig, Scan{Status: "exception", ExceptionCode: "wrong_facility", Country: "DE"}, true},
		{"description", berlinOrder(), leipzig, Scan{Status: "in_transit", Description: "Parcel mis-sorted at hub", Country: "DE"}, true},
		{"other exception code", berlinOrder(), leipzig, Scan{Status: "exception", ExceptionCode: "DAMAGED", Country: "DE"}, false},
		{"third country", berlinOrder(), leipzig, Scan{Status: "in_transit", Country: "PL"}, true},
		{"third country lower case", berlinOrder(), leipzig, Scan{Status: "in_transit", Country: "pl"}, true},
		{"origin country", berlinOrder(), leipzig, Scan{Status: "in_transit", Country: "DE"}, false},
		{"destination country of a cross-border parcel", &recovery.OrderData{ShippingAddress: recovery.Location{PostalCode: "75001", Country: "FR"}},
			leipzig, Scan{Status: "in_transit", Country: "FR"}, false},
		{"third country but origin unknown", berlinOrder(), noOrigin, Scan{Status: "in_transit", Country: "PL"}, false},
		{"third country but order unknown", nil, leipzig, Scan{Status: "in_transit", Country: "PL"}, false},
		{"delivered elsewhere", berlinOrder(), leipzig, Scan{Status: "delivered", Country: "DE", PostalCode: "10117"}, true},
		{"delivered right, spacing differs", &recovery.OrderData{ShippingAddress: recovery.Location{PostalCode: "SW1A 1AA", Country: "GB"}},
			&Shipment{ID: "s", Origin: &recovery.Location{Country: "GB"}}, Scan{Status: "delivered", Country: "GB", PostalCode: "sw1a1aa"}, false},
		{"delivered without postal code", berlinOrder(), leipzig, Scan{Status: "delivered", Country: "DE"}, false},
		{"in transit elsewhere in the country", berlinOrder(), leipzig, Scan{Status: "in_transit", Country: "DE", PostalCode: "80331"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.scan.EventID = "evt-x"
			f, got := DetectMisroute(tt.order, tt.sh, tt.scan)
			if got != tt.want {
				t.Fatalf("detected = %v (%q), want %v", got, f.Reason, tt.want)
			}
			if got && (f.Kind != recovery.KindMisrouted || len(f.Evidence) != 1 || f.Evidence[0] != "evt-x" || f.Reason == "") {
				t.Fatalf("finding = %+v", f)
			}
		})
	}
}

func TestCorrectJourneyFindsNothing(t *testing.T) {
	s := newState("1001")
	s.Order = berlinOrder()
	sh := s.shipment("s-1")
	sh.Origin = &recovery.Location{Country: "DE"}
	for i, st := range []string{"label_created", "picked_up", "in_transit", "out_for_delivery", "delivered"} {
		sh.Scans = append(sh.Scans, Scan{EventID: string(rune('a' + i)), Status: st, Country: "DE", PostalCode: "10115"})
	}
	if f := DetectAll(s, recovery.DefaultDetection()); len(f) != 0 {
		t.Fatalf("correct journey produced %v", f)
	}
}

func TestLateFindings(t *testing.T) {
	promise := time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)
	s := newState("1001")
	s.Order = berlinOrder()
	s.Order.PromisedDelivery = &promise
	if f := LateFindings(s, "evt-1"); len(f) != 1 || f[0].ShipmentID != "" || f[0].Kind != recovery.KindLate {
		t.Fatalf("no shipments: %+v, want one order-level finding", f)
	}
	s.shipment("s-2")
	s.shipment("s-1").Delivered = true
	s.shipment("s-3")
	f := LateFindings(s, "evt-1")
	if len(f) != 2 || f[0].ShipmentID != "s-2" || f[1].ShipmentID != "s-3" || f[0].Evidence[0] != "evt-1" {
		t.Fatalf("late findings = %+v, want s-2 and s-3 in order", f)
	}
}

func TestIncidentIDsAreStableAndDistinct(t *testing.T) {
	a := IncidentID("1001", "s-1", recovery.KindLate, 1)
	if a != IncidentID("1001", "s-1", recovery.KindLate, 1) {
		t.Fatal("incident id is not stable")
	}
	for _, other := range []string{IncidentID("1001", "s-1", recovery.KindMisrouted, 1), IncidentID("1001", "s-2", recovery.KindLate, 1),
		IncidentID("1001s-1", "", recovery.KindLate, 1)} {
		if other == a {
			t.Fatalf("distinct incidents share id %s", a)
		}
	}
	if RecoveryWorkflowID("1001", "s-1", recovery.KindLate, 1) != "incident/1001/s-1/late" || OrderWorkflowID("1001") != "order/1001" {
		t.Fatal("workflow ids changed shape")
	}
}

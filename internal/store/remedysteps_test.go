package store_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// TestRemedyStepsAndTheirUndoing: the steps of a remedy read back in
// order, the compensations marked as undoing, and a code by its last four
// characters only.
func TestRemedyStepsAndTheirUndoing(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if err := st.UpsertProducts(ctx, []recovery.Product{{SKU: "MUG-2", Name: "Mug", Category: "mugs", PriceMinor: 1500, Currency: "EUR", Stock: 5}}); err != nil {
		t.Fatal(err)
	}
	if err := st.Reserve(ctx, "inc-1", "MUG-2", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.IssueCode(ctx, recovery.IssuedCode{Code: "SORRY-ABCD-9Z7Q", IncidentID: "inc-1", Remedy: recovery.RemedyDiscount,
		ValueMinor: 1000, Currency: "EUR", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(10 * time.Millisecond)
	if err := st.ReleaseReservation(ctx, "inc-1", "MUG-2"); err != nil {
		t.Fatal(err)
	}
	if err := st.VoidCode(ctx, "inc-1", recovery.RemedyDiscount); err != nil {
		t.Fatal(err)
	}
	steps, err := st.RemedySteps(ctx, "inc-1")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range steps {
		w := s.What
		if s.Undo {
			w += " (undo)"
		}
		got = append(got, w)
		if strings.Contains(s.Detail, "SORRY-ABCD") {
			t.Errorf("a step shows the whole code: %q", s.Detail)
		}
	}
	want := "stock held, code issued, stock given back (undo), code voided (undo)"
	if strings.Join(got, ", ") != want {
		t.Fatalf("steps %q, want %q", strings.Join(got, ", "), want)
	}
	if steps[1].Detail != "discount code …9Z7Q, 10.00 EUR" {
		t.Errorf("the code's step says %q", steps[1].Detail)
	}
	if none, err := st.RemedySteps(ctx, "inc-other"); err != nil || len(none) != 0 {
		t.Fatalf("another incident's steps: %v, %v", none, err)
	}
}

// TestCarriersOfTheOrdersShipments: each shipment's carrier is the one
// its latest event names; a shipment no event names a carrier for is
// absent.
func TestCarriersOfTheOrdersShipments(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ev := func(id, typ string, when time.Time, data string) recovery.Event {
		return recovery.Event{ID: id, Source: "shop", Type: typ, Time: when, Data: json.RawMessage(data)}
	}
	if _, err := st.InsertEvents(ctx, []recovery.Event{
		ev("s1", recovery.TypeShipmentCreated, at, `{"order_id":"o1","shipment_id":"s-1","carrier":"dhl"}`),
		ev("t1", recovery.TypeShipmentTracking, at.Add(time.Hour), `{"order_id":"o1","shipment_id":"s-1","carrier":"dhl_express","status":"in_transit"}`),
		ev("t0", recovery.TypeShipmentTracking, at.Add(-time.Hour), `{"order_id":"o1","shipment_id":"s-1","carrier":"old","status":"in_transit"}`),
		ev("s2", recovery.TypeShipmentCreated, at, `{"order_id":"o1","shipment_id":"s-2","carrier":"ups"}`),
		ev("s3", recovery.TypeShipmentCreated, at, `{"order_id":"o2","shipment_id":"s-1"}`),
		ev("s4", recovery.TypeShipmentCreated, at, `{"order_id":"o3","shipment_id":"s-1","carrier":"gls"}`),
	}); err != nil {
		t.Fatal(err)
	}
	got, err := st.Carriers(ctx, []string{"o1", "o2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["o1/s-1"] != "dhl_express" || got["o1/s-2"] != "ups" {
		t.Fatalf("carriers %v, want o1/s-1 dhl_express and o1/s-2 ups (not o3's)", got)
	}
}

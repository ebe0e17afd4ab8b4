package native

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// TestEstimatesRideOnTheLatestScan: the carrier's estimated delivery of
// each provider (EasyPost's est_delivery_date, Shippo's eta, AfterShip's
// latest_estimated_delivery, courier_estimated_delivery_date or
// expected_delivery) goes on the webhook's latest scan only, whose event
// id names it, so that a new estimate on the same scan is news.
func TestEstimatesRideOnTheLatestScan(t *testing.T) {
	aftership := func(edit func(msg map[string]any)) []byte {
		var w map[string]any
		if err := json.Unmarshal(fixture(t, fixtures["aftership"]), &w); err != nil {
			t.Fatal(err)
		}
		edit(w["msg"].(map[string]any))
		b, _ := json.Marshal(w)
		return b
	}
	for _, c := range []struct {
		name, provider string
		body           []byte
		want           string
	}{
		{"easypost", "easypost", fixture(t, fixtures["easypost"]), "2026-11-22T17:00:00Z"},
		{"shippo", "shippo", fixture(t, fixtures["shippo"]), "2026-11-22T18:00:00Z"},
		{"aftership latest", "aftership", aftership(func(m map[string]any) {
			m["latest_estimated_delivery"] = map[string]any{"type": "specific", "datetime": "2026-11-24T12:00:00+01:00"}
			m["expected_delivery"] = "2026-11-30"
		}), "2026-11-24T11:00:00Z"},
		{"aftership courier", "aftership", aftership(func(m map[string]any) {
			m["courier_estimated_delivery_date"] = map[string]any{"estimated_delivery_date": "2026-11-25"}
		}), "2026-11-25T00:00:00Z"},
		{"aftership expected", "aftership", aftership(func(m map[string]any) { m["expected_delivery"] = "2026-11-26T09:00:00" }),
			"2026-11-26T09:00:00Z"},
	} {
		p, _ := Lookup(c.provider)
		evs, err := p.Map(Request{Body: c.body})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		validAfterResolution(t, evs)
		latest := 0
		for i, e := range evs {
			if e.Time.After(evs[latest].Time) {
				latest = i
			}
		}
		for i, e := range evs {
			var d recovery.TrackingData
			if err := json.Unmarshal(e.Data, &d); err != nil {
				t.Fatal(err)
			}
			switch {
			case i == latest && (d.EstimatedDelivery == nil || d.EstimatedDelivery.UTC().Format(time.RFC3339) != c.want):
				t.Errorf("%s: the latest scan's estimate is %v, want %s", c.name, d.EstimatedDelivery, c.want)
			case i == latest && !strings.HasSuffix(e.ID, "/eta="+c.want):
				t.Errorf("%s: the latest scan's id %q does not name its estimate", c.name, e.ID)
			case i != latest && d.EstimatedDelivery != nil:
				t.Errorf("%s: an earlier scan (%s) carries the estimate", c.name, e.ID)
			}
		}
	}
	// Without an estimate, nothing is added.
	p, _ := Lookup("aftership")
	evs, _ := p.Map(Request{Body: fixture(t, fixtures["aftership"])})
	for _, e := range evs {
		if strings.Contains(e.ID, "/eta=") || strings.Contains(string(e.Data), "estimated_delivery") {
			t.Errorf("an estimate from nowhere on %s", e.ID)
		}
	}
}

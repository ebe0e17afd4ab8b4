package insights

import (
	"bytes"
	"encoding/csv"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/store"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC) // a Monday, ISO week 48

func at(d time.Duration) *time.Time { t := t0.Add(d); return &t }

// TestComputeByHand: five incidents whose every figure is worked out by
// hand below.
func TestComputeByHand(t *testing.T) {
	rows := []store.InsightRow{
		// 1: we wrote 60 s after detecting it, 10 s after the scan arrived;
		// the customer wrote later. Discount applied, they said WOW.
		{ID: "a", Kind: "misrouted", Status: "resolved", DetectedAt: t0, Carrier: "dhl", Lane: "DE → DE", Source: "shop", CustomerKey: "c1",
			RevealedAt: at(-10 * time.Second), FirstContactAt: at(60 * time.Second), CustomerContactedAt: at(time.Hour),
			Remedy: "discount", OfferStatus: "applied", ValueMinor: 1350, Currency: "EUR", Survey: "wow"},
		// 2: the customer wrote first (before our message at 120 s); a
		// reship they chose, applied (free: value 0); they asked for a
		// person, seen to 30 minutes later.
		{ID: "b", Kind: "lost", Status: "resolved", DetectedAt: t0.Add(time.Hour), Carrier: "dhl", Lane: "DE → AT", Source: "shop",
			CustomerKey: "c2", RevealedAt: at(time.Hour - 30*time.Second), FirstContactAt: at(time.Hour + 120*time.Second),
			CustomerContactedAt: at(time.Hour + 60*time.Second), Remedy: "reship", OfferStatus: "applied", Currency: "EUR",
			ChoseSelf: true, PersonAskedAt: at(2 * time.Hour), PersonHandledAt: at(2*time.Hour + 30*time.Minute), Survey: "how"},
		// 3: a late parcel (a timer: no detection time) healed before we
		// said anything.
		{ID: "c", Kind: "late", Status: "healed", DetectedAt: t0.Add(2 * time.Hour), Carrier: "ups", Source: "shop", CustomerKey: "c1"},
		// 4: the same customer again, healed after our message at 300 s;
		// the default taken, a refund of 20.00 GBP applied.
		{ID: "d", Kind: "misrouted", Status: "healed", DetectedAt: t0.Add(3 * time.Hour), Carrier: "dhl", Lane: "DE → DE", Source: "pos",
			CustomerKey: "c1", RevealedAt: at(3*time.Hour - 20*time.Second), FirstContactAt: at(3*time.Hour + 300*time.Second),
			Remedy: "refund", OfferStatus: "applied", ValueMinor: 2000, Currency: "GBP", Defaulted: true, Survey: "ow"},
		// 5: next week, an offer rejected by ops, nobody contacted.
		{ID: "e", Kind: "stalled", Status: "resolved", DetectedAt: t0.Add(8 * 24 * time.Hour), Source: "shop", CustomerKey: "c3",
			Remedy: "discount", OfferStatus: "rejected", ValueMinor: 500, Currency: "EUR"},
	}
	ret := store.Retention{WithIncident: 3, Without: 10, WithAgain30: 1, WithAgain90: 2, WithoutAgain30: 2, WithoutAgain90: 5,
		BySurvey: map[string]store.RetentionCount{"wow": {Customers: 1, Again30: 1, Again90: 1}, "": {Customers: 2, Again90: 1}}}
	r, err := Compute(t0, t0.Add(14*24*time.Hour), "week", rows, ret)
	if err != nil {
		t.Fatal(err)
	}
	g := r.Total
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("incidents", g.Incidents, 5)
	// Detection: 10, 30, 20 s → sorted 10 20 30: p50 rank 2 = 20, p90 rank 3 = 30.
	check("detection", g.Detection, Dist{N: 3, P50: 20, P90: 30})
	// First contact: 60, 120, 300 → p50 120, p90 300.
	check("first contact", g.FirstContact, Dist{N: 3, P50: 120, P90: 300})
	// Proactive: a (we first), b (they first), d (we, they never): 2 of 3.
	check("proactive", g.Proactive, Share{Count: 2, Of: 3, Rate: 0.6667})
	check("healed silently", g.HealedSilently, 1)
	check("healed after contact", g.HealedAfterContact, 1)
	check("offers made", g.Offers.Made, 4)
	check("applied", g.Offers.Applied, 3)
	check("rejected", g.Offers.Rejected, 1)
	check("acceptance", g.Offers.Acceptance, 0.75)
	check("chose", g.Offers.ChoseSelf, 1)
	check("defaulted", g.Offers.Defaulted, 1)
	check("discounts", g.Offers.ByRemedy["discount"], 2)
	check("time to person", g.TimeToPerson, Dist{N: 1, P50: 1800, P90: 1800})
	if len(g.Cost) != 2 || g.Cost[0] != (Money{"EUR", 1350}) || g.Cost[1] != (Money{"GBP", 2000}) {
		t.Errorf("cost %v, want 13.50 EUR and 20.00 GBP (the rejected discount costs nothing)", g.Cost)
	}
	check("survey", g.Survey, Survey{OW: 1, HOW: 1, WOW: 1})
	check("repeat customers", g.RepeatCustomers, 1) // c1: a, c, d
	if len(r.Groups) != 2 || r.Groups[0].Key != "2026-W48" || r.Groups[0].Incidents != 4 || r.Groups[1].Key != "2026-W49" {
		t.Fatalf("weeks %+v", r.Groups)
	}
	if len(r.TopCarriers) != 2 || r.TopCarriers[0] != (Count{"dhl", 3}) || r.TopLanes[0] != (Count{"DE → DE", 2}) {
		t.Errorf("top carriers %v, lanes %v", r.TopCarriers, r.TopLanes)
	}
	check("retention with", r.Retention.WithIncident, Share3{Customers: 3, Again30: 1, Again90: 2, Rate30: 0.3333, Rate90: 0.6667})
	check("retention without", r.Retention.Without, Share3{Customers: 10, Again30: 2, Again90: 5, Rate30: 0.2, Rate90: 0.5})
	if bs := r.Retention.BySurvey; len(bs) != 2 || bs[0].Key != "wow" || bs[0].Rate90 != 1 || bs[1].Key != "none" || bs[1].Rate90 != 0.5 {
		t.Errorf("retention by survey %+v, want wow then none", bs)
	}
	if r.Retention.ByRemedy == nil {
		t.Error("retention by remedy is null, want an empty list")
	}

	byRemedy, _ := Compute(t0, t0, "remedy", rows, ret)
	if len(byRemedy.Groups) != 4 || byRemedy.Groups[0].Key != "discount" || byRemedy.Groups[0].Survey.WOW != 1 || byRemedy.Groups[3].Key != "unknown" {
		t.Errorf("by remedy %+v", byRemedy.Groups)
	}
	if _, err := Compute(t0, t0, "colour", rows, ret); err == nil {
		t.Error("an unknown group_by was taken")
	}
	var b bytes.Buffer
	if err := WriteCSV(&b, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&b).ReadAll()
	if err != nil || len(recs) != 4 || recs[1][0] != "total" || recs[1][1] != "5" || recs[2][0] != "2026-W48" || recs[1][20] != "1350 EUR; 2000 GBP" {
		t.Fatalf("csv %v, %v", recs, err)
	}
}

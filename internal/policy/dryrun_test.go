package policy

import (
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

func TestDryRunRebuildsHistory(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	order := &recovery.OrderData{OrderID: "1", Currency: "EUR", TotalMinor: 10000, Customer: recovery.Customer{Email: "Ada@example.com"}}
	var past []Past
	for i := range 4 {
		past = append(past, Past{
			Incident: recovery.Incident{ID: string(rune('a' + i)), Kind: recovery.KindLate, DetectedAt: t0.Add(time.Duration(i) * 24 * time.Hour)},
			Offered:  &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1500, Currency: "EUR", Status: recovery.OfferApproved},
			Order:    order,
		})
	}
	past = append(past, Past{Incident: recovery.Incident{ID: "x", Kind: recovery.KindLate, DetectedAt: t0}})
	cmp, tot := DryRun(Default(), past)
	if len(cmp) != 5 {
		t.Fatalf("%d comparisons", len(cmp))
	}
	rules := []string{}
	for _, c := range cmp {
		if c.Skipped == "" {
			rules = append(rules, c.Decision.Rule)
		}
	}
	// The fourth incident of the same customer (email case ignored) within 90 days is a repeat claim.
	want := []string{"everything else", "everything else", "everything else", "repeat claimant"}
	for i := range want {
		if rules[i] != want[i] {
			t.Fatalf("rules %v, want %v", rules, want)
		}
	}
	if tot.Offered["EUR"] != 6000 || tot.Would["EUR"] != 3*1500+1000 || tot.Approvals != 1 {
		t.Fatalf("totals %+v", tot)
	}
	for _, c := range cmp {
		if (c.Incident.ID == "x") != (c.Skipped != "") {
			t.Fatalf("%s skipped %q: only the incident without an order must be skipped", c.Incident.ID, c.Skipped)
		}
	}
}

// TestDryRunCountsWhatWasGiven checks the totals and the rebuilt histories
// against sums done by hand: an applied offer was given as much as an
// approved one, a rejected one was not given at all.
func TestDryRunCountsWhatWasGiven(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ada := &recovery.OrderData{OrderID: "a", Currency: "EUR", TotalMinor: 10000, Customer: recovery.Customer{ID: "ada"}}
	bob := &recovery.OrderData{OrderID: "b", Currency: "EUR", TotalMinor: 10000, Customer: recovery.Customer{ID: "bob"}}
	inc := func(id string, day int) recovery.Incident {
		return recovery.Incident{ID: id, Kind: recovery.KindLate, DetectedAt: t0.Add(time.Duration(day) * 24 * time.Hour)}
	}
	offer := func(minor int64, status string) *recovery.Offer {
		return &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: minor, Currency: "EUR", Status: status}
	}
	past := []Past{
		{Incident: inc("a1", 0), Offered: offer(6000, recovery.OfferApplied), Order: ada},
		{Incident: inc("a2", 1), Offered: offer(5000, recovery.OfferApproved), Order: ada},
		// 6000 + 5000 given in 30 days: the third is a repeat claim, by
		// compensation (two incidents are not yet three).
		{Incident: inc("a3", 2), Offered: offer(1500, recovery.OfferPending), Order: ada},
		{Incident: inc("b1", 0), Offered: offer(20000, recovery.OfferRejected), Order: bob},
		// Nothing was given to bob: an ordinary incident.
		{Incident: inc("b2", 1), Offered: offer(1500, recovery.OfferFailed), Order: bob},
	}
	cmp, tot := DryRun(Default(), past)
	rules := map[string]string{}
	for _, c := range cmp {
		rules[c.Incident.ID] = c.Decision.Rule
	}
	for id, want := range map[string]string{"a1": "everything else", "a2": "everything else", "a3": "repeat claimant",
		"b1": "everything else", "b2": "everything else"} {
		if rules[id] != want {
			t.Errorf("%s: rule %q, want %q", id, rules[id], want)
		}
	}
	if got, want := tot.Offered["EUR"], int64(6000+5000); got != want {
		t.Errorf("offered EUR %d, want %d (applied 6000 + approved 5000; not the rejected, pending or failed)", got, want)
	}
	// Would: 15% of 100.00 for the four ordinary ones, 10% capped at 20.00 for the repeat claim.
	if got, want := tot.Would["EUR"], int64(4*1500+1000); got != want || tot.Approvals != 1 {
		t.Errorf("would %d with %d approvals, want %d with 1", got, tot.Approvals, want)
	}
}

// TestDryRunKnowsACarrierExceptionsCode: the built-in policy treats a
// damaged parcel as it treats a lost one (incident.code == "damaged"); a
// replay of a damaged parcel does too, and a carrier exception of another
// code gets the catch-all.
func TestDryRunKnowsACarrierExceptionsCode(t *testing.T) {
	at := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	order := func(id string) *recovery.OrderData {
		return &recovery.OrderData{OrderID: id, Currency: "USD", TotalMinor: 65000, Customer: recovery.Customer{ID: "c-" + id}}
	}
	exception := func(id string) recovery.Incident {
		return recovery.Incident{ID: id, Kind: recovery.KindCarrierException, DetectedAt: at}
	}
	cmp, _ := DryRun(Default(), []Past{{Incident: exception("damaged"), Order: order("1"), Code: recovery.ExceptionDamaged},
		{Incident: exception("customs"), Order: order("2"), Code: recovery.ExceptionCustoms}})
	rules := map[string]string{}
	for _, c := range cmp {
		rules[c.Incident.ID] = c.Decision.Rule
	}
	if rules["damaged"] != "lost or damaged" || rules["customs"] != "everything else" {
		t.Fatalf("replayed rules %v, want lost or damaged for the damaged parcel, everything else for customs", rules)
	}
}

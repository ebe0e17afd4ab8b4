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
	if cmp[1].Skipped == "" && cmp[0].Skipped == "" {
		t.Fatal("the incident without an order must be reported as skipped")
	}
}

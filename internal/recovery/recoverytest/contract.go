package recoverytest

import (
	"context"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// HistoryStore is what the guards read: a customer's history and what was
// approved since a time. MemStore and the Postgres store implement it.
type HistoryStore interface {
	UpsertIncident(ctx context.Context, inc recovery.Incident) error
	SaveOffer(ctx context.Context, incidentID string, o recovery.Offer) error
	CustomerHistory(ctx context.Context, customerKey, currency string, at time.Time, exceptIncident string) (recovery.CustomerHistory, error)
	ApprovedSince(ctx context.Context, currency string, since time.Time) (int64, error)
}

// HistoryContract checks that a store counts a customer's history and the
// daily budget as the guards expect. Every implementation runs it, so that
// tests on the in-memory fake see the numbers Postgres gives. backdate
// sets when an offer was made and approved (zero: never approved).
//
// The rules: incidents count when detected in the 90 days up to at (the
// decided one excepted); compensation sums the offers given (approved or
// applied) in the currency that were made in the 30 days up to at,
// whenever their incident was detected; the budget sums the offers given
// in the currency approved since a time.
func HistoryContract(t *testing.T, s HistoryStore, backdate func(incidentID string, created, approved time.Time)) {
	t.Helper()
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Second)
	day := 24 * time.Hour
	type row struct {
		id, customer string
		detected     time.Duration // before at
		offer        int64
		currency     string
		status       string
		created      time.Duration // before at
		approved     time.Duration // before at; 0: not approved
	}
	rows := []row{
		{"i-10d", "k1", 10 * day, 700, "EUR", recovery.OfferApplied, 10 * day, 10 * day},
		{"i-40d", "k1", 40 * day, 500, "EUR", recovery.OfferApproved, 40 * day, 40 * day},    // an incident, too old to compensate
		{"i-100d", "k1", 100 * day, 900, "EUR", recovery.OfferApplied, 100 * day, 100 * day}, // neither
		{"i-90d", "k1", 90 * day, 0, "", "", 0, 0},                                           // the boundary: out
		{"i-5d-rejected", "k1", 5 * day, 900, "EUR", recovery.OfferRejected, 5 * day, 0},     // counted, not given
		{"i-3d-usd", "k1", 3 * day, 300, "USD", recovery.OfferApplied, 3 * day, 3 * day},     // another currency
		{"i-50d-late-offer", "k1", 50 * day, 200, "EUR", recovery.OfferApproved, 20 * day, 20 * day},
		{"i-now", "k1", 0, 0, "", "", 0, 0}, // detected exactly at the decision: in
		{"i-after", "k1", -time.Hour, 400, "EUR", recovery.OfferApplied, -time.Hour, -time.Hour},
		{"i-new", "k1", 0, 0, "", "", 0, 0}, // the incident being decided
		{"j-1h", "k2", time.Hour, 1200, "EUR", recovery.OfferApproved, time.Hour, time.Hour},
		{"j-2d-pending", "k2", 2 * day, 800, "EUR", recovery.OfferPending, 2 * day, 0},
	}
	for _, r := range rows {
		inc := recovery.Incident{ID: r.id, OrderID: "o-" + r.id, Kind: recovery.KindLate, Status: recovery.IncidentOpen,
			DetectedAt: at.Add(-r.detected), CustomerKey: "email:" + r.customer + "@example.com"}
		if err := s.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		if r.offer == 0 {
			continue
		}
		if err := s.SaveOffer(ctx, r.id, recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: r.offer,
			Currency: r.currency, Status: r.status}); err != nil {
			t.Fatal(err)
		}
		var approved time.Time
		if r.approved != 0 {
			approved = at.Add(-r.approved)
		}
		backdate(r.id, at.Add(-r.created), approved)
	}
	h, err := s.CustomerHistory(ctx, "email:k1@example.com", "EUR", at, "i-new")
	if err != nil {
		t.Fatal(err)
	}
	// In 90 days: 10d, 40d, 5d, 3d, 50d and now. Given in EUR, made in
	// 30 days: 700 (10d) + 200 (made 20 days ago).
	if want := (recovery.CustomerHistory{Incidents90d: 6, CompensatedMinor30d: 900}); h != want {
		t.Errorf("history %+v, want %+v", h, want)
	}
	if h, err := s.CustomerHistory(ctx, "", "EUR", at, ""); err != nil || h != (recovery.CustomerHistory{}) {
		t.Errorf("a customer without a key has no history: %+v, %v", h, err)
	}
	for _, tc := range []struct {
		since time.Duration
		want  int64
	}{
		{day, 1200},                  // k2's, an hour ago
		{21 * day, 700 + 200 + 1200}, // not the rejected, pending or USD ones
		{200 * day, 700 + 500 + 900 + 200 + 1200},
	} {
		got, err := s.ApprovedSince(ctx, "EUR", at.Add(-tc.since))
		// i-after was approved an hour after at, so since any earlier
		// time it counts as well.
		if want := tc.want + 400; err != nil || got != want {
			t.Errorf("approved since %s ago: %d (%v), want %d", tc.since, got, err, want)
		}
	}
}

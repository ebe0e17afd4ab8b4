package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

func TestReservationsHoldStockOnce(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if err := st.UpsertProducts(ctx, []recovery.Product{{SKU: "lamp-2", Name: "Lamp", Category: "lighting", PriceMinor: 9400,
		Currency: "EUR", Stock: 3, Attributes: map[string]string{"colour": "brass"}}}); err != nil {
		t.Fatal(err)
	}
	// Five incidents race for three lamps: exactly three get one.
	var wg sync.WaitGroup
	errs := make([]error, 5)
	for i := range errs {
		wg.Go(func() { errs[i] = st.Reserve(ctx, "inc-"+string(rune('a'+i)), "LAMP-2", 1) })
	}
	wg.Wait()
	held := 0
	for _, err := range errs {
		switch {
		case err == nil:
			held++
		case !errors.Is(err, recovery.ErrConflict):
			t.Fatal(err)
		}
	}
	p, err := st.Product(ctx, "LAMP-2")
	if err != nil || held != 3 || p.Reserved != 3 || p.Available() != 0 || p.Attributes["colour"] != "brass" {
		t.Fatalf("held %d, product %+v, err %v", held, p, err)
	}
	// Again for the same incident: a no-op, not a second hold.
	var winner string
	for i, err := range errs {
		if err == nil {
			winner = "inc-" + string(rune('a'+i))
			break
		}
	}
	if err := st.Reserve(ctx, winner, "LAMP-2", 1); err != nil {
		t.Fatalf("repeat reserve: %v", err)
	}
	if err := st.ReleaseReservation(ctx, winner, "LAMP-2"); err != nil {
		t.Fatal(err)
	}
	if err := st.ReleaseReservation(ctx, winner, "LAMP-2"); err != nil { // twice: harmless
		t.Fatal(err)
	}
	if err := st.Reserve(ctx, winner, "LAMP-2", 1); !errors.Is(err, recovery.ErrConflict) {
		t.Fatalf("reserving a released reservation again: %v, want a conflict", err)
	}
	for i, err := range errs {
		if id := "inc-" + string(rune('a'+i)); err == nil && id != winner {
			if err := st.ConsumeReservation(ctx, id, "LAMP-2"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if p, _ = st.Product(ctx, "LAMP-2"); p.Stock != 1 || p.Reserved != 0 {
		t.Fatalf("after one release and two sales: %+v, want stock 1, none reserved", p)
	}
}

func TestCodesAreSingleUse(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC()
	exp := now.Add(time.Hour)
	c, err := st.IssueCode(ctx, recovery.IssuedCode{Code: "SORRY-AAAA", IncidentID: "inc-1", Remedy: recovery.RemedyDiscount,
		ValueMinor: 500, Currency: "EUR", ExpiresAt: &exp})
	if err != nil || c.Code != "SORRY-AAAA" || c.Status != recovery.CodeActive {
		t.Fatalf("issue: %+v %v", c, err)
	}
	// A retried activity with a fresh random code keeps the first.
	if again, err := st.IssueCode(ctx, recovery.IssuedCode{Code: "SORRY-BBBB", IncidentID: "inc-1", Remedy: recovery.RemedyDiscount,
		ValueMinor: 500, Currency: "EUR"}); err != nil || again.Code != "SORRY-AAAA" {
		t.Fatalf("re-issue: %+v %v", again, err)
	}
	if _, err := st.RedeemCode(ctx, "SORRY-AAAA", "o-2", now.Add(2*time.Hour)); !errors.Is(err, recovery.ErrConflict) {
		t.Fatalf("redeeming after expiry: %v, want a conflict", err)
	}
	if r, err := st.RedeemCode(ctx, "SORRY-AAAA", "o-2", now); err != nil || r.Status != recovery.CodeRedeemed || r.OrderID != "o-2" {
		t.Fatalf("redeem: %+v %v", r, err)
	}
	if _, err := st.RedeemCode(ctx, "SORRY-AAAA", "o-3", now); !errors.Is(err, recovery.ErrConflict) {
		t.Fatalf("second redemption: %v, want a conflict", err)
	}
	if _, err := st.RedeemCode(ctx, "SORRY-NONE", "o-3", now); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("unknown code: %v, want not found", err)
	}
	st.IssueCode(ctx, recovery.IssuedCode{Code: "CREDIT-CCCC", IncidentID: "inc-2", Remedy: recovery.RemedyStoreCredit, //nolint:errcheck
		ValueMinor: 500, Currency: "EUR"})
	if err := st.VoidCode(ctx, "inc-2", recovery.RemedyStoreCredit); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RedeemCode(ctx, "CREDIT-CCCC", "o-4", now); !errors.Is(err, recovery.ErrConflict) {
		t.Fatalf("redeeming a void code: %v, want a conflict", err)
	}
}

func TestOfferDetailsAuditAndBudget(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for i, status := range []string{recovery.OfferApplied, recovery.OfferPending, recovery.OfferApplied} {
		inc := recovery.Incident{ID: "inc-" + string(rune('a'+i)), OrderID: "o", Kind: recovery.KindLate, Status: recovery.IncidentOpen,
			DetectedAt: time.Now()}
		if err := st.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		cur := "EUR"
		if i == 2 {
			cur = "USD"
		}
		if err := st.SaveOffer(ctx, inc.ID, recovery.Offer{Remedy: recovery.RemedySubstitute, ValueMinor: 700, Currency: cur,
			Status: status, SubstituteSKU: "LAMP-2", Note: "instead of reship"}); err != nil {
			t.Fatal(err)
		}
	}
	if spent, err := st.ApprovedSince(ctx, "EUR", day); err != nil || spent != 700 {
		t.Fatalf("spent today = %d, %v; want the one applied EUR offer, 700", spent, err)
	}
	if err := st.Audit(ctx, recovery.AuditEntry{IncidentID: "inc-b", Actor: "alice", Action: "edit", At: time.Now(),
		Before: json.RawMessage(`{"v":1}`), After: json.RawMessage(`{"v":2}`), Note: "why"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetIncidentStatus(ctx, "inc-b", recovery.IncidentAwaitingApproval); err != nil {
		t.Fatal(err)
	}
	inc, err := st.GetIncident(ctx, "inc-b")
	if err != nil {
		t.Fatal(err)
	}
	if inc.Status != recovery.IncidentAwaitingApproval || inc.Offer.SubstituteSKU != "LAMP-2" || inc.Offer.Note != "instead of reship" ||
		len(inc.Audit) != 1 || inc.Audit[0].Actor != "alice" || string(inc.Audit[0].After) != `{"v": 2}` {
		t.Fatalf("incident = %+v, audit %+v", inc, inc.Audit)
	}
}

func TestRelayedStockChangesReachTheCatalog(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if err := st.UpsertProducts(ctx, []recovery.Product{{SKU: "BULB-2", Category: "bulbs", Currency: "EUR", Stock: 40}}); err != nil {
		t.Fatal(err)
	}
	inv := func(id, sku string, available any) recovery.Event {
		data, _ := json.Marshal(map[string]any{"sku": sku, "available": available})
		return recovery.Event{ID: id, Source: "s", Type: recovery.TypeInventoryChanged, Time: time.Now(), Data: data}
	}
	if _, err := st.InsertEvents(ctx, []recovery.Event{inv("1", "bulb-2", 7), inv("2", "BULB-2", 3), inv("3", "NEW-1", 5),
		inv("4", "BAD-1", "lots")}); err != nil {
		t.Fatal(err)
	}
	c, err := st.ClaimPending(ctx, 10, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, p := range c.Events {
		seqs = append(seqs, p.Seq)
	}
	if err := c.Done(ctx, store.Outcome{Skipped: seqs, SkipNote: "no order"}); err != nil {
		t.Fatalf("a malformed stock event must not stop the relay: %v", err)
	}
	for sku, want := range map[string]int64{"BULB-2": 3, "NEW-1": 5} {
		if p, err := st.Product(ctx, sku); err != nil || p.Stock != want {
			t.Errorf("%s = %+v, %v; want stock %d (the last change)", sku, p, err, want)
		}
	}
	if _, err := st.Product(ctx, "BAD-1"); !errors.Is(err, recovery.ErrNotFound) {
		t.Errorf("a stock change without a number reached the catalog: %v", err)
	}
}

// Stock that the catalog cannot take (here an 8,000-character SKU, too
// long for its index, stored before ingest bounded it) is left out; it
// cannot undo the record of what was delivered, nor the other changes.
func TestStockTheCatalogCannotTakeIsLeftOut(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	inv := func(id, sku string, available int) recovery.Event {
		data, _ := json.Marshal(map[string]any{"sku": sku, "available": available})
		return recovery.Event{ID: id, Source: "s", Type: recovery.TypeInventoryChanged, Time: time.Now(), Data: data}
	}
	long := make([]byte, 8000) // random, so that Postgres cannot compress it into the index
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range long {
		long[i] = byte('a' + rng.IntN(26))
	}
	if _, err := st.InsertEvents(ctx, []recovery.Event{inv("bad", string(long), 1), inv("good", "BULB-2", 7)}); err != nil {
		t.Fatal(err)
	}
	c, err := st.ClaimPending(ctx, 10, time.Minute)
	if err != nil || len(c.Events) != 2 {
		t.Fatalf("claim %v, %v", c, err)
	}
	if err := c.Done(ctx, store.Outcome{Skipped: []int64{c.Events[0].Seq, c.Events[1].Seq}, SkipNote: "no order"}); err != nil {
		t.Fatalf("the stock change failed the relay: %v", err)
	}
	if n, _ := st.PendingCount(ctx); n != 0 {
		t.Fatalf("pending %d: both events were delivered", n)
	}
	if p, err := st.Product(ctx, "BULB-2"); err != nil || p.Stock != 7 {
		t.Fatalf("BULB-2 = %+v, %v: the good change must still apply", p, err)
	}
	if _, err := st.Product(ctx, strings.ToUpper(string(long))); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("the long SKU reached the catalog (%v): the test no longer exercises a refused value", err)
	}
}

// An audit row with a key is written once, however often its activity is
// retried; rows without a key are all kept.
func TestAuditRowsAreIdempotent(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if err := st.UpsertIncident(ctx, recovery.Incident{ID: "inc-a", OrderID: "o", Kind: recovery.KindLate, Status: "open",
		DetectedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e := recovery.AuditEntry{IncidentID: "inc-a", Actor: "alice", Action: "approve", At: time.Now(), Key: "run-1/5/approve"}
	for range 3 {
		if err := st.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	other := e
	other.Key = "run-1/9/approve"
	unkeyed := e
	unkeyed.Key = ""
	for _, x := range []recovery.AuditEntry{other, unkeyed, unkeyed} {
		if err := st.Audit(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	inc, err := st.GetIncident(ctx, "inc-a")
	if err != nil || len(inc.Audit) != 4 {
		t.Fatalf("audit %+v, %v: want the keyed row once, the other key once, the unkeyed rows twice", inc.Audit, err)
	}
}

// A thousand incidents reserving at the same moment never pass the day's
// budget; a reservation is taken once per incident and given back once.
func TestBudgetIsReservedAtomically(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	day := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	const budget, each, n = 50_000, 300, 1000
	var held atomic.Int64
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ok, _, err := st.ReserveBudget(ctx, fmt.Sprintf("inc-%d", i), "EUR", day, each, budget)
			if err != nil {
				t.Error(err)
			}
			if ok {
				held.Add(1)
			}
		})
	}
	wg.Wait()
	if want := int64(budget / each); held.Load() != want {
		t.Fatalf("%d reservations of %d held, want %d (%d / %d)", held.Load(), each, want, budget, each)
	}
	var reserved int64
	st.Pool().QueryRow(ctx, `SELECT reserved FROM budget_days WHERE currency = 'EUR' AND day = $1`, day).Scan(&reserved) //nolint:errcheck
	if reserved != held.Load()*each || reserved > budget {
		t.Fatalf("reserved %d, want %d and at most %d", reserved, held.Load()*each, budget)
	}
	// Again for an incident that holds one: the same answer, nothing more.
	if ok, _, err := st.ReserveBudget(ctx, "inc-0", "EUR", day, each, budget); err != nil || !ok {
		t.Fatalf("reserving again: %v, %v", ok, err)
	}
	for range 2 {
		if err := st.ReleaseBudget(ctx, "inc-0"); err != nil {
			t.Fatal(err)
		}
	}
	st.Pool().QueryRow(ctx, `SELECT reserved FROM budget_days WHERE currency = 'EUR' AND day = $1`, day).Scan(&reserved) //nolint:errcheck
	if reserved != (held.Load()-1)*each {
		t.Fatalf("after releasing one twice: %d, want %d", reserved, (held.Load()-1)*each)
	}
	if ok, before, err := st.ReserveBudget(ctx, "big", "EUR", day, budget+1, budget); err != nil || ok || before != reserved {
		t.Fatalf("an offer larger than the budget: %v (before %d), %v", ok, before, err)
	}
}

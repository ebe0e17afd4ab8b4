package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// openStore returns a migrated store on a fresh database.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	return storetest.Open(t)
}

func event(source, id, orderID string) recovery.Event {
	data, _ := json.Marshal(recovery.TrackingData{OrderID: orderID, ShipmentID: "s-1", Status: "in_transit",
		Location: &recovery.Location{Country: "DE"}})
	return recovery.Event{ID: id, Source: source, Type: recovery.TypeShipmentTracking,
		Time: time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC), Subject: "order/" + orderID, Data: data}
}

func TestMigrateIsIdempotent(t *testing.T) {
	st := openStore(t)
	n, err := st.Migrate(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("second migrate applied %d, err %v; want 0, nil", n, err)
	}
}

func TestInsertEventsReportsDuplicates(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	got, err := st.InsertEvents(ctx, []recovery.Event{event("a", "1", "o1"), event("a", "2", "o1"), event("a", "1", "o1")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{true, true, false}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("first insert = %v, want %v", got, want)
	}
	got, err = st.InsertEvents(ctx, []recovery.Event{event("a", "2", "o1"), event("b", "2", "o1")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []bool{false, true}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("second insert = %v, want %v (same id from another source is another event)", got, want)
	}
	if n, _ := st.PendingCount(ctx); n != 3 {
		t.Fatalf("pending = %d, want 3", n)
	}
}

func TestInboxSharesTransactions(t *testing.T) {
	st := openStore(t)
	in := store.NewInbox(st, 2, 1000)
	const n = 400
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			ins, err := in.Submit(context.Background(), []recovery.Event{event("inbox", fmt.Sprint(i), "o")})
			if err == nil && !ins[0] {
				err = fmt.Errorf("event %d reported duplicate", i)
			}
			if err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	in.Close()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	stats := in.Stats()
	if stats.Events != n {
		t.Fatalf("inbox committed %d events, want %d", stats.Events, n)
	}
	if stats.Commits >= n/2 {
		t.Fatalf("%d concurrent submissions took %d commits; want them grouped", n, stats.Commits)
	}
	if c, _ := st.PendingCount(context.Background()); c != n {
		t.Fatalf("stored %d events, want %d", c, n)
	}
	t.Logf("%d submissions in %d commits", n, stats.Commits)
}

func TestInboxIsolatesABadSubmission(t *testing.T) {
	st := openStore(t)
	in := store.NewInbox(st, 1, 1000)
	defer in.Close()
	bad := event("x", "bad", "o")
	bad.Data = json.RawMessage(`{"order_id":"o","note":"\u0000"}`) // jsonb refuses NUL
	var wg sync.WaitGroup
	var goodErr, badErr error
	wg.Go(func() { _, badErr = in.Submit(context.Background(), []recovery.Event{bad}) })
	wg.Go(func() { _, goodErr = in.Submit(context.Background(), []recovery.Event{event("x", "good", "o")}) })
	wg.Wait()
	if badErr == nil || goodErr != nil {
		t.Fatalf("bad submission err = %v (want an error), good err = %v (want nil)", badErr, goodErr)
	}
}

// TestInboxCommitsLargeSubmissionsAlone holds the inbox's one flusher
// on a row lock and checks that a submission of DirectMin events is
// committed all the same: it does not queue behind the commit in flight.
func TestInboxCommitsLargeSubmissionsAlone(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	in := store.NewInbox(st, 1, 1000)
	tx, err := st.Pool().Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if _, err := tx.Exec(ctx, `INSERT INTO events (source, id, type, occurred_at, data) VALUES ('x', 'held', 'shipment.tracking', now(), '{}')`); err != nil {
		t.Fatal(err)
	}
	small := make(chan error, 1)
	go func() {
		ins, err := in.Submit(ctx, []recovery.Event{event("x", "held", "o")})
		if err == nil && !ins[0] {
			err = errors.New("the held event was reported a duplicate after the other transaction rolled back")
		}
		small <- err
	}()
	// Until the flusher waits for the lock.
	for deadline := time.Now().Add(10 * time.Second); ; {
		var waiting int
		if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
		if waiting > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the flusher never waited for the held row")
		}
		time.Sleep(20 * time.Millisecond)
	}
	large := make([]recovery.Event, store.DirectMin)
	for i := range large {
		large[i] = event("x", fmt.Sprint("large-", i), "o")
	}
	done := make(chan error, 1)
	go func() {
		ins, err := in.Submit(ctx, large)
		if err == nil && (len(ins) != len(large) || !ins[0] || !ins[len(ins)-1]) {
			err = fmt.Errorf("inserted = %v", ins)
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a large submission waited behind the held commit")
	}
	if err := tx.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-small; err != nil {
		t.Fatal(err)
	}
	in.Close()
	if st := in.Stats(); st.Commits != 2 || st.Events != int64(store.DirectMin+1) {
		t.Fatalf("stats %+v, want 2 commits of %d events", st, store.DirectMin+1)
	}
}

func TestClaimLeasesAndDoneRecordsEachOutcome(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if _, err := st.InsertEvents(ctx, []recovery.Event{event("c", "1", "o1"), event("c", "2", "o2"), event("c", "3", ""),
		event("c", "4", "o4")}); err != nil {
		t.Fatal(err)
	}
	first, err := st.ClaimPending(ctx, 3, time.Minute)
	if err != nil || len(first.Events) != 3 || first.Events[0].Event.ID != "1" {
		t.Fatalf("first claim: %+v, err %v", first.Events, err)
	}
	second, err := st.ClaimPending(ctx, 10, time.Minute)
	if err != nil || len(second.Events) != 1 || second.Events[0].Event.ID != "4" {
		t.Fatalf("second claim must skip the leased events and get only event 4: %+v err %v", second.Events, err)
	}
	seq := map[string]int64{}
	for _, p := range append(first.Events, second.Events...) {
		seq[p.Event.ID] = p.Seq
	}
	if err := first.Done(ctx, store.Outcome{Relayed: []int64{seq["1"]}, Retry: []int64{seq["2"]},
		Skipped: []int64{seq["3"]}, SkipNote: "no order"}); err != nil {
		t.Fatal(err)
	}
	if err := second.Done(ctx, store.Outcome{Dead: []store.Quarantined{{Seq: seq["4"], Kind: "invalid-argument", Note: "refused"}}}); err != nil {
		t.Fatal(err)
	}
	// 2 waits for its retry (a second); 4 is quarantined; 1 and 3 are done.
	if n, _ := st.PendingCount(ctx); n != 1 {
		t.Fatalf("pending = %d, want 1 (the retried one)", n)
	}
	var attempts int
	var wait time.Duration
	if err := st.Pool().QueryRow(ctx, `SELECT attempts, extract(epoch FROM next_attempt_at - now())::float8 * interval '1 second'
		FROM events WHERE seq = $1`, seq["2"]).Scan(&attempts, &wait); err != nil || attempts != 1 || wait <= 0 || wait > time.Second {
		t.Fatalf("retried event: attempts %d, next in %s (%v); want 1 attempt and a wait of at most a second", attempts, wait, err)
	}
	b, err := st.Backlog(ctx)
	if err != nil || b.Pending != 1 || b.Dead != 1 || b.Oldest <= 0 {
		t.Fatalf("backlog %+v, %v", b, err)
	}
	if dead, _ := st.DeadEvents(ctx, 0, 10); len(dead) != 1 || dead[0].Seq != seq["4"] || dead[0].Note != "refused" {
		t.Fatalf("dead = %+v", dead)
	}
	if n, err := st.Requeue(ctx, nil); err != nil || n != 1 {
		t.Fatalf("requeue all = %d, %v", n, err)
	}
	if b, _ := st.Backlog(ctx); b.Pending != 2 || b.Dead != 0 {
		t.Fatalf("after requeue: %+v", b)
	}
}

func TestRetryBackoffGrowsToFiveMinutes(t *testing.T) {
	for attempts, want := range map[int]time.Duration{0: time.Second, 1: 2 * time.Second, 5: 32 * time.Second,
		8: 256 * time.Second, 9: 5 * time.Minute, 100: 5 * time.Minute} {
		if got := store.RetryBackoff(attempts); got != want {
			t.Errorf("after %d attempts: %s, want %s", attempts, got, want)
		}
	}
}

func TestIncidentProjectionAndLedger(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	inc := recovery.Incident{ID: "inc-1", OrderID: "1001", ShipmentID: "s-1", Kind: recovery.KindMisrouted,
		Status: recovery.IncidentOpen, DetectedAt: time.Now().UTC().Truncate(time.Millisecond), Evidence: []string{"evt-5"}}
	if err := st.UpsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertIncident(ctx, inc); err != nil {
		t.Fatalf("upsert must be idempotent: %v", err)
	}
	offer := recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR", Status: recovery.OfferApproved}
	if err := st.SaveOffer(ctx, inc.ID, offer); err != nil {
		t.Fatal(err)
	}
	c := recovery.Contact{IncidentID: inc.ID, Step: 1, Channel: "email", To: "ada@example.com",
		Subject: "Sorry", Body: "text", Status: recovery.ContactSending}
	if _, found, err := st.BeginContact(ctx, c); err != nil || found {
		t.Fatalf("first BeginContact found=%v err=%v", found, err)
	}
	if err := st.FinishContact(ctx, inc.ID, 1, "email", recovery.ContactSent, "capture-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	again, found, err := st.BeginContact(ctx, c)
	if err != nil || !found || again.ProviderID != "capture-1" || again.Status != recovery.ContactSent {
		t.Fatalf("retried BeginContact = %+v found=%v err=%v; want the sent row", again, found, err)
	}
	got, err := st.GetIncident(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Offer == nil || got.Offer.ValueMinor != 1350 || len(got.Contacts) != 1 || got.Contacts[0].To != "ada@example.com" {
		t.Fatalf("incident read back wrong: %+v", got)
	}
	list, err := st.ListIncidents(ctx, recovery.IncidentFilter{OrderID: "1001"})
	if err != nil || len(list) != 1 {
		t.Fatalf("list by order: %d, %v", len(list), err)
	}
	if list, _ := st.ListIncidents(ctx, recovery.IncidentFilter{OrderID: "other"}); len(list) != 0 {
		t.Fatalf("filter by order returned %d incidents of another order", len(list))
	}
	if _, err := st.GetIncident(ctx, "nope"); err == nil {
		t.Fatal("missing incident: want not found")
	}
}

func TestOrderForTracking(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	data, _ := json.Marshal(recovery.ShipmentData{OrderID: "o7", ShipmentID: "s-9", Carrier: "ups", TrackingNumber: "1Z999"})
	ev := recovery.Event{ID: "sc", Source: "shop", Type: recovery.TypeShipmentCreated, Time: time.Now(), Data: data}
	if _, err := st.InsertEvents(ctx, []recovery.Event{ev, event("a", "x", "o8")}); err != nil {
		t.Fatal(err)
	}
	order, shipment, ok, err := st.OrderForTracking(ctx, "1Z999")
	if err != nil || !ok || order != "o7" || shipment != "s-9" {
		t.Fatalf("got %q %q %v %v, want o7 s-9", order, shipment, ok, err)
	}
	if _, _, ok, err := st.OrderForTracking(ctx, "1Z000"); ok || err != nil {
		t.Fatalf("unknown number: ok %v err %v", ok, err)
	}
}

func TestDecisionAndCustomerHistory(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	for i, ago := range []time.Duration{5 * 24 * time.Hour, 40 * 24 * time.Hour, 200 * 24 * time.Hour} {
		id := fmt.Sprintf("inc-old-%d", i)
		if err := st.UpsertIncident(ctx, recovery.Incident{ID: id, OrderID: "o", Kind: recovery.KindLate, Status: "open",
			DetectedAt: now.Add(-ago), CustomerKey: "email:ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		st.SaveOffer(ctx, id, recovery.Offer{Remedy: "discount", ValueMinor: 700, Currency: "EUR", Status: "approved"}) //nolint:errcheck
	}
	h, err := st.CustomerHistory(ctx, "email:ada@example.com", "EUR", now.Add(time.Minute), "inc-new")
	if err != nil || h.Incidents90d != 2 {
		t.Fatalf("history %+v, %v: want 2 incidents within 90 days", h, err)
	}
	// Offers were all created just now, so all three count within 30 days.
	if h.CompensatedMinor30d != 2100 {
		t.Fatalf("compensated %d, want 2100", h.CompensatedMinor30d)
	}
	d := recovery.RemedyDecision{PolicyVersion: "v3", Rule: "everything else",
		Trace: []recovery.RuleTrace{{Rule: "lost", Why: "condition is false"}, {Rule: "everything else", Matched: true}}}
	if err := st.SaveDecision(ctx, "inc-old-0", d); err != nil {
		t.Fatal(err)
	}
	got, err := st.GetIncident(ctx, "inc-old-0")
	if err != nil || got.Decision == nil || got.Decision.PolicyVersion != "v3" || len(got.Decision.Trace) != 2 || got.Decision.Trace[0].Why == "" {
		t.Fatalf("incident decision %+v, %v", got.Decision, err)
	}
	if err := st.SaveDecision(ctx, "nope", d); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("unknown incident: %v", err)
	}
}

func TestStoreKeepsTheHistoryContract(t *testing.T) {
	st := openStore(t)
	recoverytest.HistoryContract(t, st, func(id string, made, approved time.Time) {
		if err := st.SetOfferTimes(context.Background(), id, made, approved); err != nil {
			t.Fatal(err)
		}
	})
}

// TestIncidentPagesSeeEachIncidentOnce pages through incidents of which
// several share a detection time, with a cursor after each page's last,
// and finds every incident exactly once, newest first.
func TestIncidentPagesSeeEachIncidentOnce(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 12, 0, 0, 123456000, time.UTC)
	var want []string
	for i := range 23 {
		at := base.Add(-time.Duration(i/3) * time.Minute) // three at each time
		inc := recovery.Incident{ID: fmt.Sprintf("inc-%02d", i), OrderID: fmt.Sprintf("o-%d", i), Kind: recovery.KindLate,
			Status: recovery.IncidentOpen, DetectedAt: at}
		if err := st.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		want = append(want, inc.ID) // the list's order: newest first, then by id
	}
	var got []string
	var after *recovery.IncidentCursor
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("paging does not end")
		}
		list, err := st.ListIncidents(ctx, recovery.IncidentFilter{Limit: 5, After: after})
		if err != nil {
			t.Fatal(err)
		}
		for _, inc := range list {
			got = append(got, inc.ID)
		}
		if len(list) < 5 {
			break
		}
		last := list[len(list)-1]
		after = &recovery.IncidentCursor{DetectedAt: last.DetectedAt, ID: last.ID}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("pages gave\n%v\nwant\n%v", got, want)
	}
}

// TestPastIncidentsCarryTheExceptionCode: a carrier exception replays with
// the code of the scan it rests on (its evidence), as its detection saw it:
// lower case, and failed_attempt for a failed attempt without one; a
// carrier exception whose scan is not stored, and any other kind, have
// none.
func TestPastIncidentsCarryTheExceptionCode(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	scan := func(orderID, id, status, code string) recovery.Event {
		data, _ := json.Marshal(recovery.TrackingData{OrderID: orderID, ShipmentID: "s-1", Status: status, ExceptionCode: code})
		return recovery.Event{ID: id, Source: "carrier", Type: recovery.TypeShipmentTracking, Time: at, Data: data}
	}
	if _, err := st.InsertEvents(ctx, []recovery.Event{scan("1", "e-1", "in_transit", ""), scan("1", "e-2", "exception", " Damaged "),
		scan("2", "e-3", "failed_attempt", ""), scan("3", "e-4", "in_transit", "")}); err != nil {
		t.Fatal(err)
	}
	for _, inc := range []recovery.Incident{
		{ID: "inc-damaged", OrderID: "1", Kind: recovery.KindCarrierException, Evidence: []string{"e-2"}},
		{ID: "inc-attempt", OrderID: "2", Kind: recovery.KindCarrierException, Evidence: []string{"e-3"}},
		{ID: "inc-unstored", OrderID: "2", Kind: recovery.KindCarrierException, Evidence: []string{"e-9"}},
		{ID: "inc-stalled", OrderID: "3", Kind: recovery.KindStalled, Evidence: []string{"e-4"}},
	} {
		inc.ShipmentID, inc.Status, inc.DetectedAt = "s-1", recovery.IncidentOpen, at
		if err := st.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
	}
	past, err := st.PastIncidents(ctx, at.Add(-time.Minute), 100)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range past {
		got[p.Incident.ID] = p.Code
	}
	want := map[string]string{"inc-damaged": "damaged", "inc-attempt": "failed_attempt", "inc-unstored": "", "inc-stalled": ""}
	if !maps.Equal(got, want) {
		t.Fatalf("the past incidents' codes are %v, want %v", got, want)
	}
}

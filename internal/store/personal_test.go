package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Activities read the customer from the events, in event-time order; the
// offer's code from the codes, whatever the workflow saved.
func TestOrderContactAndOfferCode(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	ev := func(id, typ string, when time.Time, data string) recovery.Event {
		return recovery.Event{ID: id, Source: "shop", Type: typ, Time: when, Data: json.RawMessage(data)}
	}
	// The update is older than the order.created that arrives after it:
	// the created customer is overridden by nothing; the later phone wins.
	if _, err := st.InsertEvents(ctx, []recovery.Event{
		ev("u1", recovery.TypeCustomerUpdated, at.Add(time.Hour), `{"order_id":"o1","customer":{"name":"Ada","phone":"+4915112345678"}}`),
		ev("c1", recovery.TypeOrderCreated, at, `{"order_id":"o1","currency":"EUR","customer":{"name":"Ada","email":"ada@example.com"},
			"shipping_address":{"line1":"Hauptstr. 5","country":"DE"}}`),
		ev("u2", recovery.TypeOrderUpdated, at.Add(2*time.Hour), `{"order_id":"o1","total_minor":10}`),
	}); err != nil {
		t.Fatal(err)
	}
	oc, err := st.OrderContact(ctx, "o1")
	if err != nil || oc.Customer.Phone != "+4915112345678" || oc.Customer.Email != "" || oc.Address.Line1 != "Hauptstr. 5" {
		t.Fatalf("contact = %+v, %v", oc, err)
	}
	if _, err := st.OrderContact(ctx, "nobody"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("unknown order: %v", err)
	}

	if err := st.UpsertIncident(ctx, recovery.Incident{ID: "inc-1", OrderID: "o1", Kind: recovery.KindLate, Status: "open",
		DetectedAt: at}); err != nil {
		t.Fatal(err)
	}
	if code, err := st.OfferCode(ctx, "inc-1", recovery.RemedyDiscount); err != nil || code != "" {
		t.Fatalf("no code yet: %q, %v", code, err)
	}
	if _, err := st.IssueCode(ctx, recovery.IssuedCode{Code: "SORRY-AAAA", IncidentID: "inc-1", Remedy: recovery.RemedyDiscount,
		ValueMinor: 500, Currency: "EUR"}); err != nil {
		t.Fatal(err)
	}
	// The workflow saves the offer without the code: the store fills it in
	// and keeps it across later saves of the same remedy.
	o := recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 500, Currency: "EUR", Status: recovery.OfferApproved}
	for _, status := range []string{recovery.OfferApproved, recovery.OfferApplied} {
		o.Status = status
		if err := st.SaveOffer(ctx, "inc-1", o); err != nil {
			t.Fatal(err)
		}
		if inc, err := st.GetIncident(ctx, "inc-1"); err != nil || inc.Offer == nil || inc.Offer.Code != "SORRY-AAAA" {
			t.Fatalf("offer after saving it %s: %+v, %v", status, inc.Offer, err)
		}
	}
	if code, err := st.OfferCode(ctx, "inc-1", recovery.RemedyDiscount); err != nil || code != "SORRY-AAAA" {
		t.Fatalf("code = %q, %v", code, err)
	}
	// Another remedy has no code.
	o.Remedy = recovery.RemedyRefund
	st.SaveOffer(ctx, "inc-1", o) //nolint:errcheck
	if inc, _ := st.GetIncident(ctx, "inc-1"); inc.Offer.Code != "" {
		t.Fatalf("a refund kept the discount's code: %+v", inc.Offer)
	}
}

// A finished order's projection comes back as it was saved, with the
// workflow's "source\x00id" keys.
func TestOrderStateRoundTrip(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if got, err := st.LoadOrderState(ctx, "o1"); err != nil || got != nil {
		t.Fatalf("no projection yet: %q, %v", got, err)
	}
	for _, state := range []string{`{"Seen":{"shop\u0000e1":true}}`, `{"Seen":{"shop\u0000e2":true}}`} {
		if err := st.SaveOrderState(ctx, "o1", []byte(state)); err != nil {
			t.Fatal(err)
		}
		if got, err := st.LoadOrderState(ctx, "o1"); err != nil || string(got) != state {
			t.Fatalf("projection = %q, %v; want %q", got, err, state)
		}
	}
}

func TestWebhookDeliveries(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if seen, err := st.SeenDelivery(ctx, "events/msg-1"); err != nil || seen {
		t.Fatalf("before: %v, %v", seen, err)
	}
	if err := st.RecordDelivery(ctx, "events/msg-1"); err != nil {
		t.Fatal(err)
	}
	if seen, err := st.SeenDelivery(ctx, "events/msg-1"); err != nil || !seen {
		t.Fatalf("after: %v, %v", seen, err)
	}
	st.Pool().Exec(ctx, `UPDATE webhook_deliveries SET seen_at = now() - interval '1 hour'`) //nolint:errcheck
	if seen, _ := st.SeenDelivery(ctx, "events/msg-1"); seen {
		t.Fatal("a delivery an hour old is still remembered: its timestamp fails the signature check anyway")
	}
	st.RecordDelivery(ctx, "events/msg-2") //nolint:errcheck
	var n int
	st.Pool().QueryRow(ctx, `SELECT count(*) FROM webhook_deliveries`).Scan(&n) //nolint:errcheck
	if n != 1 {
		t.Fatalf("%d deliveries kept, want the old one forgotten", n)
	}
}

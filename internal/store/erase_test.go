package store_test

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// dump returns every row of every table of the project's database as
// text, as a data-only pg_dump would hold it (bytea as hex).
func dump(t *testing.T, st *store.Store) string {
	t.Helper()
	ctx := context.Background()
	rows, err := st.Pool().Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, err := st.Pool().Query(ctx, `SELECT row_to_json(t)::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(table + "\n" + strings.Join(lines, "\n") + "\n")
	}
	return b.String()
}

// holds reports whether the dump holds s, as text or as bytea hex.
func holds(dump, s string) bool {
	d := strings.ToLower(dump)
	return strings.Contains(d, strings.ToLower(s)) || strings.Contains(d, hex.EncodeToString([]byte(s)))
}

// Erasure leaves nothing personal of the customer anywhere in the
// database, keeps the incident, its kind and its amounts, keeps STOP, and
// leaves other customers alone.
func TestEraseCustomer(t *testing.T) {
	ctx := context.Background()
	st, err := store.OpenWith(ctx, pgtest.URL(t), store.Options{OptOutKey: []byte("opt-out-key")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	order := func(id, cust, name, email, phone, street string) recovery.Event {
		city, lat := "Kleinmachnow", 52.401234
		if cust == "cust-bob" {
			city, lat = "Bleibstadt", 48.1
		}
		data, _ := json.Marshal(map[string]any{"order_id": id, "currency": "EUR", "total_minor": 8999,
			"customer":         map[string]any{"id": cust, "name": name, "email": email, "phone": phone, "locale": "de"},
			"shipping_address": map[string]any{"line1": street, "city": city, "postal_code": "14532", "country": "DE", "lat": lat, "lng": 13.221234},
			"lines":            []any{map[string]any{"sku": "LAMP-1", "quantity": 1, "unit_price_minor": 8999}}})
		return recovery.Event{ID: id + "-c", Source: "shop", Type: recovery.TypeOrderCreated, Time: at, Data: data}
	}
	zoe := []string{"Zoë Erasmus", "Zoe.Erasmus@example.com", "+49 170 5550 123", "Löschweg 9", "cust-zoe-7"}
	evs := []recovery.Event{
		order("z1", zoe[4], zoe[0], zoe[1], zoe[2], zoe[3]),
		order("z2", zoe[4], zoe[0], "zoe.old@example.com", "", zoe[3]),
		order("b1", "cust-bob", "Bob Keeper", "bob@example.com", "+4915199990000", "Bleibstr. 1"),
		{ID: "z1-u", Source: "shop", Type: recovery.TypeCustomerUpdated, Time: at.Add(time.Hour),
			Data: json.RawMessage(`{"customer": {"id": "cust-zoe-7", "name": "Zoë Erasmus", "email": "zoe.erasmus@example.com"}}`)},
		{ID: "z1-t", Source: "carrier", Type: recovery.TypeShipmentTracking, Time: at.Add(2 * time.Hour),
			Data: json.RawMessage(`{"order_id": "z1", "shipment_id": "s-1", "status": "delivered", "description": "left with Zoë Erasmus",
				"location": {"line1": "Löschweg 9", "postal_code": "14532", "country": "DE"}}`)},
	}
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	for _, o := range []string{"z1", "b1"} {
		inc := recovery.Incident{ID: "inc-" + o, OrderID: o, Kind: recovery.KindLate, Status: "open", DetectedAt: at, CustomerKey: "id:cust-" + o}
		if err := st.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		st.SaveOffer(ctx, inc.ID, recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR", Status: recovery.OfferApplied, Code: "SORRY-" + o}) //nolint:errcheck
		to, body := "zoe.erasmus@example.com", "Dear Zoë Erasmus, ... https://x/r/c.TOKEN"
		if o == "b1" {
			to, body = "bob@example.com", "Dear Bob Keeper"
		}
		if _, _, err := st.BeginContact(ctx, recovery.Contact{IncidentID: inc.ID, Step: 1, Channel: "email", To: to, Subject: "Sorry", Body: body, Status: "sent"}); err != nil {
			t.Fatal(err)
		}
		st.SaveCaptured(ctx, recovery.Message{Channel: "email", To: to, Subject: "Sorry", Text: body, IdempotencyKey: "k-" + o}) //nolint:errcheck
		st.Audit(ctx, recovery.AuditEntry{IncidentID: inc.ID, Actor: "alice", Action: "approve", At: at, Note: "called " + to})  //nolint:errcheck
	}
	// Zoë asked for a person, and ops wrote down what they did: her name
	// in the note goes with her erasure.
	if _, err := st.RecordContactEvent(ctx, recovery.ContactEvent{IncidentID: "inc-z1", Step: 1, Channel: "email",
		Outcome: recovery.OutcomeResponded, Detail: recovery.DetailPersonRequested}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPersonRequestHandled(ctx, "inc-z1", 1, "console:alice", "rang Zoë Erasmus back"); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveReply(ctx, "inc-z1", recovery.Reply{Step: 1, From: "zoe.erasmus@example.com", Subject: "Re: Sorry",
		Body: "Zoë Erasmus here, please call", ReceivedAt: at}); err != nil {
		t.Fatal(err)
	}
	// She answered WOW and told us more, in her own words.
	if err := st.SaveSurvey(ctx, "inc-z1", recovery.Survey{Answer: "wow", Via: "page", At: at}); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveSurveyComment(ctx, "inc-z1", "Zoë Erasmus says: the call made my day"); err != nil {
		t.Fatal(err)
	}
	st.OptOut(ctx, "email", "Zoe.Erasmus@example.com", "sms reply")                                                 //nolint:errcheck
	st.OptOut(ctx, "sms", "+491705550123", "sms reply")                                                             //nolint:errcheck
	st.SaveOrderState(ctx, "z1", []byte(`{"OrderID":"z1","Order":{"customer":{"id":"cust-zoe-7","locale":"de"}}}`)) //nolint:errcheck

	who, err := recovery.ParseCustomerRef("cust-zoe-7")
	if err != nil {
		t.Fatal(err)
	}
	exp, err := st.ExportCustomer(ctx, who)
	if err != nil || len(exp.Orders) != 2 || len(exp.Events) != 4 || len(exp.Incidents) != 1 || len(exp.OptOuts) != 2 || len(exp.Captured) != 1 {
		t.Fatalf("export: %d orders, %d events, %d incidents, %d opt-outs, %d captured (%v)", len(exp.Orders), len(exp.Events),
			len(exp.Incidents), len(exp.OptOuts), len(exp.Captured), err)
	}
	if sv := exp.Incidents[0].Survey; sv == nil || sv.Comment != "Zoë Erasmus says: the call made my day" {
		t.Fatalf("the export lacks what she told us more: %+v", sv)
	}
	if byEmail, err := st.ExportCustomer(ctx, recovery.CustomerRef{Email: "zoe.old@example.com"}); err != nil || len(byEmail.Orders) != 1 {
		t.Fatalf("export by an older email: %+v, %v", byEmail.Orders, err)
	}

	rep, err := st.EraseCustomer(ctx, who, "ops")
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Orders) != 2 || rep.Events != 4 || rep.Incidents != 1 || rep.Contacts != 1 || rep.CapturedMessages != 1 ||
		rep.AuditNotes != 2 || rep.OptOutsHashed != 2 || rep.OrderStates != 1 || rep.Replies != 1 {
		t.Fatalf("erasure report: %+v", rep)
	}
	d := dump(t, st)
	for _, s := range append(zoe, "zoe.old@example.com", "+491705550123", "Kleinmachnow", "52.401234", "TOKEN", "made my day") {
		if holds(d, s) {
			t.Errorf("after erasure the database still holds %q", s)
		}
	}
	for _, s := range []string{"Bob Keeper", "bob@example.com", "Bleibstr. 1", "cust-bob"} {
		if !holds(d, s) {
			t.Errorf("erasing Zoë removed Bob's %q", s)
		}
	}
	inc, err := st.GetIncident(ctx, "inc-z1")
	if err != nil || inc.Kind != recovery.KindLate || inc.Offer == nil || inc.Offer.ValueMinor != 1350 || len(inc.Contacts) != 1 ||
		inc.Contacts[0].Status != "sent" {
		t.Fatalf("the incident's facts are gone: %+v, %v", inc, err)
	}
	for ch, addr := range map[string]string{"email": "ZOE.ERASMUS@example.com", "sms": "+49 170 5550123"} {
		if out, err := st.OptedOut(ctx, ch, addr); err != nil || !out {
			t.Fatalf("STOP no longer holds for %s after erasure: %v, %v", ch, out, err)
		}
	}
	if _, err := st.OrderContact(ctx, "z1"); err != nil {
		t.Fatal(err)
	} else if oc, _ := st.OrderContact(ctx, "z1"); oc.Customer.Email != "" || oc.Address.Line1 != "" || oc.Address.PostalCode != "14532" {
		t.Fatalf("the order still names its customer: %+v", oc)
	}
	if t.Failed() {
		return
	}
	again, err := st.EraseCustomer(ctx, who, "ops")
	if err != nil || again.Events+again.Contacts+again.OptOutsHashed+again.CapturedMessages != 0 {
		t.Fatalf("a second erasure: %+v, %v", again, err)
	}
	if _, err := st.ExportCustomer(ctx, who); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("export after erasure: %v, want not found", err)
	}
}

// Retention purges what is older than it: relayed events, contacts,
// captured messages; pending events and incidents stay.
func TestPurge(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if _, err := st.InsertEvents(ctx, []recovery.Event{event("shop", "old", "o1"), event("shop", "pending", "o1")}); err != nil {
		t.Fatal(err)
	}
	st.Pool().Exec(ctx, `UPDATE events SET received_at = now() - interval '500 days'`)                                                     //nolint:errcheck
	st.Pool().Exec(ctx, `UPDATE events SET relayed_at = now() WHERE id = 'old'`)                                                           //nolint:errcheck
	st.UpsertIncident(ctx, recovery.Incident{ID: "inc-1", OrderID: "o1", Kind: recovery.KindLate, Status: "open", DetectedAt: time.Now()}) //nolint:errcheck
	st.BeginContact(ctx, recovery.Contact{IncidentID: "inc-1", Step: 1, Channel: "email", To: "a@example.com", Status: "sent"})            //nolint:errcheck
	st.SaveCaptured(ctx, recovery.Message{Channel: "email", To: "a@example.com", Text: "hi"})                                              //nolint:errcheck
	st.Pool().Exec(ctx, `UPDATE contacts SET created_at = now() - interval '500 days'`)                                                    //nolint:errcheck
	st.Pool().Exec(ctx, `UPDATE captured_messages SET created_at = now() - interval '500 days'`)                                           //nolint:errcheck
	if p, err := st.Purge(ctx, time.Now().Add(-400*24*time.Hour)); err != nil || p != (store.Purged{Events: 1, Contacts: 1, CapturedMessages: 1}) {
		t.Fatalf("purge: %+v, %v", p, err)
	}
	var events int
	st.Pool().QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events) //nolint:errcheck
	if inc, err := st.GetIncident(ctx, "inc-1"); err != nil || events != 1 || len(inc.Contacts) != 0 {
		t.Fatalf("after purge: %d events (want the pending one), incident %+v %v", events, inc, err)
	}
}

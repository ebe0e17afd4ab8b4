package activities

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/outbound"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// TestOutboundWebhooksNeverNameTheCustomer builds every webhook the
// remedies send, for an order whose customer has a name, an email, a
// phone and an address, through the real signed sender, and checks that
// what the receiver gets names the incident and the order and nothing of
// the customer.
func TestOutboundWebhooksNeverNameTheCustomer(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	var mu sync.Mutex
	bodies := map[string][]byte{} // by type
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if _, err := ingest.VerifyStandardWebhook(r.Header, body, []string{secret}, time.Now()); err != nil {
			t.Errorf("signature: %v", err)
		}
		var env recovery.OutboundWebhook
		if err := json.Unmarshal(body, &env); err != nil {
			t.Errorf("body %s: %v", body, err)
		}
		mu.Lock()
		bodies[env.Type] = body
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	customer := recovery.Customer{ID: "cust-ada-77", Name: "Ada Weber", Email: "Ada.Weber@example.com",
		Phone: "+4915112345678", Locale: "de-DE", TimeZone: "Europe/Berlin"}
	address := recovery.Location{Line1: "Invalidenstraße 117", City: "Berlin", Region: "BE", PostalCode: "10115", Country: "DE"}
	order := recovery.OrderData{OrderID: "1001", Currency: "EUR", TotalMinor: 8999, Customer: customer, ShippingAddress: address,
		Lines: []recovery.OrderLine{{SKU: "LAMP-1", Name: "Desk lamp", Category: "lamps", Quantity: 1, UnitPriceMinor: 8999}}}
	forbidden := []string{customer.ID, customer.Name, "Weber", customer.Email, strings.ToLower(customer.Email),
		customer.Phone, strings.TrimPrefix(customer.Phone, "+"), address.Line1, "Invalidenstr", address.City, address.PostalCode}

	expires := time.Date(2027, 2, 18, 9, 0, 0, 0, time.UTC)
	a := &Activities{Outbox: &outbound.Sender{URL: srv.URL, Secret: secret}}
	ctx := context.Background()
	offers := []recovery.Offer{
		{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR", Code: "SORRY-ABCD-EFGH-IJKL-MNOP", ExpiresAt: &expires},
		{Remedy: recovery.RemedyStoreCredit, ValueMinor: 2000, Currency: "EUR", Code: "CREDIT-ABCD-EFGH-IJKL-MNOP", ExpiresAt: &expires},
		{Remedy: recovery.RemedyReship, ValueMinor: 8999, Currency: "EUR", Expedited: true},
		{Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR"},
		{Remedy: recovery.RemedySubstitute, ValueMinor: 8999, Currency: "EUR", SubstituteSKU: "LAMP-2", SubstituteName: "Desk lamp, brass"},
	}
	for _, o := range offers {
		if err := a.CarryOut(ctx, CarryOutInput{IncidentID: "inc-1", Order: order, Offer: o}); err != nil {
			t.Fatalf("%s: %v", o.Remedy, err)
		}
	}
	pending := offers[2]
	pending.Status, pending.Options = recovery.OfferPending, offers
	if err := a.Escalate(ctx, EscalateInput{IncidentID: "inc-1", OrderID: order.OrderID, Role: "ops", Waited: 4 * time.Hour,
		Offer: pending}); err != nil {
		t.Fatal(err)
	}
	if err := a.RequestPerson(ctx, PersonRequestInput{IncidentID: "inc-1", OrderID: order.OrderID, Channel: recovery.ChannelVoice,
		Step: 1, Detail: recovery.DetailPersonRequested}); err != nil {
		t.Fatal(err)
	}

	types := []string{"remedy.discount", "remedy.store_credit", "remedy.reship", "remedy.refund", "remedy.substitute",
		"approval.escalated", "customer.person_requested"}
	var got []string
	for typ := range bodies {
		got = append(got, typ)
	}
	slices.Sort(got)
	if want := slices.Sorted(slices.Values(types)); !slices.Equal(got, want) {
		t.Fatalf("webhooks received: %v, want %v", got, want)
	}
	for _, typ := range types {
		body := bodies[typ]
		var doc struct {
			Data map[string]any `json:"data"`
		}
		if err := json.Unmarshal(body, &doc); err != nil || doc.Data["incident_id"] != "inc-1" || doc.Data["order_id"] != "1001" {
			t.Errorf("%s: data %v (%v), want it to name incident inc-1 and order 1001", typ, doc.Data, err)
		}
		// Every string in the body, decoded (so that escaping hides
		// nothing), and the raw bytes.
		var all any
		json.Unmarshal(body, &all) //nolint:errcheck
		texts := append(stringsIn(all), string(body))
		for _, s := range texts {
			for _, f := range forbidden {
				if strings.Contains(strings.ToLower(s), strings.ToLower(f)) {
					t.Errorf("%s names the customer (%q) in %q", typ, f, s)
				}
			}
		}
	}
}

// stringsIn lists every string in a decoded JSON value: keys and values.
func stringsIn(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = append(out, stringsIn(e)...)
		}
	case map[string]any:
		for k, e := range x {
			out = append(out, k)
			out = append(out, stringsIn(e)...)
		}
	}
	return out
}

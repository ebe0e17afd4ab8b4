package recovery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestEventForWorkflowCarriesNothingPersonal(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	order := Event{ID: "e1", Source: "shop", Type: TypeOrderCreated, Time: at, Data: json.RawMessage(`{
		"order_id": "1001", "currency": "EUR", "total_minor": 8999, "promised_delivery": "2026-11-24T18:00:00Z",
		"customer": {"id": "cust-7", "name": "Ada Weber", "email": "ada@example.com", "phone": "+4915112345678",
			"locale": "de-DE", "time_zone": "Europe/Berlin", "birthday": "1990-01-01"},
		"shipping_address": {"line1": "Hauptstr. 5", "city": "Potsdam", "region": "BE", "postal_code": "10115",
			"country": "DE", "lat": 52.5321, "lng": 13.3849},
		"lines": [{"sku": "LAMP-1", "name": "Desk lamp", "quantity": 1, "unit_price_minor": 8999, "gift_note": "for Ada"}],
		"notes": "ring twice, Ada"}`)}
	scan := Event{ID: "e2", Source: "carrier", Type: TypeShipmentTracking, Time: at, Data: json.RawMessage(`{
		"order_id": "1001", "shipment_id": "s-1", "status": "exception", "exception_code": "misrouted",
		"description": "MISSORTED at hub; left with J. SMITH, Hauptstr. 5",
		"location": {"line1": "Hauptstr. 5", "city": "Potsdam", "postal_code": "10115", "country": "DE", "lat": 52.5321, "lng": 13.3849}}`)}
	cancel := Event{ID: "e3", Source: "shop", Type: TypeOrderCancelled, Time: at,
		Data: json.RawMessage(`{"order_id": "1001", "reason": "Ada Weber called"}`)}
	customer := Event{ID: "e4", Source: "shop", Type: TypeCustomerUpdated, Time: at,
		Data: json.RawMessage(`{"order_id": "1001", "customer": {"id": "cust-7", "email": "new@example.com", "locale": "en"}}`)}

	var all strings.Builder
	for _, e := range []Event{order, scan, cancel, customer} {
		out := e.ForWorkflow()
		if out.ID != e.ID || out.Source != e.Source || out.Type != e.Type || !out.Time.Equal(e.Time) || out.Order() != "1001" {
			t.Fatalf("%s lost its envelope: %+v", e.Type, out)
		}
		all.Write(out.Data)
	}
	for _, personal := range []string{"Ada", "Weber", "ada@", "new@", "+49", "Hauptstr", "Potsdam", "SMITH", "birthday",
		"gift_note", "notes", "ring twice", "called", "52.5321", "13.3849"} {
		if strings.Contains(all.String(), personal) {
			t.Errorf("a workflow would get %q: %s", personal, all.String())
		}
	}

	// What detection and the policy need is all there.
	var d OrderData
	if err := json.Unmarshal(order.ForWorkflow().Data, &d); err != nil {
		t.Fatal(err)
	}
	if d.OrderID != "1001" || d.Currency != "EUR" || d.TotalMinor != 8999 || d.PromisedDelivery == nil ||
		d.Customer != (Customer{ID: "cust-7", Locale: "de-DE", TimeZone: "Europe/Berlin"}) ||
		d.ShippingAddress.PostalCode != "10115" || d.ShippingAddress.Country != "DE" || d.ShippingAddress.Region != "BE" ||
		*d.ShippingAddress.Lat != 52.5 || *d.ShippingAddress.Lng != 13.4 ||
		len(d.Lines) != 1 || d.Lines[0] != (OrderLine{SKU: "LAMP-1", Name: "Desk lamp", Quantity: 1, UnitPriceMinor: 8999}) {
		t.Fatalf("order for the workflow: %+v", d)
	}
	var tr TrackingData
	json.Unmarshal(scan.ForWorkflow().Data, &tr) //nolint:errcheck
	if tr.Description != "missort" || tr.ExceptionCode != "misrouted" || tr.Status != "exception" ||
		tr.Location == nil || tr.Location.PostalCode != "10115" || *tr.Location.Lat != 52.5 {
		t.Fatalf("scan for the workflow: %+v", tr)
	}

	// A partial order.updated still names only what it changes.
	upd := Event{ID: "e5", Source: "shop", Type: TypeOrderUpdated, Time: at,
		Data: json.RawMessage(`{"order_id": "1001", "promised_delivery": null, "customer": {"email": "x@example.com"}}`)}
	var present map[string]json.RawMessage
	json.Unmarshal(upd.ForWorkflow().Data, &present) //nolint:errcheck
	if len(present) != 3 || string(present["promised_delivery"]) != "null" || string(present["customer"]) != "{}" {
		t.Fatalf("partial update for the workflow: %s", upd.ForWorkflow().Data)
	}
}

// The store folds an order's personal side from its events in event-time
// order: the latest word wins, and a partial update keeps the rest.
func TestOrderContactApply(t *testing.T) {
	var oc OrderContact
	oc.Apply(TypeOrderCreated, []byte(`{"order_id":"1","customer":{"name":"Ada","email":"a@example.com"},"shipping_address":{"line1":"A 1","country":"DE"}}`))
	oc.Apply(TypeOrderUpdated, []byte(`{"order_id":"1","total_minor":5}`))
	if oc.Customer.Email != "a@example.com" || oc.Address.Line1 != "A 1" {
		t.Fatalf("a partial update erased the customer: %+v", oc)
	}
	oc.Apply(TypeCustomerUpdated, []byte(`{"order_id":"1","customer":{"name":"Ada","phone":"+4915112345678"}}`))
	oc.Apply(TypeOrderUpdated, []byte(`{"order_id":"1","shipping_address":{"line1":"B 2","country":"DE"}}`))
	if oc.Customer.Phone != "+4915112345678" || oc.Customer.Email != "" || oc.Address.Line1 != "B 2" {
		t.Fatalf("later words did not win: %+v", oc)
	}
}

package ingest

import (
	"errors"
	"net/http"
	"strings"
	"testing"
)

// fieldOf returns the single field a refused body names.
func fieldOf(t *testing.T, err error) string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) == 0 {
		t.Fatalf("err = %v, want a ValidationError", err)
	}
	return ve.Errors[0].Field
}

// Everything accepted must fit an index, a Temporal ID and a payload: each
// bound is refused by name, and what is just inside it passes.
func TestBounds(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	stock := `{"id":"i-1","source":"shop","type":"inventory.changed","time":"2026-11-20T10:00:00Z","data":{"sku":"SKU","available":3}}`
	lines := func(n int) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = `{"sku":"S","quantity":1,"unit_price_minor":1}`
		}
		return `"lines":[` + strings.Join(parts, ",") + `]`
	}
	origLines := `"lines":[{"sku":"LAMP-01","name":"Desk lamp","category":"lighting",
             "quantity":1,"unit_price_minor":8999}]`
	for _, tc := range []struct {
		name, body, field string // field "": accepted
	}{
		{"an 8,000-character sku", edit(t, stock, `"sku":"SKU"`, `"sku":"`+long(8000)+`"`), "data.sku"},
		{"a 200-character sku", edit(t, stock, `"sku":"SKU"`, `"sku":"`+long(200)+`"`), ""},
		{"a 3,000-character order id", edit(t, pinnedOrder, `"order_id":"1001"`, `"order_id":"`+long(3000)+`"`), "data.order_id"},
		{"a 201-character event id", edit(t, pinnedOrder, `"id":"evt-1"`, `"id":"`+long(201)+`"`), "id"},
		{"a 201-character source", edit(t, pinnedOrder, `"source":"shop-eu"`, `"source":"`+long(201)+`"`), "source"},
		{"a 201-character shipment id", edit(t, pinnedShipment, `"shipment_id":"s-1"`, `"shipment_id":"`+long(201)+`"`), "data.shipment_id"},
		{"a 201-character tracking number", edit(t, pinnedShipment, `"tracking_number":"JD0001"`, `"tracking_number":"`+long(201)+`"`), "data.tracking_number"},
		{"a 201-character customer id", edit(t, pinnedOrder, `"id":"c-7"`, `"id":"`+long(201)+`"`), "data.customer.id"},
		{"a 201-character line sku", edit(t, pinnedOrder, `"sku":"LAMP-01"`, `"sku":"`+long(201)+`"`), "data.lines[0].sku"},
		{"a line id with a tab", edit(t, pinnedOrder, `"sku":"LAMP-01"`, `"id":"a\tb","sku":"LAMP-01"`), "data.lines[0].id"},
		{"a 201-character name", edit(t, pinnedOrder, `"name":"Ada Weber"`, `"name":"`+long(201)+`"`), "data.customer.name"},
		{"a 1,001-character description", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"description":"`+long(1001)+`"`), "data.description"},
		{"a description with line breaks", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"description":"Arrived\nat facility"`), ""},
		{"a 3 MiB event", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"note":"`+long(3<<20)+`"`), "data"},
		{"1,001 order lines", edit(t, pinnedOrder, origLines, lines(1001)), "data.lines"},
		{"1,000 order lines", edit(t, pinnedOrder, origLines, lines(1000)), ""},
		{"a total beyond the money range", edit(t, pinnedOrder, `"total_minor":8999`, `"total_minor":100000000000001`), "data.total_minor"},
		{"a total beyond int64", edit(t, pinnedOrder, `"total_minor":8999`, `"total_minor":99999999999999999999`), "data.total_minor"},
		{"the largest total", edit(t, pinnedOrder, `"total_minor":8999`, `"total_minor":100000000000000`), ""},
		{"a unit price beyond the range", edit(t, pinnedOrder, `"unit_price_minor":8999`, `"unit_price_minor":1000000000000000`), "data.lines[0].unit_price_minor"},
		{"a quantity of two billion", edit(t, pinnedOrder, `"quantity":1`, `"quantity":2000000000`), "data.lines[0].quantity"},
		{"stock of minus two billion", edit(t, stock, `"available":3`, `"available":-2000000000`), "data.available"},
		{"gold as currency", edit(t, pinnedOrder, `"currency":"EUR"`, `"currency":"XAU"`), "data.currency"},
		{"a made-up currency", edit(t, pinnedOrder, `"currency":"EUR"`, `"currency":"ABC"`), "data.currency"},
		{"invalid UTF-8 in a name", edit(t, pinnedOrder, `"name":"Ada Weber"`, "\"name\":\"Ada \xff\xfe Weber\""), "data.customer.name"},
		{"invalid UTF-8 in an id", edit(t, pinnedOrder, `"id":"evt-1"`, "\"id\":\"evt-\xc3\""), "id"},
		{"a lone high surrogate", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"description":"Arrived \ud800 there"`), "data.description"},
		{"a lone low surrogate in a city", edit(t, pinnedOrder, `"city":"Berlin"`, `"city":"Berl\uDC00in"`), "data.shipping_address.city"},
		{"a reversed pair", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"description":"\ude00\ud83d"`), "data.description"},
		{"an emoji as a surrogate pair", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"description":"Arrived \ud83d\ude00"`), ""},
		{"an escaped backslash before u", edit(t, pinnedTracking, `"description":"Arrived at facility"`, `"description":"C:\\ud800 is a path"`), ""},
		{"a bad key", edit(t, pinnedOrder, `"currency":"EUR"`, "\"currency\":\"EUR\",\"n\xffte\":1"), "data.n\ufffdte"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseBody([]byte(tc.body))
			if tc.field == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := fieldOf(t, err); got != tc.field {
				t.Fatalf("field %q (%v), want %q", got, err, tc.field)
			}
		})
	}
}

// In a batch the bad text is named with its event's index, in every shape
// that carries events.
func TestBadTextNamedInBatches(t *testing.T) {
	bad := edit(t, pinnedOrder, `"name":"Ada Weber"`, "\"name\":\"Ada \xff\"")
	batch := `{"events":[` + pinnedShipment + `,` + pinnedTracking + `,` + bad + `]}`
	if _, err := ParseBody([]byte(batch)); fieldOf(t, err) != "events[2].data.customer.name" {
		t.Fatalf("batch: %v", err)
	}
	ce := func(canonical string) string {
		return strings.Replace(canonical, `"id":"evt-`, `"specversion":"1.0","id":"evt-`, 1)
	}
	ceBatch := `[` + ce(pinnedShipment) + `,` + ce(bad) + `]`
	_, err := ParseCloudEvents(http.Header{"Content-Type": {ContentTypeCloudEventsBatch}}, []byte(ceBatch))
	if fieldOf(t, err) != "events[1].data.customer.name" {
		t.Fatalf("CloudEvents batch: %v", err)
	}
	_, err = ParseCloudEvents(http.Header{"Content-Type": {ContentTypeCloudEvents}}, []byte(ce(bad)))
	if fieldOf(t, err) != "data.customer.name" {
		t.Fatalf("CloudEvents structured: %v", err)
	}
	h := http.Header{"Content-Type": {"application/json"}, "Ce-Specversion": {"1.0"}, "Ce-Id": {"e-1"},
		"Ce-Source": {"shop"}, "Ce-Type": {"order.created"}, "Ce-Time": {"2026-11-20T09:00:00Z"}}
	data := bad[strings.Index(bad, `"data":`)+len(`"data":`) : len(bad)-1]
	if _, err := ParseCloudEvents(h, []byte(data)); fieldOf(t, err) != "data.customer.name" {
		t.Fatalf("CloudEvents binary: %v", err)
	}
	h.Set("Ce-Source", "sh\xffop")
	if _, err := ParseCloudEvents(h, []byte(`{"order_id":"1"}`)); fieldOf(t, err) != "source" {
		t.Fatalf("CloudEvents binary header: %v", err)
	}
}

func TestPathAt(t *testing.T) {
	doc := `{"a":1,"b":{"c":[10,{"d":"x"},[7,"y"]],"e":"z"},"f":"w"}`
	for _, tc := range []struct{ at, want string }{
		{`"x"`, "b.c[1].d"}, {`"y"`, "b.c[2][1]"}, {`"z"`, "b.e"}, {`"w"`, "f"}, {`10`, "b.c[0]"}, {`"e"`, "b.e"},
	} {
		if got := pathAt([]byte(doc), strings.Index(doc, tc.at)); got != tc.want {
			t.Errorf("at %s: %q, want %q", tc.at, got, tc.want)
		}
	}
}

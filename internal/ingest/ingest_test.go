package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/recoveryhq/recovery/internal/recovery"
	"strings"
	"testing"
)

// The pinned examples of DESIGN §4 must pass as they are.
const (
	pinnedTracking = `{"id":"evt-81","source":"shop-eu","type":"shipment.tracking",
 "time":"2026-11-20T10:00:00Z","subject":"order/1001",
 "data":{"order_id":"1001","shipment_id":"s-1","carrier":"ups",
         "tracking_number":"1Z...","status":"in_transit",
         "location":{"city":"Memphis","region":"TN","postal_code":"38118","country":"US"},
         "exception_code":"","description":"Arrived at facility"}}`
	pinnedOrder = `{"id":"evt-1","source":"shop-eu","type":"order.created","time":"2026-11-20T09:00:00Z",
 "subject":"order/1001",
 "data":{"order_id":"1001","currency":"EUR","total_minor":8999,
   "promised_delivery":"2026-11-24T18:00:00Z",
   "customer":{"id":"c-7","name":"Ada Weber","email":"ada@example.com",
               "phone":"+493012345678","locale":"de-DE","time_zone":"Europe/Berlin"},
   "shipping_address":{"line1":"Invalidenstr. 1","city":"Berlin","postal_code":"10115",
                       "region":"BE","country":"DE"},
   "lines":[{"sku":"LAMP-01","name":"Desk lamp","category":"lighting",
             "quantity":1,"unit_price_minor":8999}]}}`
	pinnedShipment = `{"id":"evt-2","source":"shop-eu","type":"shipment.created","time":"2026-11-20T12:00:00Z",
 "subject":"order/1001",
 "data":{"order_id":"1001","shipment_id":"s-1","carrier":"dhl","tracking_number":"JD0001",
   "origin":{"city":"Leipzig","postal_code":"04103","country":"DE"},
   "lines":[{"sku":"LAMP-01","quantity":1}]}}`
)

// edit returns the pinned order with old replaced by new (exactly once).
func edit(t *testing.T, base, old, new string) string {
	t.Helper()
	if strings.Count(base, old) != 1 {
		t.Fatalf("fixture edit %q matches %d times", old, strings.Count(base, old))
	}
	return strings.Replace(base, old, new, 1)
}

func TestPinnedExamplesPass(t *testing.T) {
	for _, body := range []string{pinnedTracking, pinnedOrder, pinnedShipment,
		`{"events":[` + pinnedOrder + `,` + pinnedShipment + `,` + pinnedTracking + `]}`} {
		evs, err := ParseBody([]byte(body))
		if err != nil {
			t.Fatalf("pinned example rejected: %v", err)
		}
		for _, e := range evs {
			if fes := Validate(e); len(fes) > 0 {
				t.Fatalf("parsed event does not re-validate: %v", fes)
			}
		}
	}
}

func TestFieldRules(t *testing.T) {
	tests := []struct {
		name, body string
		field      string // the field that must be named; "" = valid
	}{
		{"unknown type", strings.Replace(pinnedTracking, "shipment.tracking", "shipment.teleported", 1), "type"},
		{"no id", strings.Replace(pinnedTracking, `"id":"evt-81",`, "", 1), "id"},
		{"empty source", strings.Replace(pinnedTracking, `"source":"shop-eu"`, `"source":" "`, 1), "source"},
		{"bad time", strings.Replace(pinnedTracking, "2026-11-20T10:00:00Z", "20/11/2026", 1), "time"},
		{"no data", `{"id":"a","source":"s","type":"order.cancelled","time":"2026-11-20T10:00:00Z"}`, "data"},
		{"cancel needs order", `{"id":"a","source":"s","type":"order.cancelled","time":"2026-11-20T10:00:00Z","data":{}}`, "data.order_id"},
		{"cancel ok", `{"id":"a","source":"s","type":"order.cancelled","time":"2026-11-20T10:00:00Z","data":{"order_id":"1"}}`, ""},
		{"float money", strings.Replace(pinnedOrder, `"total_minor":8999`, `"total_minor":89.99`, 1), "data.total_minor"},
		{"string money", strings.Replace(pinnedOrder, `"total_minor":8999`, `"total_minor":"8999"`, 1), "data.total_minor"},
		{"negative money", strings.Replace(pinnedOrder, `"total_minor":8999`, `"total_minor":-1`, 1), "data.total_minor"},
		{"lower currency", strings.Replace(pinnedOrder, `"EUR"`, `"eur"`, 1), "data.currency"},
		{"no country", strings.Replace(pinnedOrder, `"region":"BE","country":"DE"`, `"region":"BE"`, 1), "data.shipping_address.country"},
		{"long country", strings.Replace(pinnedOrder, `"country":"DE"}`, `"country":"DEU"}`, 1), "data.shipping_address.country"},
		{"no postal code", strings.Replace(pinnedOrder, `"postal_code":"10115",`, ``, 1), "data.shipping_address.postal_code"},
		{"no contact", strings.Replace(strings.Replace(pinnedOrder, `"email":"ada@example.com",`, "", 1), `"phone":"+493012345678",`, "", 1), "data.customer"},
		{"phone only ok", strings.Replace(pinnedOrder, `"email":"ada@example.com",`, "", 1), ""},
		{"bad email", strings.Replace(pinnedOrder, "ada@example.com", "ada at example", 1), "data.customer.email"},
		{"bad phone", strings.Replace(pinnedOrder, "+493012345678", "030 1234", 1), "data.customer.phone"},
		{"bad zone", strings.Replace(pinnedOrder, "Europe/Berlin", "Mars/Olympus", 1), "data.customer.time_zone"},
		{"bad locale", strings.Replace(pinnedOrder, `"de-DE"`, `"german!"`, 1), "data.customer.locale"},
		{"zero quantity", strings.Replace(pinnedOrder, `"quantity":1`, `"quantity":0`, 1), "data.lines[0].quantity"},
		{"no lines", strings.Replace(pinnedOrder, `"lines":[{"sku":"LAMP-01","name":"Desk lamp","category":"lighting",
             "quantity":1,"unit_price_minor":8999}]`, `"lines":[]`, 1), "data.lines"},
		{"bad promise", strings.Replace(pinnedOrder, "2026-11-24T18:00:00Z", "soon", 1), "data.promised_delivery"},
		{"update partial ok", `{"id":"u","source":"s","type":"order.updated","time":"2026-11-20T10:00:00Z","data":{"order_id":"1","promised_delivery":"2026-11-25T10:00:00Z"}}`, ""},
		{"update bad currency", `{"id":"u","source":"s","type":"order.updated","time":"2026-11-20T10:00:00Z","data":{"order_id":"1","currency":"euro"}}`, "data.currency"},
		{"bad status", strings.Replace(pinnedTracking, "in_transit", "teleported", 1), "data.status"},
		{"scan without country", strings.Replace(pinnedTracking, `,"country":"US"`, ``, 1), "data.location.country"},
		{"scan without location", strings.Replace(pinnedTracking, `"location":{"city":"Memphis","region":"TN","postal_code":"38118","country":"US"},`, ``, 1), "data.location"},
		{"bad latitude", strings.Replace(pinnedTracking, `"country":"US"`, `"country":"US","lat":91,"lng":0`, 1), "data.location.lat"},
		{"coordinates ok", strings.Replace(pinnedTracking, `"country":"US"`, `"country":"US","lat":35.1,"lng":-89.9`, 1), ""},
		{"no shipment id", strings.Replace(pinnedShipment, `"shipment_id":"s-1",`, ``, 1), "data.shipment_id"},
		{"origin bad country", strings.Replace(pinnedShipment, `"country":"DE"`, `"country":"12"`, 1), "data.origin.country"},
		{"inventory without order ok", `{"id":"i","source":"s","type":"inventory.changed","time":"2026-11-20T10:00:00Z","data":{"sku":"A","available":0}}`, ""},
		{"inventory float", `{"id":"i","source":"s","type":"inventory.changed","time":"2026-11-20T10:00:00Z","data":{"sku":"A","available":1.5}}`, "data.available"},
		{"NUL in data", strings.Replace(pinnedTracking, "Arrived at facility", `Arrived\u0000`, 1), "data.description"},
		{"extra fields ok", strings.Replace(pinnedTracking, `"carrier":"ups"`, `"carrier":"ups","x_custom":{"a":[1,2]}`, 1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseBody([]byte(tt.body))
			if tt.field == "" {
				if err != nil {
					t.Fatalf("valid body rejected: %v", err)
				}
				return
			}
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a ValidationError naming %s", err, tt.field)
			}
			for _, fe := range verr.Errors {
				if fe.Field == tt.field {
					if strings.Contains(fe.Message, "ada@") || strings.Contains(fe.Message, "+49") {
						t.Fatalf("message echoes personal data: %q", fe.Message)
					}
					return
				}
			}
			t.Fatalf("errors %v do not name %s", verr.Errors, tt.field)
		})
	}
}

func TestBatchNamesEveryBadEvent(t *testing.T) {
	bad1 := strings.Replace(pinnedTracking, `"status":"in_transit"`, `"status":"nope"`, 1)
	bad2 := strings.Replace(strings.Replace(pinnedOrder, `"EUR"`, `"eur"`, 1), `"quantity":1`, `"quantity":-2`, 1)
	body := `{"events":[` + pinnedShipment + `,` + bad1 + `,` + bad2 + `]}`
	_, err := ParseBody([]byte(body))
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v", err)
	}
	got := map[string]bool{}
	for _, fe := range verr.Errors {
		got[fe.Field] = true
	}
	for _, want := range []string{"events[1].data.status", "events[2].data.currency", "events[2].data.lines[0].quantity"} {
		if !got[want] {
			t.Errorf("missing %s in %v", want, verr.Errors)
		}
	}
	if len(got) != 3 {
		t.Errorf("named %d fields, want exactly 3: %v", len(got), verr.Errors)
	}
}

func TestBatchLimitsAndDuplicates(t *testing.T) {
	events := make([]string, 1001)
	for i := range events {
		events[i] = strings.Replace(pinnedTracking, "evt-81", fmt.Sprintf("e-%d", i), 1)
	}
	for name, body := range map[string]string{
		"over limit": `{"events":[` + strings.Join(events, ",") + `]}`,
		"empty":      `{"events":[]}`,
		"not array":  `{"events":{}}`,
	} {
		var verr *ValidationError
		if _, err := ParseBody([]byte(body)); !errors.As(err, &verr) || verr.Errors[0].Field != "events" {
			t.Errorf("%s: err = %v, want a ValidationError on events", name, err)
		}
	}
	if evs, err := ParseBody([]byte(`{"events":[` + strings.Join(events[:1000], ",") + `]}`)); err != nil || len(evs) != 1000 {
		t.Fatalf("1000 events: %d, %v", len(evs), err)
	}
	dup := `{"events":[` + pinnedTracking + `,` + pinnedTracking + `]}`
	var verr *ValidationError
	if _, err := ParseBody([]byte(dup)); !errors.As(err, &verr) || verr.Errors[0].Field != "events[1].id" {
		t.Fatalf("same key twice in one batch: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	for _, body := range []string{"", "   ", `{"id":`, `[1,2`, `"x"`, `{"id":"a",}`} {
		var serr *SyntaxError
		if _, err := ParseBody([]byte(body)); !errors.As(err, &serr) {
			t.Errorf("%q: err = %v, want a SyntaxError", body, err)
		}
	}
	// An array of things other than events names each element.
	var verr *ValidationError
	if _, err := ParseBody([]byte(`[1,2]`)); !errors.As(err, &verr) || len(verr.Errors) != 2 || verr.Errors[1].Field != "events[1]" {
		t.Errorf("[1,2]: err = %v, want a ValidationError naming events[0] and events[1]", err)
	}
}

// TestArraysAndNDJSONAreBatches reads the same two events as a JSON array
// and as NDJSON (with a blank line): both are the batch; a line that is
// not an object is refused naming its line, and nothing else is kept.
func TestArraysAndNDJSONAreBatches(t *testing.T) {
	want, err := ParseBody([]byte(`{"events":[` + pinnedOrder + `,` + pinnedTracking + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	arr, err := ParseBody([]byte(" [" + pinnedOrder + "," + pinnedTracking + "]\n"))
	if err != nil || len(arr) != 2 || arr[0].ID != want[0].ID || arr[1].ID != want[1].ID {
		t.Fatalf("array: %d events, %v", len(arr), err)
	}
	compact := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	nd, err := NDJSONBatch([]byte(compact(pinnedOrder) + "\n\n" + compact(pinnedTracking) + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	evs, err := ParseBody(nd)
	if err != nil || len(evs) != 2 || evs[0].ID != want[0].ID || evs[1].ID != want[1].ID {
		t.Fatalf("NDJSON: %d events, %v", len(evs), err)
	}
	var serr *SyntaxError
	if _, err := NDJSONBatch([]byte(compact(pinnedOrder) + "\n[1]\n")); !errors.As(err, &serr) || !strings.Contains(serr.Msg, "line 2") {
		t.Errorf("a line that is not an object: %v, want a SyntaxError naming line 2", err)
	}
	if _, err := NDJSONBatch([]byte("\n \n")); !errors.As(err, &serr) {
		t.Errorf("no events: %v, want a SyntaxError", err)
	}
}

func TestNormalisation(t *testing.T) {
	body := strings.Replace(strings.Replace(pinnedOrder, `"country":"DE"`, `"country":"de"`, 1), `"subject":"order/1001",`, "", 1)
	evs, err := ParseBody([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].Subject != "order/1001" {
		t.Errorf("subject = %q, want order/1001", evs[0].Subject)
	}
	var d struct {
		TotalMinor      json.Number              `json:"total_minor"`
		ShippingAddress struct{ Country string } `json:"shipping_address"`
	}
	json.Unmarshal(evs[0].Data, &d) //nolint:errcheck
	if d.ShippingAddress.Country != "DE" || d.TotalMinor != "8999" {
		t.Errorf("normalised data = %+v", d)
	}
}

func FuzzParseBody(f *testing.F) {
	for _, s := range []string{pinnedOrder, pinnedShipment, pinnedTracking, `{"events":[` + pinnedOrder + `]}`, `{}`, `{"events":[]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := ParseBody(body)
		if err != nil {
			return
		}
		if len(evs) == 0 {
			t.Fatal("accepted a body with no events")
		}
		for _, e := range evs {
			if fes := Validate(e); len(fes) > 0 {
				t.Fatalf("accepted event does not re-validate: %v", fes)
			}
		}
	})
}

func TestParseBodyLeavesBodyAlone(t *testing.T) {
	body := []byte(`{"events":[` + pinnedOrder + `,` + pinnedShipment + `]}`)
	before := string(body)
	if _, err := ParseBody(body); err != nil {
		t.Fatal(err)
	}
	if string(body) != before {
		t.Fatal("ParseBody wrote into the request body")
	}
}

func TestBatchElementNotObject(t *testing.T) {
	var verr *ValidationError
	_, err := ParseBody([]byte(`{"events":[` + pinnedOrder + `, 7, "x"]}`))
	if !errors.As(err, &verr) || len(verr.Errors) != 2 ||
		verr.Errors[0].Field != "events[1]" || verr.Errors[1].Field != "events[2]" {
		t.Fatalf("got %v, want events[1] and events[2] named", err)
	}
}

func TestOrderIDCarried(t *testing.T) {
	evs, err := ParseBody([]byte(edit(t, pinnedOrder, `"order_id":"1001"`, `"order_id":" 1001 "`)))
	if err != nil {
		t.Fatal(err)
	}
	if evs[0].OrderID != "1001" || evs[0].Order() != "1001" || recovery.OrderIDOf(evs[0].Data) != "1001" {
		t.Fatalf("order id %q / payload %s, want 1001 trimmed in both", evs[0].OrderID, evs[0].Data)
	}
}

// Payloads share one decoder per batch; a bad one must not disturb the next.
func TestBadPayloadDoesNotDisturbNeighbours(t *testing.T) {
	bad := []string{`"x"`, `[1,2]`, `null`, `7`, `{}`}
	for _, data := range bad {
		body := `{"events":[` + pinnedOrder + `,` +
			strings.Replace(pinnedShipment, `"data":{`, `"data":`+data+`,"x":{`, 1) + `,` +
			edit(t, pinnedShipment, `"evt-2"`, `"evt-3"`) + `]}`
		var verr *ValidationError
		_, err := ParseBody([]byte(body))
		if !errors.As(err, &verr) {
			t.Fatalf("data %s: got %v, want a validation error", data, err)
		}
		for _, fe := range verr.Errors {
			if !strings.HasPrefix(fe.Field, "events[1].") {
				t.Fatalf("data %s: error %v names another event than events[1]", data, fe)
			}
		}
	}
}

func TestSubjectMustBePrintable(t *testing.T) {
	var verr *ValidationError
	_, err := ParseBody([]byte(edit(t, pinnedOrder, `"subject":"order/1001"`, `"subject":"order/\u00001001"`)))
	if !errors.As(err, &verr) || verr.Errors[0].Field != "subject" {
		t.Fatalf("got %v, want subject rejected", err)
	}
}

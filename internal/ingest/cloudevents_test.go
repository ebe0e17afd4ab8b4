package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// These tests complement cloud_test.go: binary mode field by field, the
// exact field errors ParseBody gives, and the batch limit's boundary.

func TestIsCloudEventsContentModes(t *testing.T) {
	cases := []struct {
		name   string
		header map[string]string
		want   bool
	}{
		{"structured", map[string]string{"Content-Type": "application/cloudevents+json"}, true},
		{"structured with charset", map[string]string{"Content-Type": "application/cloudevents+json; charset=utf-8"}, true},
		{"structured in upper case", map[string]string{"Content-Type": "Application/CloudEvents+JSON"}, true},
		{"batch", map[string]string{"Content-Type": "application/cloudevents-batch+json"}, true},
		{"binary", map[string]string{"Content-Type": "application/json", "Ce-Specversion": "1.0"}, true},
		{"canonical", map[string]string{"Content-Type": "application/json"}, false},
		{"other ce- header only", map[string]string{"Content-Type": "application/json", "Ce-Id": "evt-1"}, false},
		{"nothing", nil, false},
	}
	for _, tc := range cases {
		h := http.Header{}
		for k, v := range tc.header {
			h.Set(k, v)
		}
		if got := IsCloudEvents(h); got != tc.want {
			t.Errorf("%s: IsCloudEvents = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// binaryRequest turns a canonical event into binary mode: attributes as
// ce- headers, data as the body.
func binaryRequest(t *testing.T, canonical string) (http.Header, []byte) {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(canonical), &m); err != nil {
		t.Fatal(err)
	}
	h := ceHeader("application/json")
	h.Set("ce-specversion", "1.0")
	for _, k := range []string{"id", "source", "type", "time", "subject"} {
		var s string
		if err := json.Unmarshal(m[k], &s); err != nil {
			t.Fatalf("fixture %s: %v", k, err)
		}
		h.Set("ce-"+k, s)
	}
	return h, m["data"]
}

func TestCloudEventsBinaryTrackingAndExtensions(t *testing.T) {
	want, err := ParseBody([]byte(pinnedTracking))
	if err != nil {
		t.Fatal(err)
	}
	h, body := binaryRequest(t, pinnedTracking)
	h.Set("ce-traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	got, err := ParseCloudEvents(h, body)
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)

	m := structured(t, pinnedTracking)
	m["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	got, err = ParseCloudEvents(ceHeader(ContentTypeCloudEvents), mustJSON(m))
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)
}

func TestCloudEventsBinaryNamesTheField(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(h http.Header, body []byte) []byte
		field string
	}{
		{"missing ce-id", func(h http.Header, b []byte) []byte { h.Del("ce-id"); return b }, "id"},
		{"missing ce-source", func(h http.Header, b []byte) []byte { h.Del("ce-source"); return b }, "source"},
		{"missing ce-time", func(h http.Header, b []byte) []byte { h.Del("ce-time"); return b }, "time"},
		{"unknown ce-type", func(h http.Header, b []byte) []byte { h.Set("ce-type", "com.example.scan"); return b }, "type"},
		{"specversion 0.3", func(h http.Header, b []byte) []byte { h.Set("ce-specversion", "0.3"); return b }, "specversion"},
		{"text body", func(h http.Header, b []byte) []byte { h.Set("Content-Type", "text/plain"); return []byte("in transit") }, "datacontenttype"},
		{"empty body", func(h http.Header, b []byte) []byte { return nil }, "data"},
		{"array body", func(h http.Header, b []byte) []byte { return []byte(`[1]`) }, "data"},
		{"bad data field", func(h http.Header, b []byte) []byte {
			return []byte(strings.Replace(string(b), `"status":"in_transit"`, `"status":"teleported"`, 1))
		}, "data.status"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, body := binaryRequest(t, pinnedTracking)
			body = tc.edit(h, body)
			assertFieldError(t, h, body, tc.field)
		})
	}
}

// assertFieldError requires a ValidationError that names field.
func assertFieldError(t *testing.T, h http.Header, body []byte, field string) {
	t.Helper()
	evs, err := ParseCloudEvents(h, body)
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("got %d events, err %v; want a validation error naming %s", len(evs), err, field)
	}
	for _, fe := range verr.Errors {
		if fe.Field == field {
			return
		}
	}
	t.Fatalf("errors %v do not name %s", verr.Errors, field)
}

// The CloudEvents forms share ParseBody's validator: the same mistakes give
// the same field errors, word for word.
func TestCloudEventsSameErrorsAsParseBody(t *testing.T) {
	bad := edit(t, edit(t, pinnedOrder, `"currency":"EUR"`, `"currency":"eur"`),
		`"phone":"+493012345678"`, `"phone":"030 1234"`)
	var canonErr *ValidationError
	if _, err := ParseBody([]byte(bad)); !errors.As(err, &canonErr) {
		t.Fatalf("ParseBody: %v", err)
	}
	var ceErr *ValidationError
	if _, err := ParseCloudEvents(ceHeader(ContentTypeCloudEvents), mustJSON(structured(t, bad))); !errors.As(err, &ceErr) {
		t.Fatalf("structured: %v", err)
	}
	if !reflect.DeepEqual(ceErr.Errors, canonErr.Errors) {
		t.Fatalf("structured errors %v\nParseBody errors %v", ceErr.Errors, canonErr.Errors)
	}
	h, body := binaryRequest(t, bad)
	if _, err := ParseCloudEvents(h, body); !errors.As(err, &ceErr) || !reflect.DeepEqual(ceErr.Errors, canonErr.Errors) {
		t.Fatalf("binary: %v\nParseBody errors %v", err, canonErr.Errors)
	}

	if _, err := ParseBody([]byte(`{"events":[` + pinnedShipment + `,` + bad + `]}`)); !errors.As(err, &canonErr) {
		t.Fatalf("ParseBody batch: %v", err)
	}
	batch := mustJSON([]any{structured(t, pinnedShipment), structured(t, bad)})
	if _, err := ParseCloudEvents(ceHeader(ContentTypeCloudEventsBatch), batch); !errors.As(err, &ceErr) {
		t.Fatalf("batch: %v", err)
	}
	if !reflect.DeepEqual(ceErr.Errors, canonErr.Errors) {
		t.Fatalf("batch errors %v\nParseBody errors %v", ceErr.Errors, canonErr.Errors)
	}
	for _, fe := range ceErr.Errors {
		if strings.Contains(fe.Message, "030 1234") {
			t.Fatalf("error echoes the phone number: %v", fe)
		}
	}
}

func TestCloudEventsBatchLimitBoundary(t *testing.T) {
	batch := func(n int) []byte {
		evs := make([]map[string]any, n)
		for i := range evs {
			evs[i] = map[string]any{"specversion": "1.0", "id": fmt.Sprintf("evt-%d", i), "source": "shop-eu",
				"type": "order.cancelled", "time": "2026-11-20T09:00:00Z", "data": map[string]any{"order_id": "1001"}}
		}
		return mustJSON(evs)
	}
	evs, err := ParseCloudEvents(ceHeader(ContentTypeCloudEventsBatch), batch(MaxBatch))
	if err != nil || len(evs) != MaxBatch {
		t.Fatalf("a batch of exactly %d: %d events, %v", MaxBatch, len(evs), err)
	}
	assertFieldError(t, ceHeader(ContentTypeCloudEventsBatch), batch(MaxBatch+1), "events")
	assertFieldError(t, ceHeader(ContentTypeCloudEventsBatch), []byte(`[]`), "events")
}

func TestCloudEventsDataMustBeAnObject(t *testing.T) {
	m := structured(t, pinnedShipment)
	m["data"] = `{"order_id":"1001","shipment_id":"s-1"}` // JSON inside a string is still a string
	assertFieldError(t, ceHeader(ContentTypeCloudEvents), mustJSON(m), "data")
	delete(m, "data")
	assertFieldError(t, ceHeader(ContentTypeCloudEvents), mustJSON(m), "data")
	m["data_base64"] = "eyJvcmRlcl9pZCI6IjEwMDEifQ=="
	assertFieldError(t, ceHeader(ContentTypeCloudEvents), mustJSON(m), "data_base64")
}

// Envelope mistakes the SDK would reject first are named like ParseBody
// names them.
func TestCloudEventsEnvelopeErrorsNamed(t *testing.T) {
	mod := func(f func(m map[string]any)) []byte {
		m := structured(t, pinnedShipment)
		f(m)
		return mustJSON(m)
	}
	structuredCases := []struct {
		name  string
		body  []byte
		field string
	}{
		{"specversion 2.0", mod(func(m map[string]any) { m["specversion"] = "2.0" }), "specversion"},
		{"no specversion", mod(func(m map[string]any) { delete(m, "specversion") }), "specversion"},
		{"time not RFC 3339", mod(func(m map[string]any) { m["time"] = "20/11/2026" }), "time"},
		{"numeric id", mod(func(m map[string]any) { m["id"] = 81 }), "id"},
	}
	for _, tc := range structuredCases {
		t.Run(tc.name, func(t *testing.T) { assertFieldError(t, ceHeader(ContentTypeCloudEvents), tc.body, tc.field) })
	}
	batch := mustJSON([]any{structured(t, pinnedOrder), func() map[string]any {
		m := structured(t, pinnedShipment)
		m["time"] = "tomorrow"
		return m
	}()})
	assertFieldError(t, ceHeader(ContentTypeCloudEventsBatch), batch, "events[1].time")
	assertFieldError(t, ceHeader(ContentTypeCloudEventsBatch), []byte(`[null]`), "events[0]")

	h, body := binaryRequest(t, pinnedShipment)
	h.Set("ce-specversion", "2.0")
	assertFieldError(t, h, body, "specversion")
	h, body = binaryRequest(t, pinnedShipment)
	h.Set("ce-time", "tomorrow")
	assertFieldError(t, h, body, "time")
}

// The SDK's messages quote attribute values and surrounding bytes; none of
// that may reach an error.
func TestCloudEventsErrorsQuoteNothing(t *testing.T) {
	const secret = "ada@example.com"
	order := structured(t, pinnedOrder) // carries secret as the customer's email
	cases := map[string]struct {
		h    http.Header
		body []byte
	}{
		"time holds it": {ceHeader(ContentTypeCloudEvents), mustJSON(map[string]any{"specversion": "1.0", "id": "e",
			"source": "s", "type": "order.created", "time": secret, "data": order["data"]})},
		"bad id beside data": {ceHeader(ContentTypeCloudEvents), []byte(`{"data":` + string(mustJSON(order["data"])) +
			`,"specversion":"1.0","id":81,"source":"s","type":"order.created","time":"2026-11-20T09:00:00Z"}`)},
		"malformed after it": {ceHeader(ContentTypeCloudEvents), []byte(`{"specversion":"1.0","data":{"email":"` + secret + `" "x":1}}`)},
		"bad data_base64 beside it": {ceHeader(ContentTypeCloudEvents), []byte(`{"specversion":"1.0","id":"e","source":"s",` +
			`"type":"order.created","time":"2026-11-20T09:00:00Z","subject":"` + secret + `","data_base64":"` + secret + `"}`)},
		"binary time holds it": func() struct {
			h    http.Header
			body []byte
		} {
			h, body := binaryRequest(t, pinnedOrder)
			h.Set("ce-time", secret)
			return struct {
				h    http.Header
				body []byte
			}{h, body}
		}(),
	}
	for name, tc := range cases {
		_, err := ParseCloudEvents(tc.h, tc.body)
		if err == nil {
			t.Fatalf("%s: accepted", name)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "ada@") {
			t.Errorf("%s: error quotes the event: %v", name, err)
		}
	}
}

// Extensions are not part of the canonical event and are ignored, even
// those the SDK would refuse.
func TestCloudEventsInvalidExtensionsIgnored(t *testing.T) {
	want, err := ParseBody([]byte(pinnedShipment))
	if err != nil {
		t.Fatal(err)
	}
	m := structured(t, pinnedShipment)
	m["shop_region"] = "eu"
	m["routing"] = map[string]any{"lane": 3}
	got, err := ParseCloudEvents(ceHeader(ContentTypeCloudEvents), mustJSON(m))
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)
	h, body := binaryRequest(t, pinnedShipment)
	h.Set("ce-shop_region", "eu")
	if got, err = ParseCloudEvents(h, body); err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)
}

// The time keeps its offset, as ParseBody keeps it.
func TestCloudEventsTimeKeepsOffset(t *testing.T) {
	canonical := edit(t, pinnedShipment, `"2026-11-20T12:00:00Z"`, `"2026-11-20T13:00:00+01:00"`)
	want, err := ParseBody([]byte(canonical))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCloudEvents(ceHeader(ContentTypeCloudEvents), mustJSON(structured(t, canonical)))
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Time.String() != want[0].Time.String() {
		t.Fatalf("time %v, ParseBody gives %v", got[0].Time, want[0].Time)
	}
}

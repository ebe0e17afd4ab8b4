package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/recovery"
)

func ceHeader(ct string) http.Header {
	h := http.Header{}
	h.Set("Content-Type", ct)
	return h
}

// structured turns a canonical event into a structured-mode CloudEvent.
func structured(t *testing.T, canonical string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(canonical), &m); err != nil {
		t.Fatal(err)
	}
	m["specversion"] = "1.0"
	m["datacontenttype"] = "application/json"
	return m
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestCloudEventsStructuredMapsOneToOne(t *testing.T) {
	want, err := ParseBody([]byte(pinnedOrder))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCloudEvents(ceHeader(ContentTypeCloudEvents), mustJSON(structured(t, pinnedOrder)))
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)
}

func TestCloudEventsBatch(t *testing.T) {
	want, err := ParseBody([]byte(`{"events":[` + pinnedOrder + `,` + pinnedShipment + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	batch := []any{structured(t, pinnedOrder), structured(t, pinnedShipment)}
	got, err := ParseCloudEvents(ceHeader(ContentTypeCloudEventsBatch), mustJSON(batch))
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)
}

func TestCloudEventsBinary(t *testing.T) {
	want, _ := ParseBody([]byte(pinnedShipment))
	var m map[string]json.RawMessage
	json.Unmarshal([]byte(pinnedShipment), &m) //nolint:errcheck
	h := ceHeader("application/json")
	h.Set("ce-specversion", "1.0")
	h.Set("ce-id", "evt-2")
	h.Set("ce-source", "shop-eu")
	h.Set("ce-type", "shipment.created")
	h.Set("ce-time", "2026-11-20T12:00:00Z")
	h.Set("ce-subject", "order/1001")
	if !IsCloudEvents(h) {
		t.Fatal("binary mode not recognised")
	}
	got, err := ParseCloudEvents(h, m["data"])
	if err != nil {
		t.Fatal(err)
	}
	assertSameEvents(t, got, want)

	h.Del("ce-id")
	if _, err := ParseCloudEvents(h, m["data"]); err == nil {
		t.Fatal("binary mode without ce-id accepted")
	}
}

func assertSameEvents(t *testing.T, got, want []recovery.Event) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		var gd, wd any
		json.Unmarshal(g.Data, &gd) //nolint:errcheck
		json.Unmarshal(w.Data, &wd) //nolint:errcheck
		if g.ID != w.ID || g.Source != w.Source || g.Type != w.Type || !g.Time.Equal(w.Time) ||
			g.Subject != w.Subject || g.OrderID != w.OrderID || !reflect.DeepEqual(gd, wd) {
			t.Fatalf("event %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

func TestCloudEventsRejects(t *testing.T) {
	mod := func(f func(m map[string]any)) []byte {
		m := structured(t, pinnedOrder)
		f(m)
		return mustJSON(m)
	}
	cases := []struct {
		name, ct string
		body     []byte
		field    string
	}{
		{"bad field", ContentTypeCloudEvents, mod(func(m map[string]any) { m["data"].(map[string]any)["currency"] = "EURO" }), "data.currency"},
		{"old specversion", ContentTypeCloudEvents, mod(func(m map[string]any) { m["specversion"] = "0.3" }), "specversion"},
		{"no time", ContentTypeCloudEvents, mod(func(m map[string]any) { delete(m, "time") }), "time"},
		{"unknown type", ContentTypeCloudEvents, mod(func(m map[string]any) { m["type"] = "com.example.thing" }), "type"},
		{"base64 data", ContentTypeCloudEvents, mod(func(m map[string]any) { delete(m, "data"); m["data_base64"] = "e30=" }), "data_base64"},
		{"xml data", ContentTypeCloudEvents, mod(func(m map[string]any) { m["datacontenttype"] = "application/xml"; m["data"] = "<a/>" }), "datacontenttype"},
		{"batch element", ContentTypeCloudEventsBatch, mustJSON([]any{structured(t, pinnedOrder),
			func() map[string]any {
				m := structured(t, pinnedShipment)
				delete(m["data"].(map[string]any), "shipment_id")
				return m
			}()}),
			"events[1].data.shipment_id"},
		{"batch duplicate", ContentTypeCloudEventsBatch, mustJSON([]any{structured(t, pinnedOrder), structured(t, pinnedOrder)}), "events[1].id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseCloudEvents(ceHeader(tc.ct), tc.body)
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want a validation error naming %s", err, tc.field)
			}
			found := false
			for _, fe := range verr.Errors {
				found = found || fe.Field == tc.field
			}
			if !found {
				t.Fatalf("errors %v do not name %s", verr.Errors, tc.field)
			}
		})
	}
	var many []any
	for i := range MaxBatch + 1 {
		many = append(many, structured(t, strings.Replace(pinnedOrder, `"evt-1"`, fmt.Sprintf(`"evt-x%d"`, i), 1)))
	}
	if _, err := ParseCloudEvents(ceHeader(ContentTypeCloudEventsBatch), mustJSON(many)); err == nil {
		t.Fatal("batch over the limit accepted")
	}
	if _, err := ParseCloudEvents(ceHeader(ContentTypeCloudEvents), []byte(`{"specversion":`)); err == nil {
		t.Fatal("malformed JSON accepted")
	}
}

func FuzzParseCloudEvents(f *testing.F) {
	f.Add(true, []byte(`{"specversion":"1.0","id":"e1","source":"s","type":"order.cancelled","time":"2026-11-20T09:00:00Z","data":{"order_id":"1"}}`))
	f.Add(false, []byte(`[{"specversion":"1.0","id":"e1","source":"s","type":"order.cancelled","time":"2026-11-20T09:00:00Z","data":{"order_id":"1"}}]`))
	f.Add(false, []byte(`[]`))
	f.Add(true, []byte(`{"specversion":"1.0","data_base64":"AAAA"}`))
	f.Fuzz(func(t *testing.T, single bool, body []byte) {
		ct := ContentTypeCloudEventsBatch
		if single {
			ct = ContentTypeCloudEvents
		}
		evs, err := ParseCloudEvents(ceHeader(ct), body)
		if err != nil {
			return
		}
		for _, e := range evs {
			if errs := Validate(e); len(errs) > 0 {
				t.Fatalf("accepted an event the validator rejects: %v", errs)
			}
		}
	})
}

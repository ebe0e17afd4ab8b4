package native

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// The providers' own published samples (testdata/samples, sources in
// SOURCES.md) must map as the providers mean them.

// Shippo's published track_updated is DELIVERED with the pre-transit
// substatus information_received: a delivery, not a label.
func TestShippoPublishedDeliveredSample(t *testing.T) {
	got := trackings(t, mapFixture(t, "shippo", Request{Body: fixture(t, "samples/shippo_track_updated_delivered.json")}))
	if len(got) != 1 || got[0].Status != recovery.StatusDelivered || got[0].Code != "" || got[0].Order != "000123" ||
		got[0].Country != "US" {
		t.Fatalf("scans %+v, want one delivery for order 000123", got)
	}
	control := trackings(t, mapFixture(t, "shippo", Request{Body: fixture(t, "samples/shippo_track_updated_delivered_docs.json")}))
	if len(control) == 0 || control[len(control)-1].Status != recovery.StatusDelivered {
		t.Fatalf("the documented delivery without a substatus: %+v", control)
	}
}

// Every substatus Shippo documents, under every status: the status
// decides the kind of scan, a substatus only refines it.
func TestShippoSubstatusNeverOverridesStatus(t *testing.T) {
	var table map[string]json.RawMessage
	if err := json.Unmarshal(fixture(t, "samples/shippo_substatus_by_status.json"), &table); err != nil {
		t.Fatal(err)
	}
	family := map[string][]string{
		"PRE_TRANSIT": {recovery.StatusLabelCreated},
		"TRANSIT": {recovery.StatusInTransit, recovery.StatusPickedUp, recovery.StatusOutForDelivery,
			recovery.StatusFailedAttempt, recovery.StatusException},
		"DELIVERED": {recovery.StatusDelivered},
		"RETURNED":  {recovery.StatusReturnedToSender},
		"FAILURE":   {recovery.StatusException, recovery.StatusLost},
		"UNKNOWN":   {""},
	}
	var codes []string
	for status, raw := range table {
		if status == "_comment" {
			continue
		}
		var subs map[string]bool
		if err := json.Unmarshal(raw, &subs); err != nil {
			t.Fatal(err)
		}
		for code := range subs {
			codes = append(codes, code)
		}
	}
	for status, allowed := range family {
		for _, code := range codes { // every code, also under the statuses it does not belong to
			got, _, _ := shippoMap(shippoAt(t, status, code))
			if !slices.Contains(allowed, got) {
				t.Errorf("%s with substatus %s maps to %q, outside %v", status, code, got, allowed)
			}
		}
	}
	for _, tc := range []struct{ status, code, want, exception string }{
		{"TRANSIT", "package_damaged", recovery.StatusException, recovery.ExceptionDamaged},
		{"TRANSIT", "notice_left", recovery.StatusFailedAttempt, recovery.ExceptionFailedAttempt},
		{"FAILURE", "package_lost", recovery.StatusLost, ""},
		{"PRE_TRANSIT", "information_received", recovery.StatusLabelCreated, ""},
	} {
		got, exc, _ := shippoMap(shippoAt(t, tc.status, tc.code))
		if got != tc.want || exc != tc.exception {
			t.Errorf("%s/%s = %s/%s, want %s/%s", tc.status, tc.code, got, exc, tc.want, tc.exception)
		}
	}
}

func shippoAt(t *testing.T, status, code string) shippoStatus {
	t.Helper()
	var s shippoStatus
	if err := json.Unmarshal([]byte(fmt.Sprintf(`{"status":%q,"substatus":{"code":%q}}`, status, code)), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

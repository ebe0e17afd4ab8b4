package recovery

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func TestDecisionDurationsReadAsText(t *testing.T) {
	d := RemedyDecision{Rule: "r", ChoiceTimeout: 48 * time.Hour,
		Approval: ApprovalRule{AutoUpToMinor: 100, EscalateAfter: 90 * time.Minute, Deadline: 24 * time.Hour},
		Offers:   []RemedyOffer{{Remedy: RemedyDiscount, Value: Money{Minor: 5, Currency: "EUR"}, ExpiresIn: 30 * 24 * time.Hour}}}
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"choice_timeout":"2d"`, `"escalate_after":"1h30m0s"`, `"deadline":"1d"`, `"expires_in":"30d"`, `"rule":"r"`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("%s lacks %s", raw, want)
		}
	}
	var back RemedyDecision
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.ChoiceTimeout != d.ChoiceTimeout || back.Approval != d.Approval || back.Offers[0] != d.Offers[0] || back.Rule != "r" {
		t.Fatalf("round trip: %+v, want %+v", back, d)
	}
	// Payloads written before (workflow histories) carry nanoseconds.
	var old RemedyDecision
	if err := json.Unmarshal([]byte(`{"choice_timeout":172800000000000,"approval":{"deadline":3600000000000},"offers":[{"remedy":"refund","expires_in":0}]}`), &old); err != nil ||
		old.ChoiceTimeout != 48*time.Hour || old.Approval.Deadline != time.Hour {
		t.Fatalf("old payload: %+v, %v", old, err)
	}
}

package policy

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

func inputs(kind string, total int64) Inputs {
	return Inputs{Incident: Incident{Kind: kind}, Order: Order{ID: "1001", Currency: "EUR", TotalMinor: total}}
}

func TestDefaultPolicyDecides(t *testing.T) {
	p := Default()
	cases := []struct {
		name     string
		in       Inputs
		rule     string
		offers   []recovery.Remedy
		values   []int64
		approval bool
		chooses  bool
		ladder   string // the contact ladder, channels joined by commas
	}{
		{"misroute: 15% discount, automatic", inputs("misrouted", 8999), "everything else",
			[]recovery.Remedy{"discount"}, []int64{1350}, false, false, "email"},
		{"lost, cheap: reship or refund, automatic", inputs("lost", 8999), "lost or damaged",
			[]recovery.Remedy{"reship", "refund"}, []int64{8999, 8999}, false, true, "voice,sms,email"},
		{"lost, dear: a person approves", inputs("lost", 25000), "lost or damaged",
			[]recovery.Remedy{"reship", "refund"}, []int64{25000, 25000}, true, true, "voice,sms,email"},
		{"damaged parcel", func() Inputs { i := inputs("carrier_exception", 5000); i.Incident.Code = "damaged"; return i }(),
			"lost or damaged", []recovery.Remedy{"reship", "refund"}, []int64{5000, 5000}, false, true, "voice,sms,email"},
		{"weather delay is not damage", func() Inputs { i := inputs("carrier_exception", 5000); i.Incident.Code = "weather"; return i }(),
			"everything else", []recovery.Remedy{"discount"}, []int64{750}, false, false, "email"},
		{"repeat claimant goes to review", func() Inputs { i := inputs("late", 4000); i.Customer.Incidents90d = 3; return i }(),
			"repeat claimant", []recovery.Remedy{"discount"}, []int64{400}, true, false, "email"},
		{"wrong item: substitute or refund", inputs("wrong_item", 3000), "wrong item or out of stock",
			[]recovery.Remedy{"substitute", "refund"}, []int64{3000, 3000}, false, true, "sms,email"},
		{"out of stock: substitute or refund, by text first", inputs("out_of_stock", 3000), "wrong item or out of stock",
			[]recovery.Remedy{"substitute", "refund"}, []int64{3000, 3000}, false, true, "sms,email"},
		{"stalled parcel: an email", inputs("stalled", 2000), "everything else",
			[]recovery.Remedy{"discount"}, []int64{300}, false, false, "email"},
		// The repeat-claimant rule comes first and names no ladder: even a
		// lost parcel is then written about, not called about.
		{"lost parcel of a repeat claimant", func() Inputs { i := inputs("lost", 4000); i.Customer.Incidents90d = 3; return i }(),
			"repeat claimant", []recovery.Remedy{"discount"}, []int64{400}, true, false, "email"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, err := p.Evaluate(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Rule != tc.rule || d.NeedsApproval != tc.approval || d.CustomerChooses != tc.chooses || len(d.Offers) != len(tc.offers) {
				t.Fatalf("decision %+v", d)
			}
			if got := strings.Join(d.Ladder, ","); got != tc.ladder {
				t.Fatalf("ladder %q, want %q", got, tc.ladder)
			}
			for i, o := range d.Offers {
				if o.Remedy != tc.offers[i] || o.Value.Minor != tc.values[i] || o.Value.Currency != "EUR" {
					t.Fatalf("offer %d = %+v, want %s worth %d", i, o, tc.offers[i], tc.values[i])
				}
			}
			if d.PolicyVersion != "builtin-2026-11-22" || !d.Trace[len(d.Trace)-1].Matched {
				t.Fatalf("version %q / trace %+v", d.PolicyVersion, d.Trace)
			}
			for _, tr := range d.Trace[:len(d.Trace)-1] {
				if tr.Matched || tr.Why == "" {
					t.Fatalf("a rule before the match must say why it did not match: %+v", tr)
				}
			}
		})
	}
}

func TestParseNamesTheLineOfEachProblem(t *testing.T) {
	cases := []struct {
		name, text string
		line       int
		msg        string
	}{
		{"unknown field in a condition", "version: v1\nrules:\n  - name: a\n    when: incident.knd == \"lost\"\n    remedies: [{type: refund}]\n",
			4, "undefined field 'knd'"},
		{"condition is not a boolean", "version: v1\nrules:\n  - name: a\n    when: order.total_minor + 1\n    remedies: [{type: refund}]\n",
			4, "must be true or false"},
		{"syntax error", "version: v1\nrules:\n  - name: a\n    when: order.total_minor >\n    remedies: [{type: refund}]\n",
			4, "Syntax error"},
		{"unknown remedy", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedies:\n      - type: hug\n",
			6, "not a remedy"},
		{"unknown key", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedy: [{type: refund}]\n",
			5, "unknown key \"remedy\""},
		{"default not offered", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    default: reship\n    remedies: [{type: refund}]\n",
			3, "not one of the rule's remedies"},
		{"discount without size", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedies:\n      - type: discount\n",
			6, "exactly one of percent or amount_minor"},
		{"bad YAML", "version: v1\nrules:\n  - name: a\n   when: x\n", 2, "not valid YAML"}, // the parser reports where the list began
		{"no version", "rules:\n  - name: a\n    when: \"true\"\n    remedies: [{type: refund}]\n", 1, "version is required"},
		{"escalation after the deadline", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedies: [{type: refund}]\n    approval:\n      escalate_after: 2d\n      deadline: 1d\n",
			7, "escalate_after must come before the deadline"},
		{"unknown channel", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedies: [{type: refund}]\n    ladder: [voice, fax]\n",
			6, "\"fax\" is not a channel"},
		{"bad contact window", "version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedies: [{type: refund}]\n    contact_window: \"21:00-08:00\"\n",
			6, "is not a window such as 08:00-21:00"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("p.yaml", []byte(tc.text))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("err = %v, want problems", err)
			}
			for _, p := range ps {
				if p.Line == tc.line && strings.Contains(p.Msg, tc.msg) && strings.HasPrefix(p.String(), "p.yaml:") {
					return
				}
			}
			t.Fatalf("problems %v: none at line %d saying %q", ps, tc.line, tc.msg)
		})
	}
}

func TestRuntimeErrorDoesNotMatch(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: v1\nrules:\n  - name: divide\n    when: 100 / order.total_minor > 1\n    remedies: [{type: refund}]\n  - name: rest\n    when: \"true\"\n    remedies: [{type: discount, amount_minor: 500}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Evaluate(inputs("late", 0))
	if err != nil || d.Rule != "rest" || !strings.Contains(d.Trace[0].Why, "condition failed") || d.Offers[0].Value.Minor != 500 {
		t.Fatalf("decision %+v, %v", d, err)
	}
	p.Rules = p.Rules[:1]
	if _, err := p.Evaluate(inputs("late", 0)); !errors.Is(err, ErrNoRule) {
		t.Fatalf("no match: %v", err)
	}
}

func TestRuleContactSettingsReachTheDecision(t *testing.T) {
	p, err := Parse("p.yaml", []byte("version: v1\nrules:\n  - name: a\n    when: \"true\"\n    remedies: [{type: refund}]\n"+
		"    ladder: [voice, sms, email]\n    step_timeout: 15m\n    contact_window: \"09:00-20:00\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := p.Evaluate(inputs("late", 0))
	if err != nil || strings.Join(d.Ladder, ",") != "voice,sms,email" || d.StepTimeout != 15*time.Minute || d.ContactWindow != "09:00-20:00" {
		t.Fatalf("decision %+v, %v", d, err)
	}
}

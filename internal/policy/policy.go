// Package policy loads, checks and evaluates remedy policies: a versioned
// YAML file of ordered rules, each with a CEL condition over incident,
// order, customer and shipment, the remedies to offer, how they are
// approved and whether the customer chooses (DESIGN §6).
package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Policy is a loaded, checked policy.
type Policy struct {
	Version string
	Rules   []Rule
}

// Rule is one ordered rule.
type Rule struct {
	Name            string
	When            string
	Remedies        []RemedySpec
	Approval        Approval
	CustomerChooses bool
	// Default is the remedy applied when the customer does not choose in
	// ChoiceTimeout; the first remedy when unset.
	Default       recovery.Remedy
	ChoiceTimeout time.Duration
	Ladder        []string
	Template      string
	// ContactWindow and StepTimeout, when set, override the configured
	// contact window and ladder step timeout.
	ContactWindow string
	StepTimeout   time.Duration
	Line          int // where the rule starts in the file
	program       cel.Program
}

// RemedySpec is one candidate remedy of a rule.
type RemedySpec struct {
	Type recovery.Remedy
	// Percent of the order total (discount, store credit, refund).
	Percent int64
	// AmountMinor is a fixed amount (discount, store credit).
	AmountMinor int64
	// MaxMinor caps a percentage (0: no cap).
	MaxMinor int64
	// ExpiresIn bounds a discount code or store credit.
	ExpiresIn time.Duration
	// Expedited asks for faster shipping on a reship.
	Expedited bool
	// PriceBandPercent bounds a substitute's price against the original.
	PriceBandPercent int64
}

// The decision types live in the domain package, where the workflow and
// its activities see them.
type (
	// Approval says who approves a rule's offer and what happens if nobody does.
	Approval = recovery.ApprovalRule
	// Offer is a remedy as it would be put on the table, with its value.
	Offer = recovery.RemedyOffer
	// Trace says, per rule tried, whether it matched and why not.
	Trace = recovery.RuleTrace
	// Decision is what the policy says for one incident.
	Decision = recovery.RemedyDecision
)

// ErrNoRule says no rule matched; a policy should end with a catch-all.
var ErrNoRule = fmt.Errorf("no rule matched")

// Evaluate tries the rules in order and decides by the first that
// matches. A rule whose condition fails at run time (a missing value, a
// division by zero) does not match, and the trace says why.
func (p *Policy) Evaluate(in Inputs) (Decision, error) {
	d := Decision{PolicyVersion: p.Version}
	vars := map[string]any{"incident": in.Incident, "order": in.Order, "customer": in.Customer, "shipment": in.Shipment}
	for i := range p.Rules {
		r := &p.Rules[i]
		out, _, err := r.program.Eval(vars)
		switch {
		case err != nil:
			d.Trace = append(d.Trace, Trace{Rule: r.Name, Why: "condition failed: " + err.Error()})
			continue
		case out.Value() != true:
			d.Trace = append(d.Trace, Trace{Rule: r.Name, Why: "condition is false: " + r.When})
			continue
		}
		d.Trace = append(d.Trace, Trace{Rule: r.Name, Matched: true})
		d.Rule, d.Approval, d.CustomerChooses, d.ChoiceTimeout = r.Name, r.Approval, r.CustomerChooses, r.ChoiceTimeout
		d.Ladder, d.Template, d.Default = slices.Clone(r.Ladder), r.Template, r.Default
		d.ContactWindow, d.StepTimeout = r.ContactWindow, r.StepTimeout
		for _, spec := range r.Remedies {
			o, err := spec.offer(in.Order)
			if err != nil {
				return d, fmt.Errorf("rule %q: %w", r.Name, err)
			}
			d.Offers = append(d.Offers, o)
		}
		if d.Default == "" && len(d.Offers) > 0 {
			d.Default = d.Offers[0].Remedy
		}
		d.NeedsApproval = r.Approval.AutoUpToMinor >= 0 && maxValue(d) > r.Approval.AutoUpToMinor
		return d, nil
	}
	return d, ErrNoRule
}

// Decide evaluates the policy for an incident (recovery.PolicyEngine).
func (p *Policy) Decide(in recovery.DecisionInput) (recovery.RemedyDecision, error) {
	return p.Evaluate(InputsFor(in.Incident, in.Code, in.Order, in.Shipment, in.History, in.At))
}

func maxValue(d Decision) int64 {
	var m int64
	for _, o := range d.Offers {
		m = max(m, o.Value.Minor)
	}
	return m
}

// offer values a remedy against the order: percentages of the total
// (rounded half up, capped), fixed amounts, or the order's value for a reship
// or a substitute.
func (s RemedySpec) offer(o Order) (Offer, error) {
	v := s.AmountMinor
	if s.Percent > 0 {
		// The same rounding as every other percentage in the engine.
		m, err := recovery.Money{Minor: o.TotalMinor, Currency: o.Currency}.Percent(s.Percent)
		if err != nil {
			return Offer{}, err
		}
		v = m.Minor
		if s.MaxMinor > 0 {
			v = min(v, s.MaxMinor)
		}
	}
	if s.Type == recovery.RemedyReship || s.Type == recovery.RemedySubstitute {
		v = o.TotalMinor
	}
	return Offer{Remedy: s.Type, Value: recovery.Money{Minor: v, Currency: o.Currency},
		Expedited: s.Expedited, ExpiresIn: s.ExpiresIn, PriceBandPercent: s.PriceBandPercent}, nil
}

// String names the policy for logs.
func (p *Policy) String() string {
	names := make([]string, len(p.Rules))
	for i, r := range p.Rules {
		names[i] = r.Name
	}
	return fmt.Sprintf("policy %s (%s)", p.Version, strings.Join(names, ", "))
}

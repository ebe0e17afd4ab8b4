package recovery

import (
	"strings"
	"time"
)

// RemedyOffer is a remedy as a policy would put it on the table, valued.
type RemedyOffer struct {
	Remedy    Remedy        `json:"remedy"`
	Value     Money         `json:"value"`
	Expedited bool          `json:"expedited,omitempty"`
	ExpiresIn time.Duration `json:"expires_in,omitempty"`
	// PriceBandPercent bounds a substitute's price against the original.
	PriceBandPercent int64 `json:"price_band_percent,omitempty"`
}

// ApprovalRule says who approves an offer and what happens if nobody does.
type ApprovalRule struct {
	// AutoUpToMinor approves offers worth at most this without a person;
	// -1 approves everything automatically.
	AutoUpToMinor int64         `json:"auto_up_to_minor"`
	Role          string        `json:"role,omitempty"`
	EscalateAfter time.Duration `json:"escalate_after,omitempty"`
	Deadline      time.Duration `json:"deadline,omitempty"`
	// OnDeadline is apply_default or reject.
	OnDeadline string `json:"on_deadline,omitempty"`
}

// RuleTrace says whether one policy rule matched, and why not.
type RuleTrace struct {
	Rule    string `json:"rule"`
	Matched bool   `json:"matched"`
	Why     string `json:"why,omitempty"`
}

// RemedyDecision is what a policy decided for one incident; the incident
// records it with the policy's version.
type RemedyDecision struct {
	PolicyVersion   string        `json:"policy_version"`
	Rule            string        `json:"rule"`
	Offers          []RemedyOffer `json:"offers"`
	NeedsApproval   bool          `json:"needs_approval"`
	Approval        ApprovalRule  `json:"approval"`
	CustomerChooses bool          `json:"customer_chooses"`
	Default         Remedy        `json:"default,omitempty"`
	ChoiceTimeout   time.Duration `json:"choice_timeout,omitempty"`
	Ladder          []string      `json:"ladder"`
	// ContactWindow ("08:00-21:00", in the recipient's zone) and
	// StepTimeout (how long one ladder step waits for news) override the
	// configured ones when the rule sets them.
	ContactWindow string        `json:"contact_window,omitempty"`
	StepTimeout   time.Duration `json:"step_timeout,omitempty"`
	Template      string        `json:"template"`
	Trace         []RuleTrace   `json:"trace"`
	// Guards says which guard (the daily budget) sent the offer to a
	// person, and why; the customer's own guards are policy rules.
	Guards []string `json:"guards,omitempty"`
}

// CustomerHistory is what the guards know of a customer before an
// incident.
type CustomerHistory struct {
	// Incidents90d counts the customer's other incidents in 90 days.
	Incidents90d int64 `json:"incidents_90d"`
	// CompensatedMinor30d sums approved offers of the last 30 days in the
	// order's currency.
	CompensatedMinor30d int64 `json:"compensated_minor_30d"`
}

// DecisionInput is what a policy decides over.
type DecisionInput struct {
	Incident Incident
	// Code is the carrier's exception code behind a carrier_exception.
	Code     string
	Order    OrderData
	Shipment ShipmentFacts
	History  CustomerHistory
	At       time.Time
}

// ShipmentFacts is what a policy knows of an incident's shipment when it
// decides (empty for an order-level incident): the carrier and service of
// its label, its latest scan's status, and whether it was delivered.
type ShipmentFacts struct {
	ID        string `json:",omitempty"`
	Carrier   string `json:",omitempty"`
	Service   string `json:",omitempty"`
	Status    string `json:",omitempty"`
	Delivered bool   `json:",omitempty"`
}

// PolicyEngine decides remedies.
type PolicyEngine interface {
	Decide(in DecisionInput) (RemedyDecision, error)
}

// CustomerKey identifies a customer across orders: the shop's id, else the
// email, else the phone; "" when there is none.
func CustomerKey(c Customer) string {
	switch {
	case c.ID != "":
		return "id:" + c.ID
	case c.Email != "":
		return "email:" + strings.ToLower(c.Email)
	case c.Phone != "":
		return "phone:" + c.Phone
	}
	return ""
}

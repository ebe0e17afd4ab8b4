package recovery

import "math"

// Approver is the person behind an approval; the web layer fills it from
// the approver's key, never from the request body.
type Approver struct {
	Name string
	// LimitMajor is the largest offer they may approve, in whole units of
	// the incident's currency (500 = 500.00 EUR); negative: no limit.
	LimitMajor int64
	// Roles are the policy roles they act for; none: every role.
	Roles []string `json:",omitempty"`
}

// ActsFor reports whether the approver may decide an incident whose rule
// names role ("": anyone may).
func (a Approver) ActsFor(role string) bool {
	if role == "" || len(a.Roles) == 0 {
		return true
	}
	for _, r := range a.Roles {
		if r == role {
			return true
		}
	}
	return false
}

// LimitMinor is the approver's limit in a currency's minor units.
func (a Approver) LimitMinor(currency string) int64 {
	scale := int64(math.Pow10(MinorDigits(currency)))
	if a.LimitMajor < 0 || a.LimitMajor > math.MaxInt64/scale {
		return math.MaxInt64 // no limit, or one beyond any amount
	}
	return a.LimitMajor * scale
}

// The actions on an incident's remedy.
const (
	ActionApprove = "approve"
	ActionReject  = "reject"
	ActionOffer   = "offer"
	ActionChoose  = "choose"
)

// RemedyAction is what a person (or the customer) does to an incident's
// remedy: approve it, reject it with a reason, replace the offers, or
// choose among the options.
type RemedyAction struct {
	Action string
	By     Approver
	Note   string
	Reason string
	Offers []RemedyOffer
	Remedy Remedy
	// IdempotencyKey makes a retried request the same action: it gets the
	// first one's answer (the client's Idempotency-Key).
	IdempotencyKey string
}

// RemedyView is where an incident's remedy stands, as actions answer it.
type RemedyView struct {
	Stage      string        `json:"stage"`
	Candidates []RemedyOffer `json:"candidates,omitempty"`
	Options    []Offer       `json:"options,omitempty"`
	ApprovedBy string        `json:"approved_by,omitempty"`
	Chosen     Remedy        `json:"chosen,omitempty"`
}

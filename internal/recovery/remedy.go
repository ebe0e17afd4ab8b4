package recovery

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"time"
)

// Offer statuses beyond pending, approved and rejected.
const (
	// OfferOffered: put to the customer to choose from.
	OfferOffered = "offered"
	// OfferApplied: carried out (code issued, webhook accepted).
	OfferApplied = "applied"
	// OfferFailed: every candidate remedy failed; ops must step in.
	OfferFailed = "failed"
)

// OfferGiven says whether an offer in this status counts as given to the
// customer (approved or carried out): what the guards sum as compensation
// and the daily budget as spent.
func OfferGiven(status string) bool { return status == OfferApproved || status == OfferApplied }

// Incident statuses while a remedy is being decided.
const (
	IncidentAwaitingApproval = "awaiting_approval"
	IncidentAwaitingChoice   = "awaiting_choice"
	IncidentNeedsAttention   = "needs_attention"
)

// Product is one catalog entry: what a substitute is chosen from.
type Product struct {
	SKU        string            `json:"sku" yaml:"sku"`
	Name       string            `json:"name" yaml:"name"`
	Category   string            `json:"category" yaml:"category"`
	Attributes map[string]string `json:"attributes,omitempty" yaml:"attributes"`
	PriceMinor int64             `json:"price_minor" yaml:"price_minor"`
	Currency   string            `json:"currency" yaml:"currency"`
	Stock      int64             `json:"stock" yaml:"stock"`
	// Reserved is held for offers not yet taken or declined.
	Reserved int64 `json:"reserved" yaml:"-"`
}

// Available is what can still be promised.
func (p Product) Available() int64 { return p.Stock - p.Reserved }

// Similarity is the share of attributes (by name) on which two products
// agree, from 0 to 1; values compare case-insensitively.
func Similarity(a, b map[string]string) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 0
	}
	same, union := 0, len(a)
	for k, bv := range b {
		av, ok := a[k]
		if !ok {
			union++
			continue
		}
		if strings.EqualFold(av, bv) {
			same++
		}
	}
	return float64(same) / float64(union)
}

// RankSubstitutes orders the candidates that may stand in for orig: the
// same category and currency, another SKU, at least qty available, a price
// within bandPercent of the original; most similar attributes first, then
// the closest price, then the SKU.
func RankSubstitutes(orig Product, qty, bandPercent int64, candidates []Product) []Product {
	band, ok := MulPercent(orig.PriceMinor, bandPercent)
	if !ok {
		return nil
	}
	var out []Product
	for _, c := range candidates {
		d := c.PriceMinor - orig.PriceMinor
		if c.SKU == orig.SKU || c.Category != orig.Category || c.Currency != orig.Currency ||
			c.Available() < qty || d > band || -d > band {
			continue
		}
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(x, y Product) int {
		sx, sy := Similarity(orig.Attributes, x.Attributes), Similarity(orig.Attributes, y.Attributes)
		switch {
		case sx > sy:
			return -1
		case sx < sy:
			return 1
		}
		dx, dy := abs(x.PriceMinor-orig.PriceMinor), abs(y.PriceMinor-orig.PriceMinor)
		if dx != dy {
			return int(dx - dy)
		}
		return strings.Compare(x.SKU, y.SKU)
	})
	return out
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// IssuedCode is a discount code or store credit voucher: unique,
// unguessable, single use, with an expiry.
type IssuedCode struct {
	Code       string     `json:"code"`
	IncidentID string     `json:"incident_id"`
	Remedy     Remedy     `json:"remedy"`
	ValueMinor int64      `json:"value_minor"`
	Currency   string     `json:"currency"`
	ExpiresAt  *time.Time `json:"expires_at,omitempty"`
	// Status is active, void or redeemed.
	Status     string     `json:"status"`
	RedeemedAt *time.Time `json:"redeemed_at,omitempty"`
	OrderID    string     `json:"redeemed_order_id,omitempty"`
}

// Code statuses.
const (
	CodeActive   = "active"
	CodeVoid     = "void"
	CodeRedeemed = "redeemed"
)

// AuditEntry records one action on an incident's remedy: who, when, what
// it was before and after.
type AuditEntry struct {
	IncidentID string          `json:"incident_id,omitempty"`
	Actor      string          `json:"actor"`
	Action     string          `json:"action"`
	At         time.Time       `json:"at"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Note       string          `json:"note,omitempty"`
	// Key makes the row idempotent: an entry with a key already written
	// for the incident is not written again.
	Key string `json:"-"`
}

// OutboundWebhook asks the commerce platform to carry out a remedy (or
// tells ops of an escalation). ID is the idempotency key, stable across
// retries.
type OutboundWebhook struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	At   time.Time       `json:"timestamp"`
	Data json.RawMessage `json:"data"`
}

// Outbox delivers outbound webhooks: signed HTTP, or a capture table in
// dev. A permanent refusal is wrapped in ErrInvalid.
type Outbox interface {
	Deliver(ctx context.Context, w OutboundWebhook) error
}

// RemedyStore keeps the catalog, reservations, issued codes, the audit
// trail and the daily spend. Every method is idempotent per incident.
type RemedyStore interface {
	// Product returns one catalog entry, or ErrNotFound.
	Product(ctx context.Context, sku string) (Product, error)
	// ProductsInCategory lists a category's products in a currency.
	ProductsInCategory(ctx context.Context, category, currency string) ([]Product, error)
	// Reserve holds qty of sku for an incident; ErrConflict when it is not
	// available. Reserving the same (incident, sku) again is a no-op.
	Reserve(ctx context.Context, incidentID, sku string, qty int64) error
	// ReleaseReservation gives an incident's hold on sku back; releasing
	// twice (or what was never held) is a no-op.
	ReleaseReservation(ctx context.Context, incidentID, sku string) error
	// ConsumeReservation turns the hold into a sale: stock goes down.
	ConsumeReservation(ctx context.Context, incidentID, sku string) error
	// IssueCode stores a new code; issuing an incident's remedy again
	// returns the first code.
	IssueCode(ctx context.Context, c IssuedCode) (IssuedCode, error)
	// VoidCode makes an incident's code for a remedy unusable.
	VoidCode(ctx context.Context, incidentID string, remedy Remedy) error
	// RedeemCode uses a code once; ErrConflict if it is used, void or
	// expired, ErrNotFound if there is no such code.
	RedeemCode(ctx context.Context, code, orderID string, at time.Time) (IssuedCode, error)
	// Audit appends to an incident's audit trail.
	Audit(ctx context.Context, e AuditEntry) error
	// ApprovedSince sums the offers approved in a currency since a time.
	ApprovedSince(ctx context.Context, currency string, since time.Time) (int64, error)
	// ReserveBudget reserves value of a currency's budget for a UTC day
	// (cap budget) for an incident's automatic approval, atomically; it
	// reports whether it holds and what the day had reserved before.
	// Reserving again for the incident returns the first answer.
	ReserveBudget(ctx context.Context, incidentID, currency string, day time.Time, value, budget int64) (bool, int64, error)
	// ReleaseBudget gives an incident's reservation back (a no-op when
	// there is none).
	ReleaseBudget(ctx context.Context, incidentID string) error
	// SetIncidentStatus changes an open incident's status.
	SetIncidentStatus(ctx context.Context, id, status string) error
	// SetIncidentKind changes an open incident's kind and reason (an
	// at_risk incident whose promise passed becomes late).
	SetIncidentKind(ctx context.Context, id string, kind Kind, reason string) error
}

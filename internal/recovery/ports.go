package recovery

import (
	"context"
	"errors"
	"time"
)

// Domain errors. Adapters wrap them; the web layer maps them to HTTP statuses.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict means the request conflicts with what is stored.
	ErrConflict = errors.New("conflict")
	// ErrInvalid means the input is malformed or breaks a rule.
	ErrInvalid = errors.New("invalid input")
	// ErrForbidden means the caller may not do this (an approval over
	// their limit).
	ErrForbidden = errors.New("forbidden")
	// ErrBusy means the engine holds as much as it may just now: retry
	// shortly.
	ErrBusy = errors.New("busy")
)

// IncidentStore keeps the projections people query: incidents, offers and
// the contact ledger. Every method is idempotent so that retried activities
// are harmless.
type IncidentStore interface {
	// UpsertIncident creates the incident or updates its status.
	UpsertIncident(ctx context.Context, inc Incident) error
	// SaveOffer records (or replaces) the offer of an incident.
	SaveOffer(ctx context.Context, incidentID string, offer Offer) error
	// BeginContact writes the ledger row for (incident, step, channel) before
	// any provider request. If the row already exists it is returned with
	// found set, and the caller must not send again.
	BeginContact(ctx context.Context, c Contact) (existing Contact, found bool, err error)
	// CloseIncident records how an incident ended (status healed or
	// resolved, a plain-words resolution, when).
	CloseIncident(ctx context.Context, id, status, resolution string, at time.Time) error
	// SaveDecision records the policy's decision on an incident.
	SaveDecision(ctx context.Context, id string, d RemedyDecision) error
	// CustomerHistory counts a customer's other incidents (90 days) and
	// sums their approved compensation in a currency (30 days) before at.
	CustomerHistory(ctx context.Context, customerKey, currency string, at time.Time, exceptIncident string) (CustomerHistory, error)
	// FinishContact records the provider's answer for a ledger row.
	FinishContact(ctx context.Context, incidentID string, step int, channel, status, providerID string, sentAt time.Time) error
	// SetContactStatus changes a ledger row's status (failed, skipped,
	// unconfirmed, or back to sending for a retry) with a plain detail.
	SetContactStatus(ctx context.Context, incidentID string, step int, channel, status, detail string) error
	// OrderContact reads the personal side of an order (the customer, the
	// shipping address) from its events, the latest word winning;
	// ErrNotFound when the order is unknown. Workflows carry none of it.
	OrderContact(ctx context.Context, orderID string) (OrderContact, error)
	// OfferCode returns the code issued for an incident's remedy (a
	// discount or store credit), "" when there is none. Workflows never
	// hold a code.
	OfferCode(ctx context.Context, incidentID string, remedy Remedy) (string, error)
	// SaveOrderState keeps a finished order's projection (its workflow's
	// state, nothing personal); LoadOrderState returns it, nil if none.
	SaveOrderState(ctx context.Context, orderID string, state []byte) error
	LoadOrderState(ctx context.Context, orderID string) ([]byte, error)
}

// Message is one outbound message to a customer.
type Message struct {
	Channel string
	To      string
	Subject string
	Text    string
	HTML    string
	// IdempotencyKey is stable across retries of the same ladder step.
	IdempotencyKey string
	// IncidentID and Step name the ladder step, for the provider callbacks
	// (status URLs, custom arguments) that report on it.
	IncidentID string
	Step       int
	// Unsubscribe is the signed link that ends email to the address; email
	// adapters send it as List-Unsubscribe (one-click, RFC 8058).
	Unsubscribe string
	// ReplyTo is where the customer's reply goes (the incident's reply
	// address, read by SendGrid's Inbound Parse); "" for the sender.
	ReplyTo string
	// From and FromName are the sender of an email for the order's brand
	// ("": the adapter's own).
	From, FromName string
}

// Messenger delivers messages: a provider adapter, or the capture adapter
// that stores them instead.
type Messenger interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// ChannelSender is a Messenger that can say which channels it has a
// provider for; a ladder step on any other channel is skipped.
type ChannelSender interface {
	Sends(channel string) bool
}

// RemedyConfig is the default remedy of the first, policy-less version: a
// discount of a percentage of the order total.
type RemedyConfig struct {
	Remedy          Remedy `json:"remedy"`
	DiscountPercent int64  `json:"discount_percent"`
	// MaxMinor caps the value; 0 means no cap.
	MaxMinor int64 `json:"max_minor"`
}

// DefaultRemedy is the remedy used when nothing else is configured: 15% off
// the order.
var DefaultRemedy = RemedyConfig{Remedy: RemedyDiscount, DiscountPercent: 15}

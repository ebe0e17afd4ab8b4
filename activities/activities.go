// Package activities holds the engine's Temporal activities: every piece of
// I/O the workflows need, as methods on one struct of injected interfaces.
package activities

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	Store     recovery.IncidentStore
	Messenger recovery.Messenger
	Remedy    recovery.RemedyConfig
	// Clock returns the time; nil means time.Now.
	Clock func() time.Time
}

func (a *Activities) now() time.Time {
	if a.Clock != nil {
		return a.Clock()
	}
	return time.Now()
}

// RecordIncidentInput is the input of RecordIncident.
type RecordIncidentInput struct {
	Incident recovery.Incident
}

// RecordIncident writes (or updates) the incident projection.
func (a *Activities) RecordIncident(ctx context.Context, in RecordIncidentInput) error {
	if in.Incident.ID == "" || in.Incident.OrderID == "" {
		return temporal.NewNonRetryableApplicationError("incident needs an id and an order id", "invalid", nil)
	}
	return a.Store.UpsertIncident(ctx, in.Incident)
}

// DecideOfferInput is the input of DecideOffer.
type DecideOfferInput struct {
	IncidentID string
	Currency   string
	TotalMinor int64
}

// DecideOffer applies the configured default remedy, auto-approved: a
// discount of a percentage of the order total (capped if configured), with
// a fresh unguessable code, and records it.
func (a *Activities) DecideOffer(ctx context.Context, in DecideOfferInput) (recovery.Offer, error) {
	if !recovery.ValidCurrency(in.Currency) || in.TotalMinor < 0 {
		return recovery.Offer{}, temporal.NewNonRetryableApplicationError(
			"order has no valid currency or total", "invalid", nil)
	}
	cfg := a.Remedy
	if cfg.Remedy == "" {
		cfg = recovery.DefaultRemedy
	}
	value := recovery.Money{Minor: in.TotalMinor, Currency: in.Currency}.Percent(cfg.DiscountPercent)
	if cfg.MaxMinor > 0 && value.Minor > cfg.MaxMinor {
		value.Minor = cfg.MaxMinor
	}
	code, err := discountCode()
	if err != nil {
		return recovery.Offer{}, err
	}
	offer := recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: value.Minor, Currency: value.Currency,
		Status: recovery.OfferApproved, Code: code, ApprovedBy: "policy:default", CreatedAt: a.now().UTC()}
	if err := a.Store.SaveOffer(ctx, in.IncidentID, offer); err != nil {
		return recovery.Offer{}, err
	}
	return offer, nil
}

// discountCode returns "SORRY-" and 10 random base32 characters (50 bits).
func discountCode() (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("discount code: %w", err)
	}
	return "SORRY-" + base32.StdEncoding.EncodeToString(b)[:10], nil
}

// SendApologyInput is the input of SendApology.
type SendApologyInput struct {
	Incident recovery.Incident
	Offer    recovery.Offer
	Customer recovery.Customer
	// Step is the contact ladder step; (incident, step, channel) is sent at
	// most once.
	Step int
	// IdempotencyKey is derived in the workflow and stable across retries.
	IdempotencyKey string
}

// SendApology renders the apology in the customer's language and sends it
// by email (or SMS when there is no email). The ledger row is written
// before the provider request; a retry that finds a sent row returns it
// without sending again.
func (a *Activities) SendApology(ctx context.Context, in SendApologyInput) (recovery.Contact, error) {
	channel, to := recovery.ChannelEmail, in.Customer.Email
	if to == "" {
		channel, to = recovery.ChannelSMS, in.Customer.Phone
	}
	if to == "" {
		return recovery.Contact{}, temporal.NewNonRetryableApplicationError("customer has no email or phone", "no-contact", nil)
	}
	msg, err := messaging.Render(in.Customer.Locale, messaging.ApologyData{
		Name: in.Customer.Name, OrderID: in.Incident.OrderID, Kind: in.Incident.Kind, Offer: in.Offer})
	if err != nil {
		return recovery.Contact{}, temporal.NewNonRetryableApplicationError("render apology", "template", err)
	}
	body := msg.Text
	if channel == recovery.ChannelSMS {
		body = msg.SMS
	}
	c := recovery.Contact{IncidentID: in.Incident.ID, Step: in.Step, Channel: channel, To: to,
		Subject: msg.Subject, Body: body, Locale: msg.Locale, Status: recovery.ContactSending}
	existing, found, err := a.Store.BeginContact(ctx, c)
	if err != nil {
		return recovery.Contact{}, err
	}
	if found && existing.Status == recovery.ContactSent {
		activity.GetLogger(ctx).Info("apology already sent; not sending again", "incident_id", in.Incident.ID, "step", in.Step)
		return existing, nil
	}
	// A found row still "sending" means an earlier attempt died around the
	// provider request; the same idempotency key lets the provider drop a
	// repeat.
	providerID, err := a.Messenger.Send(ctx, recovery.Message{Channel: channel, To: to, Subject: msg.Subject,
		Text: body, HTML: msg.HTML, IdempotencyKey: in.IdempotencyKey})
	if err != nil {
		return recovery.Contact{}, fmt.Errorf("send %s: %w", channel, err)
	}
	sentAt := a.now().UTC()
	if err := a.Store.FinishContact(ctx, in.Incident.ID, in.Step, channel, recovery.ContactSent, providerID, sentAt); err != nil {
		return recovery.Contact{}, errors.Join(errors.New("record sent contact"), err)
	}
	c.Status, c.ProviderID, c.SentAt = recovery.ContactSent, providerID, &sentAt
	return c, nil
}

// Package activities holds the engine's Temporal activities: every piece of
// I/O the workflows need, as methods on one struct of injected interfaces.
package activities

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/internal/brands"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/metrics"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/tracing"
)

// Activities holds the dependencies of every activity.
type Activities struct {
	// Brands are the shops this deployment speaks for (nil: one, the
	// deployment's own settings).
	Brands *brands.Set
	// Tracer traces provider calls (nil: not traced).
	Tracer trace.Tracer
	// ReplyDomain, when set, sends apology emails' replies to a per-step
	// address there (RECOVERY_REPLY_DOMAIN), read by SendGrid's Inbound
	// Parse; otherwise replies go to the sender.
	ReplyDomain string
	Store       recovery.IncidentStore
	Messenger   recovery.Messenger
	Remedy      recovery.RemedyConfig
	// Policy decides remedies; nil records no decision.
	Policy recovery.PolicyEngine
	// Remedies keeps the catalog, reservations, codes, the audit trail and
	// the daily spend.
	Remedies recovery.RemedyStore
	// Outbox delivers the webhooks that ask the commerce platform to carry
	// out a remedy; nil delivers nothing (unit tests).
	Outbox recovery.Outbox
	// Settings tune remedies: the daily budget, webhook retries.
	Settings RemedySettings
	// Detection is handed to OrderWorkflow by DetectionConfig.
	Detection recovery.DetectionConfig
	// Clock returns the time; nil means time.Now.
	Clock func() time.Time
	// Consent holds opt-outs; nil: nobody opted out (unit tests).
	Consent recovery.Consent
	// Links signs the choice page and unsubscribe links; nil sends none.
	Links *links.Signer
	// LinkTTL is how long a choice page link works (0: 30 days, and at
	// least as long as the choice stays open).
	LinkTTL time.Duration
	// Metrics records incidents, contacts and remedies (nil: none).
	Metrics *metrics.Metrics
	// Templates write the messages: the built-in ones with the overrides
	// of RECOVERY_TEMPLATES_DIR (nil: the built-in ones).
	Templates *messaging.Templates
}

// providerOf names the provider behind a channel, for metrics.
func (a *Activities) providerOf(channel string) string {
	if n, ok := a.Messenger.(interface{ ProviderName(string) string }); ok {
		return n.ProviderName(channel)
	}
	if _, ok := a.Messenger.(*messaging.Capture); ok {
		return "capture"
	}
	if channel == recovery.ChannelEmail {
		return "sendgrid"
	}
	return "twilio"
}

// contactOutcome is a delivered step's outcome for metrics.
func contactOutcome(c recovery.Contact, err error) string {
	switch {
	case errors.Is(err, recovery.ErrUnsent):
		return "retry"
	case err != nil:
		return "error"
	case c.Status == recovery.ContactSending:
		return "error"
	}
	return c.Status
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

// RecordIncident writes (or updates) the incident projection, with the key
// of the order's customer (read from the store) for the guards.
func (a *Activities) RecordIncident(ctx context.Context, in RecordIncidentInput) error {
	if in.Incident.ID == "" || in.Incident.OrderID == "" {
		return temporal.NewNonRetryableApplicationError("incident needs an id and an order id", "invalid", nil)
	}
	if in.Incident.CustomerKey == "" {
		oc, err := a.orderContact(ctx, in.Incident.OrderID)
		if err != nil {
			return err
		}
		in.Incident.CustomerKey = recovery.CustomerKey(oc.Customer)
	}
	if err := a.Store.UpsertIncident(ctx, in.Incident); err != nil {
		return err
	}
	a.Metrics.Incident(string(in.Incident.Kind), "opened")
	return nil
}

// orderContact reads the order's customer and shipping address from the
// store: workflows carry nothing personal. An order the store does not
// know has no contact (its steps are skipped for want of an address).
func (a *Activities) orderContact(ctx context.Context, orderID string) (recovery.OrderContact, error) {
	oc, err := a.Store.OrderContact(ctx, orderID)
	if errors.Is(err, recovery.ErrNotFound) {
		return recovery.OrderContact{}, nil
	}
	return oc, err
}

// withCode fills in the code of an offer from the store: workflows never
// hold one. An offer from an older history may still carry its own.
func (a *Activities) withCode(ctx context.Context, incidentID string, o recovery.Offer) (recovery.Offer, error) {
	if o.Code != "" || (o.Remedy != recovery.RemedyDiscount && o.Remedy != recovery.RemedyStoreCredit) {
		return o, nil
	}
	code, err := a.Store.OfferCode(ctx, incidentID, o.Remedy)
	if err != nil {
		return o, err
	}
	o.Code = code
	return o, nil
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
	value, err := recovery.Money{Minor: in.TotalMinor, Currency: in.Currency}.Percent(cfg.DiscountPercent)
	if err != nil {
		return recovery.Offer{}, temporal.NewNonRetryableApplicationError("the order's total is out of range", "invalid", err)
	}
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
	offer.Code = "" // kept in the store; the workflow never holds it
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
	// Step is the contact ladder step; (incident, step, channel) is sent at
	// most once.
	Step int
	// IdempotencyKey is derived in the workflow and stable across retries.
	IdempotencyKey string
	// Options, when set, are the remedies the customer chooses from within
	// ChoiceWithin, the default first.
	Options      []recovery.Offer
	ChoiceWithin time.Duration
	// Confirm sends the confirmation of a choice instead of the apology.
	Confirm bool
	// Channel is the ladder's channel for this step; empty (histories from
	// before the ladder) means email, else SMS.
	Channel string
	// Window, when set, is checked again at the moment of sending: no
	// provider request happens outside it.
	Window recovery.ContactWindow
}

// Error types of SendApology the workflow acts on.
const (
	// ErrTypeOutsideWindow: the window closed before the send; wait again.
	ErrTypeOutsideWindow = "outside-window"
)

// SendApology renders the apology in the customer's language for the
// step's channel and sends it. A step is skipped, with a ledger row that
// says why, when the customer has no address for the channel or opted out
// of it; no provider request happens outside the contact window. The
// ledger row is written before the provider request (see deliver). The
// customer's name, address and language, and the offer's code, are read
// from the store; the workflow gets the contact without address, subject
// or body (recovery.Contact.ForWorkflow).
func (a *Activities) SendApology(ctx context.Context, in SendApologyInput) (recovery.Contact, error) {
	c, err := a.sendApology(ctx, in)
	if err == nil && c.Status == recovery.ContactSent && !in.Confirm && c.SentAt != nil && !in.Incident.DetectedAt.IsZero() {
		a.Metrics.FirstContact(c.SentAt.Sub(in.Incident.DetectedAt))
	}
	return c.ForWorkflow(), err
}

func (a *Activities) sendApology(ctx context.Context, in SendApologyInput) (recovery.Contact, error) {
	oc, err := a.orderContact(ctx, in.Incident.OrderID)
	if err != nil {
		return recovery.Contact{}, err
	}
	if in.Offer, err = a.withCode(ctx, in.Incident.ID, in.Offer); err != nil {
		return recovery.Contact{}, err
	}
	customer := oc.Customer
	channel := in.Channel
	if channel == "" {
		channel = recovery.ChannelEmail
		if customer.Email == "" {
			channel = recovery.ChannelSMS
		}
	}
	to := recovery.NormalizeAddress(channel, customer.Address(channel))
	if in.Channel == "" && to == "" {
		return recovery.Contact{}, temporal.NewNonRetryableApplicationError("customer has no email or phone", "no-contact", nil)
	}
	c := recovery.Contact{IncidentID: in.Incident.ID, Step: in.Step, Channel: channel, To: to, Status: recovery.ContactSending}
	if done, err := a.mayNotSend(ctx, &c, in.Window); done || err != nil {
		return c, err
	}
	data := messaging.ApologyData{Name: customer.Name, OrderID: in.Incident.OrderID, Kind: in.Incident.Kind,
		Offer: in.Offer, Options: in.Options, Within: in.ChoiceWithin}
	if b := a.Brands.For(oc.Source); b != nil {
		data.Brand, data.SupportPhone, data.SupportEmail = b.Name, b.Support.Phone, b.Support.Email
	}
	if a.Links != nil && in.Channel != "" {
		ttl := a.LinkTTL
		if ttl <= 0 {
			ttl = 30 * 24 * time.Hour
		}
		data.Link = a.Links.ChoiceURL(in.Incident.ID, a.now().Add(max(ttl, in.ChoiceWithin)))
		if channel == recovery.ChannelEmail {
			data.Unsubscribe = a.Links.UnsubscribeURL(to, a.now().Add(365*24*time.Hour))
		}
	}
	tm := a.templatesFor(oc)
	render := tm.Render
	if in.Confirm {
		render = tm.RenderConfirmation
	}
	msg, err := render(customer.Locale, data)
	if err != nil {
		return recovery.Contact{}, temporal.NewNonRetryableApplicationError("render apology", "template", err)
	}
	c.Subject, c.Body, c.Locale = msg.Subject, msg.Text, msg.Locale
	html := msg.HTML
	switch channel {
	case recovery.ChannelSMS:
		c.Subject, c.Body, html = "", msg.SMS, ""
	case recovery.ChannelVoice:
		c.Subject, c.Body, html = "", msg.Voice, ""
	}
	m := recovery.Message{HTML: html, IdempotencyKey: in.IdempotencyKey, Unsubscribe: data.Unsubscribe}
	m.From, m.FromName = a.sender(oc)
	if channel == recovery.ChannelEmail && a.ReplyDomain != "" && a.Links != nil {
		// Replies come back through SendGrid's Inbound Parse, to the
		// incident: the email promises that a person reads them.
		m.ReplyTo = a.Links.ReplyAddress(in.Incident.ID, in.Step, a.ReplyDomain)
	}
	return a.deliver(ctx, c, m)
}

// mayNotSend checks a step before anything is rendered or sent: a step
// without an address or to an opted-out one is skipped (done, c says
// why), and outside the contact window the answer is the non-retryable
// outside-window error, on which the workflow waits for the window.
func (a *Activities) mayNotSend(ctx context.Context, c *recovery.Contact, w recovery.ContactWindow) (done bool, err error) {
	skip, err := a.skipReason(ctx, c.Channel, c.To)
	if err != nil {
		*c = recovery.Contact{}
		return true, err
	}
	if skip != "" {
		*c, err = a.skip(ctx, *c, skip)
		return true, err
	}
	if now := a.now(); !w.Open(now) {
		*c = recovery.Contact{}
		return true, temporal.NewNonRetryableApplicationError(fmt.Sprintf("outside the contact window (%s) at %s",
			w, now.In(w.Location()).Format("15:04")), ErrTypeOutsideWindow, nil)
	}
	return false, nil
}

// skipReason says why a step must not be sent: no address for the
// channel, or an opt-out.
func (a *Activities) skipReason(ctx context.Context, channel, to string) (string, error) {
	if to == "" {
		return "no " + channel + " address", nil
	}
	if cs, ok := a.Messenger.(recovery.ChannelSender); ok && !cs.Sends(channel) {
		return "no " + channel + " provider is configured", nil
	}
	if a.Consent == nil {
		return "", nil
	}
	out, err := a.Consent.OptedOut(ctx, channel, to)
	if err != nil {
		return "", err
	}
	if out {
		return "the customer opted out of " + channel, nil
	}
	return "", nil
}

// skip records a skipped step without any provider request. A step
// skipped for want of an address leaves no ledger row (the customer data
// says why); an opt-out does, so that ops see it.
func (a *Activities) skip(ctx context.Context, c recovery.Contact, why string) (recovery.Contact, error) {
	c.Status, c.Detail = recovery.ContactSkipped, why
	if c.To == "" {
		return c, nil
	}
	existing, found, err := a.Store.BeginContact(ctx, c)
	if err != nil {
		return recovery.Contact{}, err
	}
	if found {
		return existing, nil
	}
	activity.GetLogger(ctx).Info("contact step skipped", "incident_id", c.IncidentID, "step", c.Step, "channel", c.Channel, "why", why)
	return c, nil
}

// deliver sends a step exactly once. The ledger row for (incident, step,
// channel) is written before the provider request and completed with the
// provider's id after it. A retry that finds the row does not send again:
// a row still "sending" means an attempt died around the provider request
// (it may have been accepted), so the step becomes "unconfirmed" and the
// ladder waits for the provider's callback or its timeout. Only an error
// that proves the provider did not take the message (recovery.ErrUnsent)
// lets a retry send; a permanent refusal (recovery.ErrInvalid) fails the
// step without an activity error, so that the ladder moves on.
func (a *Activities) deliver(ctx context.Context, c recovery.Contact, extra recovery.Message) (recovery.Contact, error) {
	existing, found, err := a.Store.BeginContact(ctx, c)
	if err != nil {
		return recovery.Contact{}, err
	}
	if found {
		switch existing.Status {
		case recovery.ContactSending:
			activity.GetLogger(ctx).Warn("an earlier attempt died around the provider request; not sending again",
				"incident_id", c.IncidentID, "step", c.Step, "channel", c.Channel)
			if err := a.Store.SetContactStatus(ctx, c.IncidentID, c.Step, c.Channel, recovery.ContactUnconfirmed,
				"an attempt died around the provider request; not sent again"); err != nil {
				return recovery.Contact{}, err
			}
			existing.Status = recovery.ContactUnconfirmed
			existing.IncidentID = c.IncidentID
			return existing, nil
		case retryable:
			if err := a.Store.SetContactStatus(ctx, c.IncidentID, c.Step, c.Channel, recovery.ContactSending, ""); err != nil {
				return recovery.Contact{}, err
			}
		default:
			activity.GetLogger(ctx).Info("step already done; not sending again", "incident_id", c.IncidentID, "step", c.Step)
			existing.IncidentID = c.IncidentID
			return existing, nil
		}
	}
	m := extra
	m.Channel, m.To, m.Subject, m.Text, m.IncidentID, m.Step = c.Channel, c.To, c.Subject, c.Body, c.IncidentID, c.Step
	sendStart := time.Now()
	providerID, err := a.sendMessage(ctx, m)
	a.Metrics.Provider(a.providerOf(c.Channel), time.Since(sendStart))
	defer func() { a.Metrics.Contact(c.Channel, contactOutcome(c, err)) }()
	switch {
	case errors.Is(err, recovery.ErrInvalid):
		c.Status, c.Detail = recovery.ContactFailed, scrub(err, c.To).Error()
		if serr := a.Store.SetContactStatus(ctx, c.IncidentID, c.Step, c.Channel, c.Status, c.Detail); serr != nil {
			return recovery.Contact{}, serr
		}
		return c, nil
	case errors.Is(err, recovery.ErrUnsent):
		if serr := a.Store.SetContactStatus(ctx, c.IncidentID, c.Step, c.Channel, retryable, scrub(err, c.To).Error()); serr != nil {
			return recovery.Contact{}, errors.Join(err, serr)
		}
		return recovery.Contact{}, fmt.Errorf("send %s: %w", c.Channel, scrub(err, c.To))
	case err != nil:
		return recovery.Contact{}, fmt.Errorf("send %s: %w", c.Channel, scrub(err, c.To))
	}
	sentAt := a.now().UTC()
	if err := a.Store.FinishContact(ctx, c.IncidentID, c.Step, c.Channel, recovery.ContactSent, providerID, sentAt); err != nil {
		return recovery.Contact{}, errors.Join(errors.New("record sent contact"), err)
	}
	c.Status, c.ProviderID, c.SentAt = recovery.ContactSent, providerID, &sentAt
	return c, nil
}

// sendMessage is one provider call, traced: its span names the provider, the
// channel and the step, never the address or the text.
func (a *Activities) sendMessage(ctx context.Context, m recovery.Message) (string, error) {
	if a.Tracer == nil {
		return a.Messenger.Send(ctx, m)
	}
	provider := a.providerOf(m.Channel)
	ctx, span := a.Tracer.Start(ctx, "send "+provider, trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(attribute.String("recovery.provider", provider), attribute.String("recovery.channel", m.Channel),
			attribute.Int("recovery.step", m.Step), attribute.String("recovery.incident_id", m.IncidentID)))
	defer span.End()
	id, err := a.Messenger.Send(ctx, m)
	if err != nil {
		tracing.Fail(span, scrub(err, m.To))
	}
	return id, err
}

// retryable marks a ledger row whose provider request provably failed: a
// retry may send it.
const retryable = "retry"

// DetectionConfig returns the detection limits. OrderWorkflow calls it as
// a local activity at the start of each run, so that its value is in the
// history and replays see the same limits.
func (a *Activities) DetectionConfig(context.Context) (recovery.DetectionConfig, error) {
	return a.Detection, nil
}

// OrderStartResult is what a fresh run of OrderWorkflow starts from.
type OrderStartResult struct {
	Config recovery.DetectionConfig
	// State is the order's projection, saved when an earlier run
	// completed; nil for an order seen for the first time.
	State json.RawMessage `json:",omitempty"`
}

// OrderStart returns the detection limits and the order's projection, if
// an earlier run of its workflow completed. OrderWorkflow calls it as a
// local activity when a run starts afresh, so that both are in the
// history and replays see the same.
func (a *Activities) OrderStart(ctx context.Context, orderID string) (OrderStartResult, error) {
	res := OrderStartResult{Config: a.Detection}
	if a.Store == nil {
		return res, nil
	}
	state, err := a.Store.LoadOrderState(ctx, orderID)
	res.State = state
	return res, err
}

// SaveOrderStateInput is the input of SaveOrderState.
type SaveOrderStateInput struct {
	OrderID string
	State   json.RawMessage
}

// SaveOrderState keeps a finished order's projection, for the run a later
// event starts.
func (a *Activities) SaveOrderState(ctx context.Context, in SaveOrderStateInput) error {
	return a.Store.SaveOrderState(ctx, in.OrderID, in.State)
}

// CloseIncidentInput is the input of CloseIncident.
type CloseIncidentInput struct {
	IncidentID string
	Status     string
	Resolution string
}

// CloseIncident records how an incident ended.
func (a *Activities) CloseIncident(ctx context.Context, in CloseIncidentInput) error {
	if in.Status != recovery.IncidentHealed && in.Status != recovery.IncidentResolved {
		return temporal.NewNonRetryableApplicationError("unknown closing status "+in.Status, "invalid", nil)
	}
	if err := a.Store.CloseIncident(ctx, in.IncidentID, in.Status, in.Resolution, a.now().UTC()); err != nil {
		return err
	}
	a.Metrics.Incident(a.kindOf(ctx, in.IncidentID), in.Status)
	return nil
}

// kindOf is an incident's kind, for metrics, when the store can tell.
func (a *Activities) kindOf(ctx context.Context, incidentID string) string {
	if k, ok := a.Store.(interface {
		IncidentKind(ctx context.Context, id string) (recovery.Kind, error)
	}); ok {
		if kind, err := k.IncidentKind(ctx, incidentID); err == nil {
			return string(kind)
		}
	}
	return "unknown"
}

// SendFollowUpInput is the input of SendFollowUp.
type SendFollowUpInput struct {
	Incident recovery.Incident
	Offer    recovery.Offer
	// Channel repeats the apology's, so the note arrives where the apology
	// did. To is set only by older histories: the address is read from the
	// store.
	Channel, To string
	Healed      string
	Step        int
	// IdempotencyKey is derived in the workflow and stable across retries.
	IdempotencyKey string
	// Window, when set, is checked at the moment of sending.
	Window recovery.ContactWindow
}

// SendFollowUp tells a customer who got an apology that the problem went
// away, once per step like every contact. Like SendApology it reads the
// customer from the store and answers without address or body.
func (a *Activities) SendFollowUp(ctx context.Context, in SendFollowUpInput) (recovery.Contact, error) {
	c, err := a.sendFollowUp(ctx, in)
	return c.ForWorkflow(), err
}

func (a *Activities) sendFollowUp(ctx context.Context, in SendFollowUpInput) (recovery.Contact, error) {
	oc, err := a.orderContact(ctx, in.Incident.OrderID)
	if err != nil {
		return recovery.Contact{}, err
	}
	if in.Offer, err = a.withCode(ctx, in.Incident.ID, in.Offer); err != nil {
		return recovery.Contact{}, err
	}
	to := in.To
	if to == "" {
		to = recovery.NormalizeAddress(in.Channel, oc.Customer.Address(in.Channel))
	}
	c := recovery.Contact{IncidentID: in.Incident.ID, Step: in.Step, Channel: in.Channel, To: to, Status: recovery.ContactSending}
	if done, err := a.mayNotSend(ctx, &c, in.Window); done || err != nil {
		return c, err
	}
	fd := messaging.FollowUpData{Name: oc.Customer.Name, OrderID: in.Incident.OrderID, Kind: in.Incident.Kind, Offer: in.Offer,
		Healed: in.Healed}
	if b := a.Brands.For(oc.Source); b != nil {
		fd.Brand = b.Name
	}
	msg, err := a.templatesFor(oc).RenderFollowUp(oc.Customer.Locale, fd)
	if err != nil {
		return recovery.Contact{}, temporal.NewNonRetryableApplicationError("render follow-up", "template", err)
	}
	body := msg.Text
	if in.Channel == recovery.ChannelSMS {
		body = msg.SMS
	}
	c.Subject, c.Body, c.Locale = msg.Subject, body, msg.Locale
	m := recovery.Message{HTML: msg.HTML, IdempotencyKey: in.IdempotencyKey}
	m.From, m.FromName = a.sender(oc)
	return a.deliver(ctx, c, m)
}

// templatesFor are the words of an order's messages: its brand's own,
// else the deployment's.
func (a *Activities) templatesFor(oc recovery.OrderContact) *messaging.Templates {
	if b := a.Brands.For(oc.Source); b != nil && b.Messages != nil {
		return b.Messages
	}
	return a.Templates
}

// sender is the From of an order's emails: its brand's, or "" for the
// email adapter's own.
func (a *Activities) sender(oc recovery.OrderContact) (string, string) {
	if b := a.Brands.For(oc.Source); b != nil && b.From.Email != "" {
		return b.From.Email, b.From.Name
	}
	return "", ""
}

// DecideRemedyInput is the input of DecideRemedy.
type DecideRemedyInput struct {
	Incident recovery.Incident
	Code     string
	Order    recovery.OrderData
	// Shipment is what the policy knows of the incident's shipment.
	Shipment recovery.ShipmentFacts `json:",omitempty"`
}

// DecideRemedy asks the policy what to offer, with the customer's history
// for the guards, and records the decision (policy version, rule, the
// reason each rule matched or not) on the incident. The decision is the
// activity's result, so replays see the same one.
func (a *Activities) DecideRemedy(ctx context.Context, in DecideRemedyInput) (recovery.RemedyDecision, error) {
	if a.Policy == nil {
		return recovery.RemedyDecision{}, nil
	}
	d, err := a.decide(ctx, in, a.now().UTC())
	if err != nil {
		return d, err
	}
	if err := a.Store.SaveDecision(ctx, in.Incident.ID, d); err != nil {
		return recovery.RemedyDecision{}, err
	}
	return d, nil
}

// decide asks the policy, with the customer (read from the store) and
// their history for the guards.
func (a *Activities) decide(ctx context.Context, in DecideRemedyInput, at time.Time) (recovery.RemedyDecision, error) {
	oc, err := a.orderContact(ctx, in.Incident.OrderID)
	if err != nil {
		return recovery.RemedyDecision{}, err
	}
	if oc.Customer != (recovery.Customer{}) {
		in.Order.Customer = oc.Customer
	}
	h, err := a.Store.CustomerHistory(ctx, recovery.CustomerKey(in.Order.Customer), in.Order.Currency, at, in.Incident.ID)
	if err != nil {
		return recovery.RemedyDecision{}, err
	}
	d, err := a.Policy.Decide(recovery.DecisionInput{Incident: in.Incident, Code: in.Code, Order: in.Order,
		Shipment: in.Shipment, History: h, At: at})
	if err != nil {
		// No rule matched: record the trace so ops can see why, and carry on
		// with the configured default remedy.
		activity.GetLogger(ctx).Warn("no policy rule matched", "incident_id", in.Incident.ID, "policy", d.PolicyVersion)
	}
	return d, nil
}

// scrub keeps an address out of an error's text, which Temporal keeps in
// the workflow's history: a provider's message may quote it. The error is
// flattened, since Temporal records every error of a chain, and unwraps
// only to the engine's sentinels (recovery.ErrUnsent, recovery.ErrInvalid)
// that decide retries.
func scrub(err error, addr string) error {
	if err == nil {
		return nil
	}
	text := err.Error()
	if addr != "" {
		text = strings.ReplaceAll(text, addr, "[address]")
	}
	s := scrubbed{text: text}
	for _, sentinel := range []error{recovery.ErrUnsent, recovery.ErrInvalid} {
		if errors.Is(err, sentinel) {
			s.is = append(s.is, sentinel)
		}
	}
	return s
}

type scrubbed struct {
	text string
	is   []error
}

func (s scrubbed) Error() string   { return s.text }
func (s scrubbed) Unwrap() []error { return s.is }

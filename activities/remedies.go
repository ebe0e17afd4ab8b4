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

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// RemedySettings tune how remedies are carried out.
type RemedySettings struct {
	// DailyBudget caps, per currency, what may be approved without a
	// person in one UTC day, in minor units; a currency not listed has no
	// cap.
	DailyBudget map[string]int64
	// WebhookAttempts bounds the tries of one outbound webhook before the
	// saga gives its remedy up (0: 8).
	WebhookAttempts int32
	// WebhookInterval is the first retry delay, doubling up to ten minutes
	// (0: 2s).
	WebhookInterval time.Duration
	// CodeExpiry is how long a code stays valid when the policy does not
	// say (0: 90 days).
	CodeExpiry time.Duration
	// Windows are the contact windows (default 08:00-21:00 everywhere).
	Windows recovery.WindowSettings
	// StepTimeout is how long a ladder step waits for news before the
	// next channel (0: 30 minutes); a policy rule may set its own.
	StepTimeout time.Duration
	// Reporting lists the channels whose provider reports each message it
	// took (SendGrid's event webhook, Twilio's status callbacks). On them
	// an unconfirmed step (an attempt died around the provider request)
	// that has no news within ConfirmWait (0: 15 minutes) was not taken,
	// and is sent again; elsewhere it is never sent again.
	Reporting   []string
	ConfirmWait time.Duration
}

// Plan is the decision and the settings the workflow needs to act on it;
// PlanRemedy returns it, so replays see the same.
type Plan struct {
	Decision        recovery.RemedyDecision
	WebhookAttempts int32
	WebhookInterval time.Duration
	// Window is when the recipient may be contacted, in their zone;
	// StepTimeout how long a ladder step waits for news. Zero in
	// histories from before the ladder.
	Window      recovery.ContactWindow
	StepTimeout time.Duration
	// Reporting and ConfirmWait: see RemedySettings.
	Reporting   []string      `json:",omitempty"`
	ConfirmWait time.Duration `json:",omitempty"`
}

// PlanRemedy asks the policy what to offer (the configured discount when
// there is no policy or no rule matched), applies the daily budget guard
// and records the decision on the incident.
func (a *Activities) PlanRemedy(ctx context.Context, in DecideRemedyInput) (Plan, error) {
	at := a.now().UTC()
	var d recovery.RemedyDecision
	if a.Policy != nil {
		var err error
		if d, err = a.decide(ctx, in, at); err != nil {
			return Plan{}, err
		}
	}
	cur := in.Order.Currency
	if len(d.Offers) == 0 {
		cfg := a.Remedy
		if cfg.Remedy == "" {
			cfg = recovery.DefaultRemedy
		}
		v, err := recovery.Money{Minor: in.Order.TotalMinor, Currency: cur}.Percent(cfg.DiscountPercent)
		if err != nil {
			return Plan{}, temporal.NewNonRetryableApplicationError("the order's total is out of range", "invalid", err)
		}
		if cfg.MaxMinor > 0 {
			v.Minor = min(v.Minor, cfg.MaxMinor)
		}
		d.Offers = []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: v}}
		d.Default, d.Approval = recovery.RemedyDiscount, recovery.ApprovalRule{AutoUpToMinor: -1}
		d.Ladder, d.Template = []string{recovery.ChannelEmail}, "apology"
		d.Guards = append(d.Guards, fmt.Sprintf("no policy rule matched: the configured %d%% discount", cfg.DiscountPercent))
	}
	if budget, ok := a.Settings.DailyBudget[cur]; ok && !d.NeedsApproval && a.Remedies != nil {
		// Reserved atomically, so that incidents planned at the same moment
		// cannot all pass the same check; given back when the remedy is not
		// carried out after all (ReleaseBudget).
		day := at.Truncate(24 * time.Hour)
		v := maxOffer(d)
		held, spent, err := a.Remedies.ReserveBudget(ctx, in.Incident.ID, cur, day, v, budget)
		if err != nil {
			return Plan{}, err
		}
		if !held {
			d.NeedsApproval = true
			if d.Approval.Role == "" {
				d.Approval.Role = "ops"
			}
			d.Guards = append(d.Guards, fmt.Sprintf("daily budget: %s of %s approved today; %s more needs a person",
				recovery.Money{Minor: spent, Currency: cur}, recovery.Money{Minor: budget, Currency: cur},
				recovery.Money{Minor: v, Currency: cur}))
		}
	}
	if err := a.Store.SaveDecision(ctx, in.Incident.ID, d); err != nil {
		return Plan{}, err
	}
	p := Plan{Decision: d, WebhookAttempts: a.Settings.WebhookAttempts, WebhookInterval: a.Settings.WebhookInterval}
	if p.WebhookAttempts <= 0 {
		p.WebhookAttempts = 8
	}
	if p.WebhookInterval <= 0 {
		p.WebhookInterval = 2 * time.Second
	}
	p.Window = a.Settings.Windows.For(d.ContactWindow, in.Order.Customer, in.Order.ShippingAddress)
	p.StepTimeout = d.StepTimeout
	if p.StepTimeout <= 0 {
		p.StepTimeout = a.Settings.StepTimeout
	}
	if p.StepTimeout <= 0 {
		p.StepTimeout = 30 * time.Minute
	}
	p.Reporting, p.ConfirmWait = a.Settings.Reporting, a.Settings.ConfirmWait
	if p.ConfirmWait <= 0 {
		p.ConfirmWait = 15 * time.Minute
	}
	return p, nil
}

func maxOffer(d recovery.RemedyDecision) int64 {
	var m int64
	for _, o := range d.Offers {
		m = max(m, o.Value.Minor)
	}
	return m
}

// SubstituteInput is the input of FindSubstitute.
type SubstituteInput struct {
	IncidentID  string
	Order       recovery.OrderData
	BandPercent int64
}

// FindSubstitute picks the order line that needs standing in for (the
// first whose product is short of stock, else the first the catalog
// knows), ranks the catalog's candidates for it and reserves the best one
// still available. The result names the substitute; no candidate is a
// non-retryable "no-substitute" error.
func (a *Activities) FindSubstitute(ctx context.Context, in SubstituteInput) (recovery.Offer, error) {
	var orig recovery.Product
	var qty int64
	for _, l := range in.Order.Lines {
		p, err := a.Remedies.Product(ctx, strings.ToUpper(l.SKU))
		if errors.Is(err, recovery.ErrNotFound) {
			continue
		}
		if err != nil {
			return recovery.Offer{}, err
		}
		if qty == 0 || p.Available() < l.Quantity {
			orig, qty = p, max(l.Quantity, 1)
		}
		if p.Available() < l.Quantity {
			break
		}
	}
	if qty == 0 {
		return recovery.Offer{}, temporal.NewNonRetryableApplicationError("no line of the order is in the catalog", "no-substitute", nil)
	}
	if orig.Category == "" {
		return recovery.Offer{}, temporal.NewNonRetryableApplicationError(orig.SKU+" has no category in the catalog", "no-substitute", nil)
	}
	candidates, err := a.Remedies.ProductsInCategory(ctx, orig.Category, orig.Currency)
	if err != nil {
		return recovery.Offer{}, err
	}
	for _, c := range recovery.RankSubstitutes(orig, qty, in.BandPercent, candidates) {
		err := a.Remedies.Reserve(ctx, in.IncidentID, c.SKU, qty)
		if errors.Is(err, recovery.ErrConflict) {
			continue // taken meanwhile
		}
		if err != nil {
			return recovery.Offer{}, err
		}
		return recovery.Offer{Remedy: recovery.RemedySubstitute, SubstituteSKU: c.SKU, SubstituteName: c.Name}, nil
	}
	return recovery.Offer{}, temporal.NewNonRetryableApplicationError(
		fmt.Sprintf("no %s in stock within %d%% of the price of %s", orig.Category, in.BandPercent, orig.SKU), "no-substitute", nil)
}

// ReservationInput names one reservation.
type ReservationInput struct {
	IncidentID, SKU string
}

// ReleaseSubstitute gives a reserved substitute back (a compensation).
func (a *Activities) ReleaseSubstitute(ctx context.Context, in ReservationInput) error {
	return a.Remedies.ReleaseReservation(ctx, in.IncidentID, in.SKU)
}

// IssueCodeInput is the input of IssueCode.
type IssueCodeInput struct {
	IncidentID string
	Offer      recovery.Offer
	ExpiresIn  time.Duration
}

// IssueCode creates the discount code or store-credit voucher of an offer:
// 80 random bits, single use, expiring; a retry gets the same code.
func (a *Activities) IssueCode(ctx context.Context, in IssueCodeInput) (recovery.Offer, error) {
	o := in.Offer
	prefix := "SORRY"
	if o.Remedy == recovery.RemedyStoreCredit {
		prefix = "CREDIT"
	}
	code, err := newCode(prefix)
	if err != nil {
		return o, err
	}
	ttl := in.ExpiresIn
	if ttl <= 0 {
		ttl = a.Settings.CodeExpiry
	}
	if ttl <= 0 {
		ttl = 90 * 24 * time.Hour
	}
	exp := a.now().UTC().Add(ttl).Truncate(time.Second)
	c, err := a.Remedies.IssueCode(ctx, recovery.IssuedCode{Code: code, IncidentID: in.IncidentID, Remedy: o.Remedy,
		ValueMinor: o.ValueMinor, Currency: o.Currency, ExpiresAt: &exp})
	if err != nil {
		return o, err
	}
	// The code stays in the store: SendApology and CarryOut read it there,
	// and the workflow never holds it.
	o.Code, o.ExpiresAt = "", c.ExpiresAt
	return o, nil
}

// newCode returns prefix, "-" and 16 base32 characters (80 random bits)
// in groups of four.
func newCode(prefix string) (string, error) {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("code: %w", err)
	}
	s := base32.StdEncoding.EncodeToString(b)
	return prefix + "-" + s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16], nil
}

// VoidCodeInput is the input of VoidCode.
type VoidCodeInput struct {
	IncidentID string
	Remedy     recovery.Remedy
}

// VoidCode makes an issued code unusable (a compensation).
func (a *Activities) VoidCode(ctx context.Context, in VoidCodeInput) error {
	return a.Remedies.VoidCode(ctx, in.IncidentID, in.Remedy)
}

// CarryOutInput is the input of CarryOut.
type CarryOutInput struct {
	IncidentID string
	Order      recovery.OrderData
	Offer      recovery.Offer
}

// RemedyRequest is the data of a remedy webhook: what the commerce
// platform is asked to do. No customer details: the platform has the order.
type RemedyRequest struct {
	IncidentID    string               `json:"incident_id"`
	OrderID       string               `json:"order_id"`
	Remedy        recovery.Remedy      `json:"remedy"`
	ValueMinor    int64                `json:"value_minor"`
	Currency      string               `json:"currency"`
	Code          string               `json:"code,omitempty"`
	ExpiresAt     *time.Time           `json:"expires_at,omitempty"`
	Expedited     bool                 `json:"expedited,omitempty"`
	SubstituteSKU string               `json:"substitute_sku,omitempty"`
	Lines         []recovery.OrderLine `json:"lines,omitempty"`
}

// CarryOut asks the commerce platform to carry the remedy out with a
// signed webhook, "remedy.<type>", whose id (incident/remedy) lets the
// receiver drop repeats. A refusal (4xx) is not retried.
func (a *Activities) CarryOut(ctx context.Context, in CarryOutInput) error {
	o, err := a.withCode(ctx, in.IncidentID, in.Offer)
	if err != nil {
		return err
	}
	req := RemedyRequest{IncidentID: in.IncidentID, OrderID: in.Order.OrderID, Remedy: o.Remedy, ValueMinor: o.ValueMinor,
		Currency: o.Currency, Code: o.Code, ExpiresAt: o.ExpiresAt, Expedited: o.Expedited, SubstituteSKU: o.SubstituteSKU}
	if o.Remedy == recovery.RemedyReship || o.Remedy == recovery.RemedySubstitute {
		req.Lines = in.Order.Lines
	}
	if err := a.send(ctx, in.IncidentID+"/"+string(o.Remedy), "remedy."+string(o.Remedy), req); err != nil {
		return err
	}
	a.Metrics.Remedy(string(o.Remedy), o.Currency, o.ValueMinor)
	return nil
}

// CancelRemedy tells the commerce platform not to carry out a remedy whose
// webhook may have reached it (the outcome is unknown: it timed out or kept
// failing), with a signed "remedy.cancelled" before any other remedy is
// tried, so that the platform never carries out two.
func (a *Activities) CancelRemedy(ctx context.Context, in CarryOutInput) error {
	o := in.Offer
	return a.send(ctx, in.IncidentID+"/"+string(o.Remedy)+"/cancel", "remedy.cancelled", map[string]any{
		"incident_id": in.IncidentID, "order_id": in.Order.OrderID, "remedy": o.Remedy,
		"cancels": in.IncidentID + "/" + string(o.Remedy),
		"reason":  "its outcome is unknown; another remedy may follow: do not carry this one out"})
}

func (a *Activities) send(ctx context.Context, id, typ string, data any) error {
	if a.Outbox == nil {
		return nil
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return temporal.NewNonRetryableApplicationError("encode webhook", "invalid", err)
	}
	err = a.Outbox.Deliver(ctx, recovery.OutboundWebhook{ID: id, Type: typ, At: a.now().UTC(), Data: raw})
	if errors.Is(err, recovery.ErrInvalid) {
		return temporal.NewNonRetryableApplicationError(err.Error(), "refused", nil)
	}
	return err
}

// SaveOfferInput is the input of SaveOffer.
type SaveOfferInput struct {
	IncidentID string
	Offer      recovery.Offer
	// IncidentStatus, when set, becomes the open incident's status.
	IncidentStatus string
	// ConsumeSKU turns that reservation into a sale (a substitute sent).
	ConsumeSKU string
}

// SaveOffer records the offer as it stands, and the incident's status.
func (a *Activities) SaveOffer(ctx context.Context, in SaveOfferInput) error {
	if in.ConsumeSKU != "" {
		if err := a.Remedies.ConsumeReservation(ctx, in.IncidentID, in.ConsumeSKU); err != nil {
			return err
		}
	}
	if err := a.Store.SaveOffer(ctx, in.IncidentID, in.Offer); err != nil {
		return err
	}
	if in.IncidentStatus != "" && a.Remedies != nil {
		return a.Remedies.SetIncidentStatus(ctx, in.IncidentID, in.IncidentStatus)
	}
	return nil
}

// Audit appends an entry to the incident's audit trail, once: a retried
// activity finds its entry written (keyed by the workflow run, the
// activity and the action).
func (a *Activities) Audit(ctx context.Context, e recovery.AuditEntry) error {
	if e.At.IsZero() {
		e.At = a.now().UTC()
	}
	if e.Key == "" && activity.IsActivity(ctx) {
		info := activity.GetInfo(ctx)
		e.Key = info.WorkflowExecution.RunID + "/" + info.ActivityID + "/" + e.Action
	}
	if a.Remedies == nil {
		return nil
	}
	return a.Remedies.Audit(ctx, e)
}

// EscalateInput is the input of Escalate.
type EscalateInput struct {
	IncidentID string
	OrderID    string
	Role       string
	Waited     time.Duration
	Offer      recovery.Offer
}

// Escalation is the data of the approval.escalated webhook.
type Escalation struct {
	IncidentID string         `json:"incident_id"`
	OrderID    string         `json:"order_id"`
	Role       string         `json:"role"`
	Waiting    string         `json:"waiting"`
	Offer      recovery.Offer `json:"offer"`
}

// Escalate records that nobody approved an offer in time and tells ops
// with an "approval.escalated" webhook.
func (a *Activities) Escalate(ctx context.Context, in EscalateInput) error {
	note := fmt.Sprintf("no decision after %s; escalated to %s", in.Waited, in.Role)
	if err := a.Audit(ctx, recovery.AuditEntry{IncidentID: in.IncidentID, Actor: "system", Action: "escalate", Note: note}); err != nil {
		return err
	}
	return a.send(ctx, in.IncidentID+"/escalated", "approval.escalated",
		Escalation{IncidentID: in.IncidentID, OrderID: in.OrderID, Role: in.Role, Waiting: in.Waited.String(), Offer: in.Offer})
}

// PersonRequestInput is the input of RequestPerson.
type PersonRequestInput struct {
	IncidentID string
	OrderID    string
	Channel    string
	Step       int
	Detail     string
}

// PersonRequest is the data of the customer.person_requested webhook:
// the customer asked to talk to a person (0 on the call, or an answer no
// machine understands), and somebody should get back to them.
type PersonRequest struct {
	IncidentID string `json:"incident_id"`
	OrderID    string `json:"order_id"`
	Channel    string `json:"channel"`
	Detail     string `json:"detail"`
}

// RequestPerson records that the customer asked for a person and tells
// ops with a "customer.person_requested" webhook (no customer data in it:
// ops look the incident up).
func (a *Activities) RequestPerson(ctx context.Context, in PersonRequestInput) error {
	if err := a.Audit(ctx, recovery.AuditEntry{IncidentID: in.IncidentID, Actor: "customer", Action: "person-requested",
		Note: fmt.Sprintf("%s (%s, step %d)", in.Detail, in.Channel, in.Step)}); err != nil {
		return err
	}
	return a.send(ctx, fmt.Sprintf("%s/person/%d", in.IncidentID, in.Step), "customer.person_requested",
		PersonRequest{IncidentID: in.IncidentID, OrderID: in.OrderID, Channel: in.Channel, Detail: in.Detail})
}

// FailIncidentInput is the input of FailIncident.
type FailIncidentInput struct {
	IncidentID string
	Reason     string
}

// FailIncident marks an incident whose workflow failed needs_attention,
// with the reason in its audit trail: ops take over.
func (a *Activities) FailIncident(ctx context.Context, in FailIncidentInput) error {
	if a.Remedies == nil {
		return nil
	}
	if err := a.Audit(ctx, recovery.AuditEntry{IncidentID: in.IncidentID, Actor: "system", Action: "failed", Note: in.Reason}); err != nil {
		return err
	}
	if err := a.Remedies.SetIncidentStatus(ctx, in.IncidentID, recovery.IncidentNeedsAttention); err != nil {
		return err
	}
	a.Metrics.Incident(a.kindOf(ctx, in.IncidentID), recovery.IncidentNeedsAttention)
	return nil
}

// BecameLateInput names an at_risk incident whose promise passed.
type BecameLateInput struct {
	IncidentID string
	Reason     string
}

// BecameLate records that an at_risk incident is late now: its kind and
// reason, and a line in its audit trail. The customer, already told, is
// not told again.
func (a *Activities) BecameLate(ctx context.Context, in BecameLateInput) error {
	if a.Remedies == nil {
		return nil
	}
	if err := a.Remedies.SetIncidentKind(ctx, in.IncidentID, recovery.KindLate, in.Reason); err != nil {
		return err
	}
	return a.Audit(ctx, recovery.AuditEntry{IncidentID: in.IncidentID, Actor: "system", Action: "became_late",
		Note: in.Reason + "; the customer was already told it was at risk"})
}

// ReleaseBudget gives an incident's reservation of the daily budget back:
// its remedy was not carried out after all (healed first, or failed).
func (a *Activities) ReleaseBudget(ctx context.Context, incidentID string) error {
	if a.Remedies == nil {
		return nil
	}
	return a.Remedies.ReleaseBudget(ctx, incidentID)
}

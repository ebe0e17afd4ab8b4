package workflows

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// decideFunc is a PolicyEngine for tests.
type decideFunc func(recovery.DecisionInput) (recovery.RemedyDecision, error)

func (f decideFunc) Decide(in recovery.DecisionInput) (recovery.RemedyDecision, error) { return f(in) }

func eur(minor int64) recovery.Money { return recovery.Money{Minor: minor, Currency: "EUR"} }

// failingOutbox refuses webhooks of some types (after counting them) and
// records the rest in the store.
type failingOutbox struct {
	st   *recoverytest.MemStore
	fail map[string]bool
	// refuse answers these types with a refusal (a 4xx).
	refuse map[string]bool
	mu     sync.Mutex
	tries  map[string]int
}

func (o *failingOutbox) Deliver(ctx context.Context, w recovery.OutboundWebhook) error {
	o.mu.Lock()
	o.tries[w.Type]++
	o.mu.Unlock()
	if o.fail[w.Type] {
		return errors.New("receiver answered 503 Service Unavailable")
	}
	if o.refuse[w.Type] {
		return fmt.Errorf("receiver refused it with 422: %w", recovery.ErrInvalid)
	}
	return o.st.Deliver(ctx, w)
}

type remedyHarness struct {
	env    *testsuite.TestWorkflowEnvironment
	st     *recoverytest.MemStore
	sink   *messaging.MemorySink
	outbox *failingOutbox
	in     RecoveryInput
	acts   *activities.Activities
}

func newRemedyHarness(t *testing.T, d recovery.RemedyDecision, failTypes ...string) *remedyHarness {
	t.Helper()
	h := &remedyHarness{env: quietSuite().NewTestWorkflowEnvironment(), st: recoverytest.NewMemStore(),
		sink: &messaging.MemorySink{}, in: recoveryInput("en")}
	h.outbox = &failingOutbox{st: h.st, fail: map[string]bool{}, tries: map[string]int{}}
	for _, f := range failTypes {
		h.outbox.fail[f] = true
	}
	h.in.HealWindow = time.Hour
	h.in.Order.Lines = []recovery.OrderLine{{SKU: "LAMP-1", Quantity: 1, UnitPriceMinor: 8999}}
	h.st.Products["LAMP-1"] = recovery.Product{SKU: "LAMP-1", Name: "Desk lamp", Category: "lamps", PriceMinor: 8999,
		Currency: "EUR", Stock: 0, Attributes: map[string]string{"colour": "black", "fitting": "E27"}}
	h.st.Products["LAMP-2"] = recovery.Product{SKU: "LAMP-2", Name: "Desk lamp, brass", Category: "lamps", PriceMinor: 9400,
		Currency: "EUR", Stock: 3, Attributes: map[string]string{"colour": "brass", "fitting": "E27"}}
	d.PolicyVersion, d.Rule = "test", "rule"
	if d.Default == "" {
		d.Default = d.Offers[0].Remedy
	}
	h.acts = &activities.Activities{Store: h.st, Remedies: h.st, Outbox: h.outbox,
		Messenger: &messaging.Capture{Sink: h.sink}, Policy: decideFunc(func(recovery.DecisionInput) (recovery.RemedyDecision, error) { return d, nil }),
		Settings: activities.RemedySettings{WebhookAttempts: 3, WebhookInterval: time.Second}}
	registerActivities(h.env, h.acts)
	return h
}

// update sends an update at a point in workflow time and records how it
// ended.
func (h *remedyHarness) update(after time.Duration, name string, arg any) *updateOutcome {
	out := &updateOutcome{}
	h.env.RegisterDelayedCallback(func() {
		h.env.UpdateWorkflow(name, fmt.Sprintf("%s-%s", name, after), &testsuite.TestUpdateCallback{
			OnAccept: func() { out.accepted = true },
			OnReject: func(err error) { out.err = err },
			OnComplete: func(_ any, err error) {
				if err != nil {
					out.err = err
				}
			},
		}, arg)
	}, after)
	return out
}

type updateOutcome struct {
	accepted bool
	err      error
}

// messagesAt records how many messages were sent by a point in time.
func (h *remedyHarness) messagesAt(at time.Duration) *int {
	n := new(int)
	h.env.RegisterDelayedCallback(func() { *n = len(h.sink.Messages) }, at)
	return n
}

func (h *remedyHarness) run(t *testing.T) RecoveryResult {
	t.Helper()
	h.env.ExecuteWorkflow(RecoveryWorkflow, seated(h.st, h.in))
	if err := h.env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res RecoveryResult
	if err := h.env.GetWorkflowResult(&res); err != nil {
		t.Fatal(err)
	}
	return res
}

func (h *remedyHarness) audit() string {
	var acts []string
	for _, e := range h.st.AuditLog {
		acts = append(acts, e.Actor+":"+e.Action)
	}
	return strings.Join(acts, " ")
}

var approval = recovery.ApprovalRule{AutoUpToMinor: 1000, Role: "ops", EscalateAfter: 4 * time.Hour,
	Deadline: 24 * time.Hour, OnDeadline: "apply_default"}

func TestLowValueDiscountIsApprovedByPolicy(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{Offers: []recovery.RemedyOffer{
		{Remedy: recovery.RemedyDiscount, Value: eur(900), ExpiresIn: 30 * 24 * time.Hour}}, Approval: approval})
	res := h.run(t)
	if res.Offer.Status != recovery.OfferApplied || res.Offer.ApprovedBy != "policy:rule" || res.Offer.ValueMinor != 900 {
		t.Fatalf("offer = %+v", res.Offer)
	}
	// The code lives in the store; the workflow never holds it.
	code := h.st.Offers[h.in.Incident.ID].Code
	c, ok := h.st.Codes[code]
	if res.Offer.Code != "" || !ok || c.Status != recovery.CodeActive || c.ExpiresAt == nil || !c.ExpiresAt.Equal(t0.Add(30*24*time.Hour)) {
		t.Fatalf("code %q = %+v (the workflow's: %q), want an active code expiring in 30 days", code, c, res.Offer.Code)
	}
	if len(h.st.Webhooks) != 1 || h.st.Webhooks[0].Type != "remedy.discount" || !strings.Contains(string(h.st.Webhooks[0].Data), code) {
		t.Fatalf("webhooks = %+v", h.st.Webhooks)
	}
	if len(h.sink.Messages) != 1 || !strings.Contains(h.sink.Messages[0].Text, code) {
		t.Fatalf("messages = %+v, want one apology with the code", h.sink.Messages)
	}
	if inc := h.st.Incidents[h.in.Incident.ID]; inc.Status != recovery.IncidentResolved {
		t.Fatalf("incident = %s, want resolved after the heal window", inc.Status)
	}
}

func TestHighValueWaitsForApproval(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyStoreCredit, Value: eur(5000)}}})
	before := h.messagesAt(59 * time.Minute)
	overLimit := h.update(30*time.Minute, UpdateApprove, ApproveRequest{By: Approver{Name: "junior", LimitMajor: 20}})
	approved := h.update(time.Hour, UpdateApprove, ApproveRequest{By: Approver{Name: "alice", LimitMajor: 100}, Note: "loyal customer"})
	late := h.update(2*time.Hour, UpdateReject, RejectRequest{By: Approver{Name: "bob"}, Reason: "too late"})
	res := h.run(t)
	if *before != 0 {
		t.Fatalf("%d messages before approval, want none", *before)
	}
	var appErr *temporal.ApplicationError
	if !errors.As(overLimit.err, &appErr) || appErr.Type() != ErrTypeOverLimit || overLimit.accepted {
		t.Fatalf("over-limit approval: %+v, want rejected as %s", overLimit, ErrTypeOverLimit)
	}
	if !approved.accepted || approved.err != nil {
		t.Fatalf("approval: %+v", approved)
	}
	if !errors.As(late.err, &appErr) || appErr.Type() != ErrTypeWrongStage {
		t.Fatalf("late rejection: %+v, want %s", late, ErrTypeWrongStage)
	}
	if res.Offer.ApprovedBy != "alice" || res.Offer.Status != recovery.OfferApplied ||
		!strings.HasPrefix(h.st.Offers[h.in.Incident.ID].Code, "CREDIT-") {
		t.Fatalf("offer = %+v", res.Offer)
	}
	if len(h.sink.Messages) != 1 || h.audit() != "alice:approve" || h.st.AuditLog[0].Note != "loyal customer" {
		t.Fatalf("messages %d, audit %q", len(h.sink.Messages), h.audit())
	}
}

func TestApprovalEscalatesThenDefaultApplies(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval, Default: recovery.RemedyReship,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)},
			{Remedy: recovery.RemedyReship, Value: eur(8999), Expedited: true}}})
	escalatedBy := new(int)
	h.env.RegisterDelayedCallback(func() { *escalatedBy = len(h.st.AuditLog) }, 4*time.Hour+time.Minute)
	beforeDeadline := h.messagesAt(24*time.Hour - time.Minute)
	res := h.run(t)
	if *escalatedBy != 1 || *beforeDeadline != 0 {
		t.Fatalf("audit entries after 4h: %d (want 1), messages before the deadline: %d", *escalatedBy, *beforeDeadline)
	}
	if h.audit() != "system:escalate system:deadline" {
		t.Fatalf("audit = %q", h.audit())
	}
	if res.Offer.Remedy != recovery.RemedyReship || !res.Offer.Expedited || res.Offer.ApprovedBy != "policy:deadline" {
		t.Fatalf("offer = %+v, want the default (an expedited reship)", res.Offer)
	}
	var types []string
	for _, w := range h.st.Webhooks {
		types = append(types, w.Type)
	}
	if strings.Join(types, " ") != "approval.escalated remedy.reship" {
		t.Fatalf("webhooks = %v", types)
	}
}

// TestApprovalDeadlineRejects: with on_deadline: reject, nobody approving
// by the deadline rejects the offer: the incident closes then, without a
// remedy and without a message, and the audit says the system did it.
func TestApprovalDeadlineRejects(t *testing.T) {
	rule := approval
	rule.OnDeadline = "reject"
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: rule, Default: recovery.RemedyReship,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)},
			{Remedy: recovery.RemedyReship, Value: eur(8999), Expedited: true}}})
	id := h.in.Incident.ID
	statusBefore := new(string)
	h.env.RegisterDelayedCallback(func() { *statusBefore = h.st.Incidents[id].Status }, rule.Deadline-time.Minute)
	res := h.run(t)
	if *statusBefore != recovery.IncidentAwaitingApproval {
		t.Fatalf("a minute before the deadline the incident is %q, want still awaiting approval", *statusBefore)
	}
	if res.Offer.Status != recovery.OfferRejected || !strings.Contains(res.Offer.Note, "rejected by system") ||
		h.st.Offers[id].Status != recovery.OfferRejected {
		t.Fatalf("offer = %+v, stored %+v; want rejected by the system", res.Offer, h.st.Offers[id])
	}
	inc := h.st.Incidents[id]
	if inc.Status != recovery.IncidentResolved || inc.ClosedAt == nil || !inc.ClosedAt.Equal(t0.Add(rule.Deadline)) ||
		!strings.Contains(inc.Resolution, "no remedy") {
		t.Fatalf("incident %s %q closed at %v, want resolved without a remedy at the deadline (%v)", inc.Status, inc.Resolution,
			inc.ClosedAt, t0.Add(rule.Deadline))
	}
	if len(h.sink.Messages) != 0 || len(h.st.Codes) != 0 {
		t.Fatalf("%d messages and %d codes after a rejection, want none", len(h.sink.Messages), len(h.st.Codes))
	}
	var types []string
	for _, w := range h.st.Webhooks {
		types = append(types, w.Type)
	}
	if strings.Join(types, " ") != "approval.escalated" {
		t.Fatalf("webhooks = %v, want only the escalation (no remedy carried out)", types)
	}
	if h.audit() != "system:escalate system:deadline" {
		t.Fatalf("audit = %q", h.audit())
	}
	e := h.st.AuditLog[1]
	if !strings.HasSuffix(e.Note, ": reject") || !e.At.Equal(t0.Add(rule.Deadline)) || len(e.After) != 0 ||
		!strings.Contains(string(e.Before), `"reship"`) {
		t.Fatalf("deadline audit = %+v (before %s, after %s), want the system rejecting the pending offer at the deadline", e, e.Before, e.After)
	}
}

func TestRejectedOfferClosesWithoutContact(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)}}})
	noReason := h.update(time.Minute, UpdateReject, RejectRequest{By: Approver{Name: "alice"}})
	h.update(time.Hour, UpdateReject, RejectRequest{By: Approver{Name: "alice"}, Reason: "already refunded by phone"})
	res := h.run(t)
	if noReason.err == nil {
		t.Fatal("a rejection without a reason was accepted")
	}
	inc := h.st.Incidents[h.in.Incident.ID]
	if res.Offer.Status != recovery.OfferRejected || inc.Status != recovery.IncidentResolved || len(h.sink.Messages) != 0 ||
		!strings.Contains(inc.Resolution, "already refunded by phone") {
		t.Fatalf("offer %+v, incident %s %q, %d messages", res.Offer, inc.Status, inc.Resolution, len(h.sink.Messages))
	}
}

func TestEditedOfferIsCheckedAgainstTheApproversLimit(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)}}})
	tooMuch := h.update(time.Minute, UpdateOffer, OfferRequest{By: Approver{Name: "alice", LimitMajor: 30},
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(5000)}}})
	wrongCurrency := h.update(2*time.Minute, UpdateOffer, OfferRequest{By: Approver{Name: "alice", LimitMajor: 30},
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: recovery.Money{Minor: 100, Currency: "USD"}}}})
	h.update(time.Hour, UpdateOffer, OfferRequest{By: Approver{Name: "alice", LimitMajor: 30},
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(2500)}}})
	res := h.run(t)
	if tooMuch.err == nil || wrongCurrency.err == nil {
		t.Fatalf("edits over the limit (%v) or in another currency (%v) were accepted", tooMuch.err, wrongCurrency.err)
	}
	if res.Offer.Remedy != recovery.RemedyDiscount || res.Offer.ValueMinor != 2500 || h.audit() != "alice:edit" {
		t.Fatalf("offer %+v, audit %q", res.Offer, h.audit())
	}
	if e := h.st.AuditLog[0]; !strings.Contains(string(e.Before), "refund") || !strings.Contains(string(e.After), "2500") {
		t.Fatalf("audit before %s after %s", e.Before, e.After)
	}
}

var choice = recovery.RemedyDecision{CustomerChooses: true, ChoiceTimeout: 48 * time.Hour, Default: recovery.RemedyRefund,
	Approval: recovery.ApprovalRule{AutoUpToMinor: -1},
	Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedySubstitute, Value: eur(8999), PriceBandPercent: 10},
		{Remedy: recovery.RemedyRefund, Value: eur(8999)}}}

func TestCustomerChoosesASubstitute(t *testing.T) {
	h := newRemedyHarness(t, choice)
	reserved := new(int64)
	h.env.RegisterDelayedCallback(func() { *reserved = h.st.Products["LAMP-2"].Reserved }, time.Hour)
	h.update(2*time.Hour, UpdateChoose, ChooseRequest{Remedy: recovery.RemedySubstitute, By: "customer"})
	res := h.run(t)
	if *reserved != 1 {
		t.Fatalf("LAMP-2 reserved while offered: %d, want 1", *reserved)
	}
	if res.Offer.Remedy != recovery.RemedySubstitute || res.Offer.SubstituteSKU != "LAMP-2" || res.Confirmation == nil {
		t.Fatalf("result = %+v", res)
	}
	if p := h.st.Products["LAMP-2"]; p.Reserved != 0 || p.Stock != 2 {
		t.Fatalf("LAMP-2 after the sale: %+v, want stock 2 and nothing reserved", p)
	}
	if len(h.sink.Messages) != 2 || !strings.Contains(h.sink.Messages[0].Text, "2. A similar item instead (Desk lamp, brass), at no extra cost") ||
		!strings.Contains(h.sink.Messages[0].Text, "within 2 days") {
		t.Fatalf("messages = %+v", h.sink.Messages)
	}
	if len(h.st.Webhooks) != 1 || h.st.Webhooks[0].Type != "remedy.substitute" || !strings.Contains(string(h.st.Webhooks[0].Data), `"substitute_sku":"LAMP-2"`) {
		t.Fatalf("webhooks = %+v", h.st.Webhooks)
	}
}

func TestNoChoiceMeansTheDefault(t *testing.T) {
	h := newRemedyHarness(t, choice)
	res := h.run(t)
	if res.Offer.Remedy != recovery.RemedyRefund || h.audit() != "system:choose" {
		t.Fatalf("offer %+v, audit %q", res.Offer, h.audit())
	}
	if p := h.st.Products["LAMP-2"]; p.Reserved != 0 || p.Stock != 3 {
		t.Fatalf("the substitute not chosen must go back: %+v", p)
	}
}

func TestFailingWebhookUndoesAndFallsBack(t *testing.T) {
	d := choice
	d.CustomerChooses = false
	d.Default = recovery.RemedySubstitute
	h := newRemedyHarness(t, d, "remedy.substitute")
	res := h.run(t)
	if h.outbox.tries["remedy.substitute"] != 3 {
		t.Fatalf("substitute webhook tried %d times, want the 3 attempts", h.outbox.tries["remedy.substitute"])
	}
	if p := h.st.Products["LAMP-2"]; p.Reserved != 0 || p.Stock != 3 {
		t.Fatalf("reservation not undone: %+v", p)
	}
	if res.Offer.Remedy != recovery.RemedyRefund || res.Offer.Status != recovery.OfferApplied ||
		!strings.Contains(res.Offer.Note, "instead of substitute") {
		t.Fatalf("offer = %+v, want the refund instead", res.Offer)
	}
	if len(h.sink.Messages) != 1 || !strings.Contains(h.sink.Messages[0].Text, "refunding") {
		t.Fatalf("messages = %+v", h.sink.Messages)
	}
	// The substitute's webhook may have reached the platform: it is
	// cancelled before the refund goes out, so only one is carried out.
	var types []string
	for _, w := range h.st.Webhooks {
		types = append(types, w.Type)
	}
	if strings.Join(types, " ") != "remedy.cancelled remedy.refund" || !strings.HasSuffix(h.st.Webhooks[0].ID, "/substitute/cancel") {
		t.Fatalf("webhooks %v (%s), want the substitute cancelled, then the refund", types, h.st.Webhooks[0].ID)
	}
}

// When even the cancellation of a remedy of unknown outcome cannot be
// delivered, no other remedy is tried: two could be carried out. Ops take
// over.
func TestUndeliverableCancellationStopsTheFallback(t *testing.T) {
	d := choice
	d.CustomerChooses = false
	d.Default = recovery.RemedySubstitute
	h := newRemedyHarness(t, d, "remedy.substitute", "remedy.cancelled")
	res := h.run(t)
	inc := h.st.Incidents[h.in.Incident.ID]
	if res.Offer.Status != recovery.OfferFailed || inc.Status != recovery.IncidentNeedsAttention || h.outbox.tries["remedy.refund"] != 0 ||
		len(h.sink.Messages) != 0 {
		t.Fatalf("offer %+v, incident %s, refund tried %d times, %d messages: want needs_attention and no refund",
			res.Offer, inc.Status, h.outbox.tries["remedy.refund"], len(h.sink.Messages))
	}
}

// A refusal (the platform answered no) leaves nothing to cancel.
func TestRefusedRemedyIsNotCancelled(t *testing.T) {
	d := choice
	d.CustomerChooses = false
	d.Default = recovery.RemedySubstitute
	h := newRemedyHarness(t, d)
	h.outbox.refuse = map[string]bool{"remedy.substitute": true}
	res := h.run(t)
	if res.Offer.Remedy != recovery.RemedyRefund || h.outbox.tries["remedy.cancelled"] != 0 {
		t.Fatalf("offer %+v, %d cancellations: a refusal needs none", res.Offer, h.outbox.tries["remedy.cancelled"])
	}
}

func TestEveryRemedyFailingNeedsAttention(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{Approval: recovery.ApprovalRule{AutoUpToMinor: -1},
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(500)}}}, "remedy.discount")
	res := h.run(t)
	inc := h.st.Incidents[h.in.Incident.ID]
	if res.Offer.Status != recovery.OfferFailed || inc.Status != recovery.IncidentNeedsAttention || len(h.sink.Messages) != 0 {
		t.Fatalf("offer %+v, incident %s, %d messages", res.Offer, inc.Status, len(h.sink.Messages))
	}
	if len(h.st.Codes) != 1 {
		t.Fatalf("%d codes issued, want the one the failed discount voided", len(h.st.Codes))
	}
	for _, c := range h.st.Codes {
		if c.Status != recovery.CodeVoid {
			t.Fatalf("code %s is %s, want void", c.Code, c.Status)
		}
	}
}

func TestHealWhileAwaitingApprovalSaysNothing(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)}}})
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalHeal, HealSignal{Reason: "delivered"}) }, 2*time.Hour)
	res := h.run(t)
	if res.Healed != "delivered" || len(h.sink.Messages) != 0 || h.st.Incidents[h.in.Incident.ID].Status != recovery.IncidentHealed {
		t.Fatalf("result %+v, %d messages", res, len(h.sink.Messages))
	}
}

// seated puts the order's customer and address in the store, where the
// activities read them, and returns the input as the workflow gets it
// from the relay: without them.
func seated(st *recoverytest.MemStore, in RecoveryInput) RecoveryInput {
	st.SetOrderContact(in.Order.OrderID, in.Order.Customer, in.Order.ShippingAddress)
	in.Order.Customer = in.Order.Customer.Impersonal()
	in.Order.ShippingAddress = in.Order.ShippingAddress.Impersonal()
	return in
}

// registerActivities registers a on a test environment whose clock starts
// at t0 (09:00 UTC, inside the default contact window), with the
// activities, and an in-memory store, reading the environment's clock.
func registerActivities(env *testsuite.TestWorkflowEnvironment, a *activities.Activities) {
	env.SetStartTime(t0)
	a.Clock = env.Now
	if m, ok := a.Store.(*recoverytest.MemStore); ok {
		m.Now = env.Now
	}
	env.RegisterActivity(a)
	// An incident's workflow tells its order's when it ends; the test
	// environment delivers a child's signal to the workflow under test by
	// hand (an incident under test ignores it).
	env.OnSignalExternalWorkflow(mock.Anything, mock.Anything, "", SignalIncidentClosed, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			env.SignalWorkflow(SignalIncidentClosed, arg)
			return nil
		}).Maybe()
}

// A remedy that could not be carried out gives its share of the daily
// budget back.
func TestFailedRemedyGivesTheBudgetBack(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{Approval: recovery.ApprovalRule{AutoUpToMinor: -1},
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(500)}}}, "remedy.discount")
	h.acts.Settings.DailyBudget = map[string]int64{"EUR": 10000}
	reserved := new(int64)
	h.env.RegisterDelayedCallback(func() { *reserved = h.st.Budget("EUR", t0.Truncate(24*time.Hour)) }, time.Second)
	res := h.run(t)
	if res.Offer.Status != recovery.OfferFailed || *reserved != 500 {
		t.Fatalf("offer %+v, %d reserved while trying: want a failed offer that had reserved 500", res.Offer, *reserved)
	}
	if left := h.st.Budget("EUR", t0.Truncate(24*time.Hour)); left != 0 {
		t.Fatalf("%d still reserved after the remedy failed, want 0", left)
	}
}

// An approver's limit is checked against what the engine says an offer is
// worth, never against what the request declares.
func TestEditedOfferIsValuedByTheEngine(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(1000)}}})
	h.in.Order.TotalMinor = 500000
	h.in.Order.Lines = []recovery.OrderLine{{SKU: "SOFA-1", Quantity: 2, UnitPriceMinor: 250000}}
	junior := Approver{Name: "junior", LimitMajor: 10}
	edit := func(at time.Duration, o recovery.RemedyOffer) *updateOutcome {
		return h.update(at, UpdateOffer, OfferRequest{By: junior, Offers: []recovery.RemedyOffer{o}})
	}
	reship := edit(time.Minute, recovery.RemedyOffer{Remedy: recovery.RemedyReship, Value: eur(0)})
	substitute := edit(2*time.Minute, recovery.RemedyOffer{Remedy: recovery.RemedySubstitute, Value: eur(1)})
	refund := edit(3*time.Minute, recovery.RemedyOffer{Remedy: recovery.RemedyRefund, Value: eur(500001)})
	discount := edit(4*time.Minute, recovery.RemedyOffer{Remedy: recovery.RemedyDiscount, Value: eur(1001)})
	expedited := edit(5*time.Minute, recovery.RemedyOffer{Remedy: recovery.RemedyDiscount, Value: eur(500), Expedited: true})
	ok := edit(6*time.Minute, recovery.RemedyOffer{Remedy: recovery.RemedyDiscount, Value: eur(900)})
	res := h.run(t)
	var appErr *temporal.ApplicationError
	for name, out := range map[string]*updateOutcome{"reship declared 0": reship, "substitute declared 0.01": substitute} {
		if !errors.As(out.err, &appErr) || appErr.Type() != ErrTypeOverLimit || !strings.Contains(appErr.Error(), "5000.00 EUR") {
			t.Errorf("%s: %v, want refused as over the limit at the lines' 5000.00 EUR", name, out.err)
		}
	}
	for name, out := range map[string]*updateOutcome{"refund over the total": refund, "discount over the policy's": discount,
		"an expedited discount": expedited} {
		if !errors.As(out.err, &appErr) || appErr.Type() != ErrTypeInvalid {
			t.Errorf("%s: %v, want refused as invalid", name, out.err)
		}
	}
	if !ok.accepted || ok.err != nil || res.Offer.Remedy != recovery.RemedyDiscount || res.Offer.ValueMinor != 900 {
		t.Fatalf("a discount within the policy and the limit: %+v, offer %+v", ok, res.Offer)
	}
}

// The rule's approval role is enforced: an approver who acts for other
// roles cannot decide; one for that role, or for every role, can.
func TestApprovalRoleIsEnforced(t *testing.T) {
	rule := approval
	rule.Role = "claims"
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: rule,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(2000)}}})
	other := h.update(time.Minute, UpdateApprove, ApproveRequest{By: Approver{Name: "sam", LimitMajor: 100, Roles: []string{"returns"}}})
	reject := h.update(2*time.Minute, UpdateReject, RejectRequest{By: Approver{Name: "sam", Roles: []string{"returns"}}, Reason: "no"})
	claims := h.update(time.Hour, UpdateApprove, ApproveRequest{By: Approver{Name: "cleo", LimitMajor: 100, Roles: []string{"returns", "claims"}}})
	res := h.run(t)
	var appErr *temporal.ApplicationError
	for name, out := range map[string]*updateOutcome{"approve": other, "reject": reject} {
		if !errors.As(out.err, &appErr) || appErr.Type() != ErrTypeNotYourRole {
			t.Errorf("%s by another role's approver: %v, want %s", name, out.err, ErrTypeNotYourRole)
		}
	}
	if !claims.accepted || res.Offer.ApprovedBy != "cleo" {
		t.Fatalf("the claims approver: %+v, offer %+v", claims, res.Offer)
	}
	if !(Approver{Name: "any"}).ActsFor("claims") {
		t.Fatal("an approver with no roles acts for every role")
	}
}

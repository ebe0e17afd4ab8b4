package workflows

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// slowAudits makes every audit row take d of workflow time to write, so
// that a timer can fire while an update's handler is still auditing.
func (h *remedyHarness) slowAudits(d time.Duration) {
	h.env.OnActivity(h.acts.Audit, mock.Anything, mock.Anything).After(d).Return(
		func(ctx context.Context, e recovery.AuditEntry) error { return h.st.Audit(ctx, e) })
}

// An approval whose audit row is still being written when the deadline
// passes wins: the deadline's reject is never applied over it.
func TestApprovalInFlightBeatsTheDeadline(t *testing.T) {
	rule := approval
	rule.OnDeadline = "reject"
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: rule,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyStoreCredit, Value: eur(5000)}}})
	h.slowAudits(2 * time.Hour)
	approved := h.update(rule.Deadline-time.Hour, UpdateApprove, ApproveRequest{By: Approver{Name: "alice", LimitMajor: 100}})
	res := h.run(t)
	if !approved.accepted || approved.err != nil {
		t.Fatalf("approval: %+v", approved)
	}
	if res.Offer.Status != recovery.OfferApplied || res.Offer.ApprovedBy != "alice" || h.audit() != "system:escalate alice:approve" {
		t.Fatalf("offer %+v, audit %q: the approval must win over the deadline that fired during its audit", res.Offer, h.audit())
	}
}

// A choice still being recorded when the choice window closes wins over
// the default.
func TestChoiceInFlightBeatsTheTimeout(t *testing.T) {
	h := newRemedyHarness(t, choice)
	h.slowAudits(2 * time.Hour)
	chose := h.update(choice.ChoiceTimeout-time.Hour, UpdateChoose, ChooseRequest{Remedy: recovery.RemedySubstitute, By: "customer"})
	res := h.run(t)
	if !chose.accepted || chose.err != nil {
		t.Fatalf("choice: %+v", chose)
	}
	if res.Offer.Remedy != recovery.RemedySubstitute || strings.Contains(h.audit(), "system:choose") {
		t.Fatalf("offer %+v, audit %q: the customer's choice must win over the default", res.Offer, h.audit())
	}
}

// An approval that comes after the incident healed is refused with what
// happened (409 at the API), not answered "approved".
func TestActionAfterAHealIsRefused(t *testing.T) {
	h := newRemedyHarness(t, recovery.RemedyDecision{NeedsApproval: true, Approval: approval,
		Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)}}})
	// Closing the healed incident takes an hour: the approval lands then.
	h.env.OnActivity(h.acts.CloseIncident, mock.Anything, mock.Anything).After(time.Hour).Return(nil)
	h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalHeal, HealSignal{Reason: "delivered"}) }, 2*time.Hour)
	late := h.update(2*time.Hour+30*time.Minute, UpdateApprove, ApproveRequest{By: Approver{Name: "alice", LimitMajor: 100}})
	res := h.run(t)
	var appErr *temporal.ApplicationError
	if !errors.As(late.err, &appErr) || appErr.Type() != ErrTypeWrongStage || !strings.Contains(appErr.Message(), "healed") {
		t.Fatalf("approval after the heal: %+v, want refused because the incident healed", late)
	}
	if res.Healed != "delivered" || len(h.sink.Messages) != 0 || h.audit() != "" {
		t.Fatalf("result %+v, %d messages, audit %q", res, len(h.sink.Messages), h.audit())
	}
}

// An incident whose workflow fails is never silently stuck: it becomes
// needs_attention with the reason in its audit trail, and its order hears
// of it, so that the problem's next evidence opens a new incident.
func TestFailedIncidentNeedsAttentionAndTheNextEvidenceOpensAnother(t *testing.T) {
	env := quietSuite().NewTestWorkflowEnvironment()
	st, sink := recoverytest.NewMemStore(), &messaging.MemorySink{}
	policy := decideFunc(func(recovery.DecisionInput) (recovery.RemedyDecision, error) {
		return recovery.RemedyDecision{PolicyVersion: "t", Rule: "r", Default: recovery.RemedyDiscount,
			Approval: recovery.ApprovalRule{AutoUpToMinor: -1},
			Offers:   []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(500)}}}, nil
	})
	acts := &activities.Activities{Store: st, Remedies: st, Outbox: st, Policy: policy,
		Messenger: &messaging.Capture{Sink: sink}, Detection: recovery.DefaultDetection()}
	registerActivities(env, acts)
	// The first incident's planning fails for good (a bug, say).
	calls := 0
	env.OnActivity(acts.PlanRemedy, mock.Anything, mock.Anything).Return(
		func(ctx context.Context, in activities.DecideRemedyInput) (activities.Plan, error) {
			if calls++; calls == 1 {
				return activities.Plan{}, temporal.NewNonRetryableApplicationError("the policy file is broken", "policy", nil)
			}
			return acts.PlanRemedy(ctx, in)
		})
	env.RegisterWorkflow(RecoveryWorkflow)
	// The test environment delivers a child's signal to its parent by hand.
	env.OnSignalExternalWorkflow(mock.Anything, OrderWorkflowID("1001"), "", SignalIncidentClosed, mock.Anything).Return(
		func(_, _, _, _ string, arg any) error {
			env.SignalWorkflow(SignalIncidentClosed, arg)
			return nil
		})
	env.RegisterDelayedCallback(func() {
		st.Record(farOrder())
		env.SignalWorkflow(SignalEvents, EventsSignal{Events: []recovery.Event{farOrder(), shipmentCreated(),
			scan("pl", "in_transit", "PL", "60-001", t0.Add(2*time.Minute))}})
	}, time.Minute)
	env.RegisterDelayedCallback(func() {
		env.SignalWorkflow(SignalEvents, EventsSignal{Events: []recovery.Event{scan("cz", "in_transit", "CZ", "", t0.Add(2*time.Hour))}})
	}, 2*time.Hour)
	env.RegisterDelayedCallback(env.CancelWorkflow, 10*time.Hour)
	env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	first := st.Incidents[IncidentID("1001", "s-1", recovery.KindMisrouted, 1)]
	second, ok := st.Incidents[IncidentID("1001", "s-1", recovery.KindMisrouted, 2)]
	if first.Status != recovery.IncidentNeedsAttention {
		t.Fatalf("the failed incident is %q, want needs_attention", first.Status)
	}
	var failed bool
	for _, e := range st.AuditLog {
		failed = failed || e.IncidentID == first.ID && e.Action == "failed" && strings.Contains(e.Note, "the policy file is broken")
	}
	if !failed {
		t.Fatalf("audit %+v: want the failure and its reason", st.AuditLog)
	}
	if !ok || len(sink.Messages) != 1 {
		t.Fatalf("second incident %+v (found %v), %d messages: the next evidence must open a new incident", second, ok, len(sink.Messages))
	}
}

package workflows

import (
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// changeDecisionRace marks the change after which a timer that fires
// while an approver's or the customer's update is under way waits for
// that update instead of applying the default over it.
const changeDecisionRace = "decision-race"

// handlerWins reports whether an update's handler is under way (the stage
// left want) when a timer fired, so that its decision must be awaited.
// Asked only then, so that only such histories record the version.
func (st *remedyState) handlerWins(ctx workflow.Context, want string) bool {
	return st.stage != want && changed(ctx, changeDecisionRace)
}

func wrongStage(want string, st *remedyState) error {
	return temporal.NewApplicationError(fmt.Sprintf("the incident is %s, not %s", st.stage, want), ErrTypeWrongStage)
}

// changeEngineValues marks the change after which an edited offer is
// valued by the engine (see priced), not by what the approver declares.
const changeEngineValues = "engine-values"

// priced values edited offers as the engine does: a reship or substitute
// is worth the lines it ships (the order's total without lines); a refund
// is at most the order's total; a discount or store credit at most what
// the policy offered of it (the order's total when it offered none).
// Only a reship may be expedited.
func (st *remedyState) priced(offers []recovery.RemedyOffer) ([]recovery.RemedyOffer, error) {
	if !st.engineValues {
		return offers, nil
	}
	total := st.order.TotalMinor
	lines := int64(0)
	for _, l := range st.order.Lines {
		v, err := (recovery.Money{Minor: l.UnitPriceMinor, Currency: st.currency}).Times(l.Quantity)
		if err != nil {
			return nil, temporal.NewApplicationError("the order's lines are out of range", ErrTypeInvalid)
		}
		lines += v.Minor
	}
	if len(st.order.Lines) == 0 || lines > recovery.MaxMinor {
		lines = total
	}
	out := slices.Clone(offers)
	for i, o := range out {
		switch o.Remedy {
		case recovery.RemedyReship, recovery.RemedySubstitute:
			out[i].Value.Minor = lines
		case recovery.RemedyRefund:
			if o.Value.Minor > total {
				return nil, temporal.NewApplicationError(fmt.Sprintf("offers[%d]: a refund of %s is more than the order's total, %s",
					i, o.Value, recovery.Money{Minor: total, Currency: st.currency}), ErrTypeInvalid)
			}
		case recovery.RemedyDiscount, recovery.RemedyStoreCredit:
			most, ok := st.policyMax[o.Remedy]
			if !ok {
				most = total
			}
			if o.Value.Minor > most {
				return nil, temporal.NewApplicationError(fmt.Sprintf("offers[%d]: a %s of %s is more than the most the policy allows, %s",
					i, o.Remedy, o.Value, recovery.Money{Minor: most, Currency: st.currency}), ErrTypeInvalid)
			}
		}
		if o.Expedited && o.Remedy != recovery.RemedyReship {
			return nil, temporal.NewApplicationError(fmt.Sprintf("offers[%d]: only a reship can be expedited", i), ErrTypeInvalid)
		}
	}
	return out, nil
}

func (st *remedyState) checkLimit(by Approver, offers []recovery.RemedyOffer) error {
	limit := by.LimitMinor(st.currency)
	for _, o := range offers {
		if o.Value.Minor > limit {
			return temporal.NewApplicationError(fmt.Sprintf("the %s of %s is over %s's approval limit of %s", o.Remedy, o.Value,
				by.Name, recovery.Money{Minor: limit, Currency: st.currency}), ErrTypeOverLimit)
		}
	}
	return nil
}

// register installs the update handlers and the query. Validators only
// read; handlers change the state and append to the audit trail.
func (st *remedyState) register(ctx workflow.Context) error {
	audit := func(ctx workflow.Context, actor, action, note string, before, after any) {
		var a *activities.Activities
		ctx = workflow.WithActivityOptions(ctx, activityOptions)
		e := recovery.AuditEntry{IncidentID: st.inc.ID, Actor: actor, Action: action, Note: note,
			Before: mustJSON(before), After: mustJSON(after)}
		// The audit row is best effort only in the sense that a failure after
		// a day of retries is logged, not fatal to the incident.
		if err := workflow.ExecuteActivity(ctx, a.Audit, e).Get(ctx, nil); err != nil {
			workflow.GetLogger(ctx).Error("audit failed", "incident_id", st.inc.ID, "action", action, "err", err)
		}
	}
	awaiting := func(by Approver) error {
		if st.stage != StageAwaitingApproval {
			return wrongStage(StageAwaitingApproval, st)
		}
		if !by.ActsFor(st.role) {
			return temporal.NewApplicationError(fmt.Sprintf("%s does not act for the role %q this incident's rule names",
				by.Name, st.role), ErrTypeNotYourRole)
		}
		return nil
	}
	err := workflow.SetUpdateHandlerWithOptions(ctx, UpdateApprove,
		func(ctx workflow.Context, r ApproveRequest) (RemedyView, error) {
			// The stage turns first, so that no second action passes the
			// validator; the decision lands after its audit row.
			st.stage = StageApplying
			audit(ctx, r.By.Name, "approve", r.Note, st.candidates, st.candidates)
			st.approvedBy, st.decided = r.By.Name, true
			return st.view(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, r ApproveRequest) error {
			if err := awaiting(r.By); err != nil {
				return err
			}
			return st.checkLimit(r.By, st.candidates)
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateReject,
		func(ctx workflow.Context, r RejectRequest) (RemedyView, error) {
			st.stage = StageDone
			audit(ctx, r.By.Name, "reject", r.Reason, st.candidates, nil)
			st.rejected, st.decided = &r, true
			return st.view(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, r RejectRequest) error {
			if r.Reason == "" {
				return temporal.NewApplicationError("a rejection needs a reason", ErrTypeInvalid)
			}
			return awaiting(r.By)
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateOffer,
		func(ctx workflow.Context, r OfferRequest) (RemedyView, error) {
			st.stage = StageApplying
			offers, _ := st.priced(r.Offers) // the validator priced them already
			audit(ctx, r.By.Name, "edit", r.Note, st.candidates, offers)
			st.candidates, st.approvedBy, st.decided = offers, r.By.Name, true
			return st.view(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, r OfferRequest) error {
			if err := awaiting(r.By); err != nil {
				return err
			}
			if err := validOffers(r.Offers, st.currency); err != nil {
				return err
			}
			offers, err := st.priced(r.Offers)
			if err != nil {
				return err
			}
			return st.checkLimit(r.By, offers)
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateChoose,
		func(ctx workflow.Context, r ChooseRequest) (RemedyView, error) {
			st.stage = StageApplying
			audit(ctx, r.By, "choose", "", nil, r.Remedy)
			st.chosen = r.Remedy
			return st.view(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, r ChooseRequest) error {
			if st.stage != StageAwaitingChoice {
				return wrongStage(StageAwaitingChoice, st)
			}
			if !slices.ContainsFunc(st.options, func(o recovery.Offer) bool { return o.Remedy == r.Remedy }) {
				return temporal.NewApplicationError(fmt.Sprintf("%q is not one of the options", r.Remedy), ErrTypeInvalid)
			}
			return nil
		}})
	if err != nil {
		return err
	}
	return workflow.SetQueryHandler(ctx, QueryRemedy, func() (RemedyView, error) { return st.view(), nil })
}

// validOffers checks an edited offer: known remedies, the incident's
// currency, no negative value.
func validOffers(offers []recovery.RemedyOffer, currency string) error {
	if len(offers) == 0 {
		return temporal.NewApplicationError("an offer needs at least one remedy", ErrTypeInvalid)
	}
	for i, o := range offers {
		switch {
		case !slices.Contains(remedyTypes, o.Remedy):
			return temporal.NewApplicationError(fmt.Sprintf("offers[%d]: %q is not a remedy", i, o.Remedy), ErrTypeInvalid)
		case o.Value.Currency != currency:
			return temporal.NewApplicationError(fmt.Sprintf("offers[%d]: the currency must be the order's, %s", i, currency), ErrTypeInvalid)
		case o.Value.Minor < 0:
			return temporal.NewApplicationError(fmt.Sprintf("offers[%d]: the value must not be negative", i), ErrTypeInvalid)
		}
	}
	return nil
}

var remedyTypes = []recovery.Remedy{recovery.RemedyDiscount, recovery.RemedySubstitute, recovery.RemedyReship,
	recovery.RemedyStoreCredit, recovery.RemedyRefund}

// awaitApproval waits for a person, racing the escalation and deadline
// timers; at the deadline the policy's action (apply the default, or
// reject) is taken by "system".
func (st *remedyState) awaitApproval(ctx workflow.Context, in RecoveryInput, rule recovery.ApprovalRule) error {
	var a *activities.Activities
	st.stage = StageAwaitingApproval
	st.role = rule.Role
	st.publish(ctx)
	pending := offerOf(st.candidates[0], "")
	pending.Status = recovery.OfferPending
	for _, c := range st.candidates {
		o := offerOf(c, "")
		o.Status = recovery.OfferPending
		pending.Options = append(pending.Options, o)
	}
	if err := saveOffer(ctx, st.inc.ID, pending, recovery.IncidentAwaitingApproval, ""); err != nil {
		return err
	}
	// A heal ends the wait unless an approver's action is under way.
	done := func() bool { return st.decided || (st.heal != nil && st.stage == StageAwaitingApproval) }
	waited := time.Duration(0)
	if rule.EscalateAfter > 0 {
		if ok, _ := workflow.AwaitWithTimeout(ctx, rule.EscalateAfter, done); !ok {
			err := workflow.ExecuteActivity(ctx, a.Escalate, activities.EscalateInput{IncidentID: st.inc.ID,
				OrderID: st.inc.OrderID, Role: rule.Role, Waited: rule.EscalateAfter, Offer: pending}).Get(ctx, nil)
			if err != nil {
				return fmt.Errorf("escalate: %w", err)
			}
		}
		waited = rule.EscalateAfter
	}
	if rule.Deadline <= 0 {
		return workflow.Await(ctx, done)
	}
	if ok, _ := workflow.AwaitWithTimeout(ctx, rule.Deadline-waited, done); ok {
		return nil
	}
	if st.handlerWins(ctx, StageAwaitingApproval) {
		return workflow.Await(ctx, func() bool { return st.decided })
	}
	st.stage, st.decided = StageApplying, true
	before := st.candidates
	if rule.OnDeadline == "reject" {
		st.stage = StageDone
		st.rejected = &RejectRequest{By: Approver{Name: "system"}, Reason: "nobody approved it by the deadline"}
	} else {
		st.candidates, st.approvedBy = st.candidates[:1], "policy:deadline"
	}
	e := recovery.AuditEntry{IncidentID: st.inc.ID, Actor: "system", Action: "deadline",
		Note: fmt.Sprintf("no decision after %s: %s", rule.Deadline, rule.OnDeadline), Before: mustJSON(before)}
	if st.rejected == nil {
		e.After = mustJSON(st.candidates)
	}
	return workflow.ExecuteActivity(ctx, a.Audit, e).Get(ctx, nil)
}

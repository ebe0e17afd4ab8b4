package workflows

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// changeRemedySaga marks the workflow change that acts on the policy's
// decision: approval, customer choice and the remedy saga.
const changeRemedySaga = "remedy-saga"

// The updates a RecoveryWorkflow accepts, and its query.
const (
	// UpdateApprove approves the offer as it stands (ApproveRequest).
	UpdateApprove = "approve"
	// UpdateReject rejects it (RejectRequest): nothing is offered.
	UpdateReject = "reject"
	// UpdateOffer replaces the offer and approves it (OfferRequest).
	UpdateOffer = "offer"
	// UpdateChoose records the customer's choice (ChooseRequest).
	UpdateChoose = "choose"
	// QueryRemedy returns the RemedyView.
	QueryRemedy = "remedy"
)

// Remedy stages, as RemedyView.Stage.
const (
	StageDeciding         = "deciding"
	StageAwaitingApproval = "awaiting_approval"
	StageAwaitingChoice   = "awaiting_choice"
	StageApplying         = "applying"
	StageDone             = "done"
	// StageHealed: the evidence went away before anything was decided.
	StageHealed = "healed"
)

// changeDecisionRace marks the change after which a timer that fires
// while an approver's or the customer's update is under way waits for
// that update instead of applying the default over it.
const changeDecisionRace = "decision-race"

// handlerWins reports whether an update's handler is under way (the stage
// left want) when a timer fired, so that its decision must be awaited.
// Asked only then, so that only such histories record the version.
func (st *remedyState) handlerWins(ctx workflow.Context, want string) bool {
	return st.stage != want && workflow.GetVersion(ctx, changeDecisionRace, workflow.DefaultVersion, 1) >= 1
}

// Error types of rejected updates; the web layer maps them to statuses.
const (
	ErrTypeWrongStage = "wrong-stage"
	ErrTypeOverLimit  = "over-limit"
	ErrTypeInvalid    = "invalid"
)

// Approver is the person behind an approval (recovery.Approver).
type Approver = recovery.Approver

// ApproveRequest approves the offer as it stands.
type ApproveRequest struct {
	By   Approver
	Note string
}

// RejectRequest rejects the offer.
type RejectRequest struct {
	By     Approver
	Reason string
}

// OfferRequest replaces the candidate remedies and approves them.
type OfferRequest struct {
	By     Approver
	Offers []recovery.RemedyOffer
	Note   string
}

// ChooseRequest is the customer's choice among the options.
type ChooseRequest struct {
	Remedy recovery.Remedy
	// By says who passed the choice on ("customer", or an ops name).
	By string
}

// RemedyView is what updates and the query answer.
type RemedyView = recovery.RemedyView

// Update maps a remedy action onto its update name and argument.
func Update(a recovery.RemedyAction) (name string, arg any, ok bool) {
	switch a.Action {
	case recovery.ActionApprove:
		return UpdateApprove, ApproveRequest{By: a.By, Note: a.Note}, true
	case recovery.ActionReject:
		return UpdateReject, RejectRequest{By: a.By, Reason: a.Reason}, true
	case recovery.ActionOffer:
		return UpdateOffer, OfferRequest{By: a.By, Offers: a.Offers, Note: a.Note}, true
	case recovery.ActionChoose:
		return UpdateChoose, ChooseRequest{Remedy: a.Remedy, By: a.By.Name}, true
	}
	return "", nil, false
}

// remedyState is the remedy part of a RecoveryWorkflow, shared by the
// main routine, the update handlers and the heal listener.
type remedyState struct {
	inc        recovery.Incident
	currency   string
	stage      string
	candidates []recovery.RemedyOffer // default first
	approvedBy string
	decided    bool
	rejected   *RejectRequest
	options    []recovery.Offer // prepared for the customer to choose from
	chosen     recovery.Remedy
	heal       *HealSignal
}

func (st *remedyState) view() RemedyView {
	return RemedyView{Stage: st.stage, Candidates: st.candidates, Options: st.options, ApprovedBy: st.approvedBy, Chosen: st.chosen}
}

func wrongStage(want string, st *remedyState) error {
	return temporal.NewApplicationError(fmt.Sprintf("the incident is %s, not %s", st.stage, want), ErrTypeWrongStage)
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
	awaiting := func() error {
		if st.stage != StageAwaitingApproval {
			return wrongStage(StageAwaitingApproval, st)
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
			if err := awaiting(); err != nil {
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
			return awaiting()
		}})
	if err != nil {
		return err
	}
	err = workflow.SetUpdateHandlerWithOptions(ctx, UpdateOffer,
		func(ctx workflow.Context, r OfferRequest) (RemedyView, error) {
			st.stage = StageApplying
			audit(ctx, r.By.Name, "edit", r.Note, st.candidates, r.Offers)
			st.candidates, st.approvedBy, st.decided = r.Offers, r.By.Name, true
			return st.view(), nil
		}, workflow.UpdateHandlerOptions{Validator: func(_ workflow.Context, r OfferRequest) error {
			if err := awaiting(); err != nil {
				return err
			}
			if err := validOffers(r.Offers, st.currency); err != nil {
				return err
			}
			return st.checkLimit(r.By, r.Offers)
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

func mustJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	raw, _ := json.Marshal(v)
	return raw
}

// defaultFirst moves the default remedy to the front, keeping the rest in
// the policy's order.
func defaultFirst(offers []recovery.RemedyOffer, def recovery.Remedy) []recovery.RemedyOffer {
	out := slices.Clone(offers)
	if i := slices.IndexFunc(out, func(o recovery.RemedyOffer) bool { return o.Remedy == def }); i > 0 {
		d := out[i]
		out = append([]recovery.RemedyOffer{d}, slices.Delete(out, i, i+1)...)
	}
	return out
}

// runRemedy acts on the policy's decision: wait for approval if needed
// (escalating, then applying the policy's deadline action), let the
// customer choose if the policy says so, carry the remedy out as a saga
// that falls back to the next candidate, and tell the customer.
func runRemedy(ctx workflow.Context, in RecoveryInput, res *RecoveryResult, heals workflow.ReceiveChannel) error {
	var a *activities.Activities
	inc := in.Incident
	st := &remedyState{inc: inc, currency: in.Order.Currency, stage: StageDeciding}
	if err := st.register(ctx); err != nil {
		return err
	}
	workflow.Go(ctx, func(ctx workflow.Context) {
		var h HealSignal
		heals.Receive(ctx, &h)
		st.heal = &h
	})
	// Handlers may still be auditing when the workflow is done.
	defer func() {
		_ = workflow.Await(ctx, func() bool { return workflow.AllHandlersFinished(ctx) })
	}()
	var plan activities.Plan
	err := workflow.ExecuteActivity(ctx, a.PlanRemedy, activities.DecideRemedyInput{Incident: inc, Code: in.Code,
		Order: in.Order}).Get(ctx, &plan)
	if err != nil {
		return fmt.Errorf("plan remedy: %w", err)
	}
	d := plan.Decision
	res.Decision = d
	st.candidates = defaultFirst(d.Offers, d.Default)
	steps := &ladderSteps{wid: workflow.GetInfo(ctx).WorkflowExecution.ID, plan: plan}
	// Versioned: histories from before the ladder send one message by
	// email (else SMS) whenever they are ready.
	steps.ladder = workflow.GetVersion(ctx, changeContactLadder, workflow.DefaultVersion, 1) >= 1
	if steps.ladder {
		steps.listen(ctx, inc)
		if workflow.GetVersion(ctx, changeSendQueues, workflow.DefaultVersion, 1) >= 1 {
			tq := workflow.GetInfo(ctx).TaskQueueName
			steps.sendQueue = func(channel string) string { return SendQueue(tq, channel) }
		}
	}
	if d.NeedsApproval {
		if err := st.awaitApproval(ctx, in, d.Approval); err != nil {
			return err
		}
		switch {
		case st.rejected != nil:
			o := offerOf(st.candidates[0], "")
			o.Status, o.Note = recovery.OfferRejected, fmt.Sprintf("rejected by %s: %s", st.rejected.By.Name, st.rejected.Reason)
			res.Offer = o
			if err := saveOffer(ctx, inc.ID, o, "", ""); err != nil {
				return err
			}
			return closeIncident(ctx, inc.ID, recovery.IncidentResolved, "no remedy: "+o.Note)
		case !st.decided: // healed while waiting: nobody was told
			st.stage = StageHealed // a late action is refused with what happened
			res.Healed = st.heal.Reason
			return closeHealed(ctx, inc.ID, *st.heal)
		}
	} else {
		st.approvedBy = "policy"
		if d.Rule != "" {
			st.approvedBy = "policy:" + d.Rule
		}
	}
	// Nothing is done for the customer, and nobody is contacted, before
	// the contact window opens; an incident that heals meanwhile closes
	// without a word.
	if steps.ladder && st.waitWindow(ctx, steps, true) {
		res.Healed = st.heal.Reason
		st.releaseBudget(ctx)
		return closeHealed(ctx, inc.ID, *st.heal)
	}
	st.stage = StageApplying
	candidates := make([]recovery.Offer, len(st.candidates))
	for i, c := range st.candidates {
		candidates[i] = offerOf(c, st.approvedBy)
	}
	chose := false
	if d.CustomerChooses && len(candidates) > 1 {
		var healed bool
		var err error
		candidates, chose, healed, err = st.awaitChoice(ctx, in, res, steps, candidates, d.ChoiceTimeout)
		if healed && err == nil {
			st.releaseBudget(ctx)
		}
		if err != nil || healed {
			return err
		}
	}
	applied, ok := st.applyWithFallback(ctx, in, plan, candidates)
	// Substitutes reserved for options not taken go back to stock.
	for _, o := range st.options {
		if o.SubstituteSKU != "" && o.SubstituteSKU != applied.SubstituteSKU {
			if err := releaseSubstitute(ctx, inc.ID, o.SubstituteSKU); err != nil {
				return err
			}
		}
	}
	st.stage = StageDone
	if !ok {
		res.Offer = applied
		st.releaseBudget(ctx)
		return nil // needs_attention: ops take over
	}
	res.Offer = applied
	msg := activities.SendApologyInput{Incident: inc, Offer: applied, Customer: in.Order.Customer, Confirm: chose}
	switch {
	case steps.ladder && chose:
		c, err := st.sendWritten(ctx, steps, msg, steps.reached)
		if err != nil {
			return err
		}
		res.Confirmation = &c
	case steps.ladder:
		first, reached, healed, err := st.reach(ctx, steps, msg, false)
		if err != nil {
			return err
		}
		if healed {
			res.Healed = st.heal.Reason
			return closeIncident(ctx, inc.ID, recovery.IncidentHealed,
				fmt.Sprintf("healed: %s (the %s was applied; the window had closed before the customer was told)", st.heal.Reason, applied.Remedy))
		}
		res.Contact, steps.reached = first, reached
	default:
		c, err := steps.send(ctx, msg)
		if err != nil {
			return err
		}
		if chose {
			res.Confirmation = &c
		} else {
			res.Contact = c
		}
	}
	if ok, _ := workflow.AwaitWithTimeout(ctx, in.HealWindow, func() bool { return st.heal != nil }); !ok {
		return closeIncident(ctx, inc.ID, recovery.IncidentResolved, fmt.Sprintf("remedy applied: %s", applied.Remedy))
	}
	res.Healed = st.heal.Reason
	if followUpWanted(ctx, in, *st.heal) {
		var f recovery.Contact
		var err error
		if steps.ladder {
			f, err = st.followUpWritten(ctx, steps, in, applied, steps.reached, st.heal.Reason)
		} else {
			f, err = steps.followUp(ctx, in, applied, res.Contact, st.heal.Reason)
		}
		if err != nil {
			return err
		}
		res.FollowUp = &f
	}
	return closeHealed(ctx, inc.ID, *st.heal)
}

// awaitApproval waits for a person, racing the escalation and deadline
// timers; at the deadline the policy's action (apply the default, or
// reject) is taken by "system".
func (st *remedyState) awaitApproval(ctx workflow.Context, in RecoveryInput, rule recovery.ApprovalRule) error {
	var a *activities.Activities
	st.stage = StageAwaitingApproval
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

// awaitChoice prepares the options (reserving substitutes), tells the
// customer, and waits for the choice or the timeout (then the default,
// the first option). It returns the candidates in the order to try: the
// choice first; asked reports that the customer was asked (fewer than two
// options left: nothing to choose), healed that the incident closed
// meanwhile.
func (st *remedyState) awaitChoice(ctx workflow.Context, in RecoveryInput, res *RecoveryResult, steps *ladderSteps,
	candidates []recovery.Offer, timeout time.Duration) (_ []recovery.Offer, asked, healed bool, _ error) {
	var a *activities.Activities
	inc := st.inc
	for i, o := range candidates {
		if o.Remedy != recovery.RemedySubstitute {
			st.options = append(st.options, o)
			continue
		}
		sub, err := findSubstitute(ctx, in, st.candidates[i])
		if err != nil {
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == "no-substitute" {
				continue // not offered
			}
			return nil, false, false, err
		}
		o.SubstituteSKU, o.SubstituteName = sub.SubstituteSKU, sub.SubstituteName
		st.options = append(st.options, o)
	}
	if len(st.options) < 2 {
		return st.options, false, false, nil // nothing to choose between
	}
	st.stage = StageAwaitingChoice
	offered := st.options[0]
	offered.Status, offered.Options = recovery.OfferOffered, st.options
	if err := saveOffer(ctx, inc.ID, offered, recovery.IncidentAwaitingChoice, ""); err != nil {
		return nil, false, false, err
	}
	ask := activities.SendApologyInput{Incident: inc, Offer: st.options[0], Customer: in.Order.Customer,
		Options: st.options, ChoiceWithin: timeout}
	start := workflow.Now(ctx)
	var c recovery.Contact
	if steps.ladder {
		first, reached, _, err := st.reach(ctx, steps, ask, true)
		if err != nil {
			return nil, false, false, err
		}
		c, steps.reached = first, reached
	} else {
		var err error
		if c, err = steps.send(ctx, ask); err != nil {
			return nil, false, false, err
		}
	}
	res.Contact = c
	ok := awaitUntil(ctx, start, timeout, func() bool {
		return st.chosen != "" || (st.heal != nil && st.stage == StageAwaitingChoice)
	})
	if !ok && st.handlerWins(ctx, StageAwaitingChoice) {
		if err := workflow.Await(ctx, func() bool { return st.chosen != "" }); err != nil {
			return nil, false, false, err
		}
		ok = true
	}
	if st.chosen == "" && st.heal != nil {
		st.stage = StageHealed
		for _, o := range st.options {
			if o.SubstituteSKU != "" {
				if err := releaseSubstitute(ctx, inc.ID, o.SubstituteSKU); err != nil {
					return nil, true, true, err
				}
			}
		}
		res.Healed = st.heal.Reason
		if c.Step != 0 && followUpWanted(ctx, in, *st.heal) {
			var f recovery.Contact
			var err error
			if steps.ladder {
				f, err = st.followUpWritten(ctx, steps, in, recovery.Offer{}, steps.reached, st.heal.Reason)
			} else {
				f, err = steps.followUp(ctx, in, recovery.Offer{}, c, st.heal.Reason)
			}
			if err != nil {
				return nil, true, true, err
			}
			res.FollowUp = &f
		}
		return nil, true, true, closeHealed(ctx, inc.ID, *st.heal)
	}
	if !ok {
		st.stage, st.chosen = StageApplying, st.options[0].Remedy
		err := workflow.ExecuteActivity(ctx, a.Audit, recovery.AuditEntry{IncidentID: inc.ID, Actor: "system", Action: "choose",
			Note: fmt.Sprintf("no choice after %s: the default", timeout), After: mustJSON(st.chosen)}).Get(ctx, nil)
		if err != nil {
			return nil, false, false, err
		}
	}
	i := slices.IndexFunc(st.options, func(o recovery.Offer) bool { return o.Remedy == st.chosen })
	out := append([]recovery.Offer{st.options[i]}, slices.Delete(slices.Clone(st.options), i, i+1)...)
	return out, true, false, nil
}

// applyWithFallback carries out the candidates in order until one
// succeeds. When none does the offer is recorded as failed and the
// incident as needing attention.
func (st *remedyState) applyWithFallback(ctx workflow.Context, in RecoveryInput, plan activities.Plan,
	candidates []recovery.Offer) (recovery.Offer, bool) {
	var failures []string
	for i, o := range candidates {
		o.CreatedAt = workflow.Now(ctx).UTC()
		applied, err := applyRemedy(ctx, in, plan, st.specFor(o.Remedy), o)
		if err == nil {
			if len(failures) > 0 {
				applied.Note = "instead of " + joinNotes(failures)
			}
			if err := saveOffer(ctx, st.inc.ID, applied, recovery.IncidentOpen, applied.SubstituteSKU); err != nil {
				workflow.GetLogger(ctx).Error("record applied offer", "incident_id", st.inc.ID, "err", err)
			}
			return applied, true
		}
		failures = append(failures, fmt.Sprintf("%s (%s)", o.Remedy, rootMessage(err)))
		if errors.Is(err, errOutcomeUnknown) {
			break // another remedy could be a second one
		}
		workflow.GetLogger(ctx).Warn("remedy failed; trying the next", "incident_id", st.inc.ID, "remedy", o.Remedy,
			"left", len(candidates)-i-1)
	}
	failed := candidates[0]
	failed.Status, failed.Note = recovery.OfferFailed, "every remedy failed: "+joinNotes(failures)
	if err := saveOffer(ctx, st.inc.ID, failed, recovery.IncidentNeedsAttention, ""); err != nil {
		workflow.GetLogger(ctx).Error("record failed offer", "incident_id", st.inc.ID, "err", err)
	}
	return failed, false
}

func (st *remedyState) specFor(r recovery.Remedy) recovery.RemedyOffer {
	for _, c := range st.candidates {
		if c.Remedy == r {
			return c
		}
	}
	return recovery.RemedyOffer{Remedy: r}
}

// applyRemedy is the saga of one remedy: each step that succeeds registers
// its compensation (release the substitute, void the code); when a later
// step fails, they run in reverse and the error is returned.
func applyRemedy(ctx workflow.Context, in RecoveryInput, plan activities.Plan, spec recovery.RemedyOffer,
	o recovery.Offer) (recovery.Offer, error) {
	var a *activities.Activities
	inc := in.Incident
	var undo []func(workflow.Context) error
	fail := func(err error) (recovery.Offer, error) {
		dctx, cancel := workflow.NewDisconnectedContext(ctx)
		defer cancel()
		for i := len(undo) - 1; i >= 0; i-- {
			if uerr := undo[i](dctx); uerr != nil {
				workflow.GetLogger(ctx).Error("compensation failed", "incident_id", inc.ID, "err", uerr)
			}
		}
		return o, err
	}
	switch o.Remedy {
	case recovery.RemedySubstitute:
		if o.SubstituteSKU == "" {
			sub, err := findSubstitute(ctx, in, spec)
			if err != nil {
				return o, err
			}
			o.SubstituteSKU, o.SubstituteName = sub.SubstituteSKU, sub.SubstituteName
		}
		sku := o.SubstituteSKU
		undo = append(undo, func(ctx workflow.Context) error { return releaseSubstitute(ctx, inc.ID, sku) })
	case recovery.RemedyDiscount, recovery.RemedyStoreCredit:
		err := workflow.ExecuteActivity(ctx, a.IssueCode, activities.IssueCodeInput{IncidentID: inc.ID, Offer: o,
			ExpiresIn: spec.ExpiresIn}).Get(ctx, &o)
		if err != nil {
			return fail(err)
		}
		remedy := o.Remedy
		undo = append(undo, func(ctx workflow.Context) error {
			return workflow.ExecuteActivity(ctx, a.VoidCode, activities.VoidCodeInput{IncidentID: inc.ID, Remedy: remedy}).Get(ctx, nil)
		})
	}
	wctx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy: &temporal.RetryPolicy{InitialInterval: plan.WebhookInterval, BackoffCoefficient: 2,
			MaximumInterval: 10 * time.Minute, MaximumAttempts: plan.WebhookAttempts},
	})
	carry := activities.CarryOutInput{IncidentID: inc.ID, Order: in.Order, Offer: o}
	if err := workflow.ExecuteActivity(wctx, a.CarryOut, carry).Get(ctx, nil); err != nil {
		if err := cancelUnknown(ctx, carry, err); err != nil {
			return fail(err)
		}
		return fail(err)
	}
	o.Status = recovery.OfferApplied
	return o, nil
}

// changeCancelUnknown marks the change that cancels a remedy whose
// outcome is unknown before another is tried.
const changeCancelUnknown = "cancel-unknown"

// errOutcomeUnknown stops the fallback: a remedy's webhook may have been
// carried out and its cancellation could not be delivered, so trying
// another could give the customer two.
var errOutcomeUnknown = errors.New("a remedy's outcome is unknown and its cancellation did not reach the platform")

// cancelUnknown is asked after a remedy's webhook finally failed. A
// refusal (the platform answered no) leaves nothing to cancel. Any other
// failure may have reached the platform: a remedy.cancelled goes out, with
// a day of retries, before the fallback; if even that fails, no other
// remedy is tried.
func cancelUnknown(ctx workflow.Context, carry activities.CarryOutInput, err error) error {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) && appErr.Type() == "refused" ||
		workflow.GetVersion(ctx, changeCancelUnknown, workflow.DefaultVersion, 1) < 1 {
		return nil
	}
	var a *activities.Activities
	if cerr := workflow.ExecuteActivity(ctx, a.CancelRemedy, carry).Get(ctx, nil); cerr != nil {
		workflow.GetLogger(ctx).Error("cancel a remedy of unknown outcome", "incident_id", carry.IncidentID, "err", cerr)
		return errOutcomeUnknown
	}
	return nil
}

func findSubstitute(ctx workflow.Context, in RecoveryInput, spec recovery.RemedyOffer) (recovery.Offer, error) {
	var a *activities.Activities
	var sub recovery.Offer
	band := spec.PriceBandPercent
	if band == 0 {
		band = 10
	}
	err := workflow.ExecuteActivity(ctx, a.FindSubstitute, activities.SubstituteInput{IncidentID: in.Incident.ID,
		Order: in.Order, BandPercent: band}).Get(ctx, &sub)
	return sub, err
}

func releaseSubstitute(ctx workflow.Context, incidentID, sku string) error {
	var a *activities.Activities
	return workflow.ExecuteActivity(ctx, a.ReleaseSubstitute, activities.ReservationInput{IncidentID: incidentID,
		SKU: sku}).Get(ctx, nil)
}

func saveOffer(ctx workflow.Context, incidentID string, o recovery.Offer, status, consume string) error {
	var a *activities.Activities
	err := workflow.ExecuteActivity(ctx, a.SaveOffer, activities.SaveOfferInput{IncidentID: incidentID, Offer: o,
		IncidentStatus: status, ConsumeSKU: consume}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("save offer: %w", err)
	}
	return nil
}

func closeIncident(ctx workflow.Context, id, status, resolution string) error {
	var a *activities.Activities
	err := workflow.ExecuteActivity(ctx, a.CloseIncident, activities.CloseIncidentInput{IncidentID: id, Status: status,
		Resolution: resolution}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("close incident: %w", err)
	}
	return nil
}

// offerOf turns a policy's valued remedy into an offer.
func offerOf(r recovery.RemedyOffer, approvedBy string) recovery.Offer {
	return recovery.Offer{Remedy: r.Remedy, ValueMinor: r.Value.Minor, Currency: r.Value.Currency,
		Expedited: r.Expedited, Status: recovery.OfferApproved, ApprovedBy: approvedBy}
}

// rootMessage is the innermost message of an activity error: what the
// remedy's failure was, for the offer's note.
func rootMessage(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Error()
	}
	for errors.Unwrap(err) != nil {
		err = errors.Unwrap(err)
	}
	return err.Error()
}

func joinNotes(notes []string) string {
	out := ""
	for i, n := range notes {
		if i > 0 {
			out += ", then "
		}
		out += n
	}
	return out
}

// ladderSteps numbers the contacts of one incident: each message is its
// own step, sent at most once.
type ladderSteps struct {
	wid  string
	next int
	// ladder is set for workflows that contact through the policy's
	// ladder (changeContactLadder); plan holds its window and timeouts.
	ladder bool
	plan   activities.Plan
	// events holds the latest news of each step; reached is the step
	// that reached the customer.
	events  map[int]recovery.ContactEvent
	reached recovery.Contact
	// sendQueue, when set (changeSendQueues), names the task queue a send
	// on a channel goes to: one per provider, rate-limited across workers.
	sendQueue func(channel string) string
}

func (l *ladderSteps) step() (int, string) {
	l.next++
	return l.next, fmt.Sprintf("%s/step-%d", l.wid, l.next)
}

func (l *ladderSteps) send(ctx workflow.Context, in activities.SendApologyInput) (recovery.Contact, error) {
	var a *activities.Activities
	var c recovery.Contact
	in.Step, in.IdempotencyKey = l.step()
	if err := workflow.ExecuteActivity(ctx, a.SendApology, in).Get(ctx, &c); err != nil {
		return c, fmt.Errorf("send apology: %w", err)
	}
	return c, nil
}

func (l *ladderSteps) followUp(ctx workflow.Context, in RecoveryInput, o recovery.Offer, first recovery.Contact,
	healed string) (recovery.Contact, error) {
	var a *activities.Activities
	var c recovery.Contact
	step, key := l.step()
	err := workflow.ExecuteActivity(ctx, a.SendFollowUp, activities.SendFollowUpInput{Incident: in.Incident, Offer: o,
		Customer: in.Order.Customer, Channel: first.Channel, To: first.To, Healed: healed, Step: step,
		IdempotencyKey: key}).Get(ctx, &c)
	if err != nil {
		return c, fmt.Errorf("send follow-up: %w", err)
	}
	return c, nil
}

// changeBudgetRelease marks the change that gives the daily budget's
// reservation back when the remedy is not carried out after all.
const changeBudgetRelease = "budget-release"

// releaseBudget gives back the incident's reservation of the daily budget:
// its remedy was not carried out after all (healed first, or every
// candidate failed).
func (st *remedyState) releaseBudget(ctx workflow.Context) {
	if workflow.GetVersion(ctx, changeBudgetRelease, workflow.DefaultVersion, 1) < 1 {
		return
	}
	var a *activities.Activities
	if err := workflow.ExecuteActivity(ctx, a.ReleaseBudget, st.inc.ID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("release the daily budget", "incident_id", st.inc.ID, "err", err)
	}
}

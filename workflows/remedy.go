package workflows

import (
	"encoding/json"
	"fmt"
	"slices"

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

// Error types of rejected updates; the web layer maps them to statuses.
const (
	ErrTypeWrongStage = "wrong-stage"
	ErrTypeOverLimit  = "over-limit"
	// ErrTypeNotYourRole: the rule names a role the approver does not
	// act for.
	ErrTypeNotYourRole = "not-your-role"
	ErrTypeInvalid     = "invalid"
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
	// order and policyMax value edited offers (engineValues, versioned):
	// the engine computes what a reship ships, and caps what the request
	// declares, rather than trust the approver's figure.
	order        recovery.OrderData
	policyMax    map[recovery.Remedy]int64
	engineValues bool
	// attrs is set when the incident publishes its stage as a search
	// attribute; published is the stage last published.
	attrs     bool
	published string
	// role is the rule's approval role: only approvers who act for it
	// decide.
	role string
}

func (st *remedyState) view() RemedyView {
	return RemedyView{Stage: st.stage, Candidates: st.candidates, Options: st.options, ApprovedBy: st.approvedBy, Chosen: st.chosen}
}

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
	st := &remedyState{inc: inc, currency: in.Order.Currency, stage: StageDeciding, order: in.Order,
		policyMax: map[recovery.Remedy]int64{}}
	st.engineValues = changed(ctx, changeEngineValues)
	st.startAttributes(ctx, in)
	defer st.publish(ctx) // done, or healed
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
	err := dbStep(ctx, a.PlanRemedy, activities.DecideRemedyInput{Incident: inc, Code: in.Code,
		Order: in.Order, Shipment: in.Shipment}).Get(ctx, &plan)
	if err != nil {
		return fmt.Errorf("plan remedy: %w", err)
	}
	d := plan.Decision
	res.Decision = d
	st.candidates = defaultFirst(d.Offers, d.Default)
	for _, o := range d.Offers {
		st.policyMax[o.Remedy] = max(st.policyMax[o.Remedy], o.Value.Minor)
	}
	steps := &ladderSteps{wid: workflow.GetInfo(ctx).WorkflowExecution.ID, plan: plan}
	// Versioned: histories from before the ladder send one message by
	// email (else SMS) whenever they are ready.
	steps.ladder = changed(ctx, changeContactLadder)
	if steps.ladder {
		steps.listen(ctx, inc)
		if changed(ctx, changeSendQueues) {
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
	st.publish(ctx)
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
	st.publish(ctx)
	if !ok {
		res.Offer = applied
		st.releaseBudget(ctx)
		return nil // needs_attention: ops take over
	}
	res.Offer = applied
	msg := activities.SendApologyInput{Incident: inc, Offer: applied, Confirm: chose}
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

func saveOffer(ctx workflow.Context, incidentID string, o recovery.Offer, status, consume string) error {
	var a *activities.Activities
	err := dbStep(ctx, a.SaveOffer, activities.SaveOfferInput{IncidentID: incidentID, Offer: o,
		IncidentStatus: status, ConsumeSKU: consume}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("save offer: %w", err)
	}
	return nil
}

func closeIncident(ctx workflow.Context, id, status, resolution string) error {
	var a *activities.Activities
	err := dbStep(ctx, a.CloseIncident, activities.CloseIncidentInput{IncidentID: id, Status: status,
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
		Channel: first.Channel, To: first.To, Healed: healed, Step: step,
		IdempotencyKey: key}).Get(ctx, &c)
	if err != nil {
		return c, fmt.Errorf("send follow-up: %w", err)
	}
	return c, nil
}

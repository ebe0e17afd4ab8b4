package workflows

import (
	"errors"
	"fmt"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// RecoveryInput starts the RecoveryWorkflow of one incident.
type RecoveryInput struct {
	Incident recovery.Incident
	// Order is a snapshot of the order when the incident opened.
	Order recovery.OrderData
	// Settle is how long to wait before contacting the customer, so that
	// evidence which goes away on its own closes the incident silently.
	Settle time.Duration
	// FollowUpOnHeal sends an "all is well" note when the incident heals
	// after the customer was contacted.
	FollowUpOnHeal bool
	// HealWindow is how long after contact the incident still listens for
	// a heal.
	HealWindow time.Duration
	// Code is the carrier's exception code behind a carrier_exception.
	Code string
	// Carrier is the shipment's carrier, when known.
	Carrier string `json:",omitempty"`
	// Shipment is what the remedy policy knows of the shipment.
	Shipment recovery.ShipmentFacts `json:",omitempty"`
	// SearchAttributes is set when the cluster has the project's search
	// attributes registered: the incident publishes its stage.
	SearchAttributes bool `json:",omitempty"`
	// AttributesAtStart says the order's workflow set them when it
	// started this one (under changeBaseline): no upsert is needed.
	AttributesAtStart bool `json:",omitempty"`
}

// changePolicyDecision marks the workflow change that asks the remedy
// policy for a decision (recorded on the incident; acting on it follows).
const changePolicyDecision = "policy-decision"

// RecoveryResult is what the incident came to.
type RecoveryResult struct {
	IncidentID string
	Offer      recovery.Offer
	Contact    recovery.Contact
	// Decision is what the remedy policy decided.
	Decision recovery.RemedyDecision
	// Healed is the reason the incident healed, if it did.
	Healed   string
	FollowUp *recovery.Contact
	// Confirmation thanks the customer for a choice.
	Confirmation *recovery.Contact
}

// activityOptions are the defaults for the recovery activities: retried
// with backoff for up to a day, each attempt bounded.
var activityOptions = workflow.ActivityOptions{
	StartToCloseTimeout:    30 * time.Second,
	ScheduleToCloseTimeout: 24 * time.Hour,
	RetryPolicy: &temporal.RetryPolicy{
		InitialInterval:    time.Second,
		BackoffCoefficient: 2,
		MaximumInterval:    5 * time.Minute,
	},
}

// RecoveryWorkflow handles one incident: record it, let it settle if its
// kind is configured to, decide the default remedy (auto-approved), send
// one apology, record the contact; then listen for a heal for a while. A
// heal before contact closes the incident without a word to the customer;
// a heal after it sends a short follow-up if configured.
func RecoveryWorkflow(ctx workflow.Context, in RecoveryInput) (res RecoveryResult, err error) {
	ctx = withBaseline(ctx)
	defer func() { reportClosed(ctx, in, err) }()
	return recoveryWorkflow(ctx, in)
}

// changeReportClose marks the change after which an incident's workflow
// tells its order's workflow that it ended, and a failed one marks its
// incident needs_attention.
const changeReportClose = "report-close"

// reportClosed runs when the incident's workflow fails (a day of retries
// exhausted, a bug; not a cancellation): the incident becomes
// needs_attention with the reason in its audit trail, never silently
// stuck, and its order's workflow hears of it, so that the problem's next
// evidence opens a new incident.
func reportClosed(ctx workflow.Context, in RecoveryInput, err error) {
	if err == nil {
		reportEnded(ctx, in)
		return
	}
	if temporal.IsCanceledError(err) ||
		!changed(ctx, changeReportClose) {
		return
	}
	dctx, _ := workflow.NewDisconnectedContext(ctx)
	dctx = workflow.WithActivityOptions(dctx, activityOptions)
	log := workflow.GetLogger(ctx)
	var a *activities.Activities
	log.Error("incident workflow failed; the incident needs a person", "incident_id", in.Incident.ID, "err", err)
	f := workflow.ExecuteActivity(dctx, a.FailIncident, activities.FailIncidentInput{IncidentID: in.Incident.ID,
		Reason: failureReason(err)})
	if ferr := f.Get(dctx, nil); ferr != nil {
		log.Error("mark incident needs_attention", "incident_id", in.Incident.ID, "err", ferr)
	}
	closed := IncidentClosed{IncidentID: in.Incident.ID, ShipmentID: in.Incident.ShipmentID, Kind: in.Incident.Kind, Failed: true}
	serr := workflow.SignalExternalWorkflow(dctx, OrderWorkflowID(in.Incident.OrderID), "", SignalIncidentClosed, closed).Get(dctx, nil)
	if serr != nil { // the order's workflow ended: nobody left to tell
		log.Info("incident close not delivered to its order", "incident_id", in.Incident.ID, "err", serr)
	}
}

// changeReportEveryClose marks the change after which an incident's
// workflow tells its order's workflow whenever it ends, not only when it
// fails: an order completes only when all its incidents have ended.
const changeReportEveryClose = "report-every-close"

// reportEnded tells the order's workflow that the incident's workflow
// ended as it should (resolved, healed, waiting for ops no more).
func reportEnded(ctx workflow.Context, in RecoveryInput) {
	if !changed(ctx, changeReportEveryClose) {
		return
	}
	closed := IncidentClosed{IncidentID: in.Incident.ID, ShipmentID: in.Incident.ShipmentID, Kind: in.Incident.Kind}
	err := workflow.SignalExternalWorkflow(ctx, OrderWorkflowID(in.Incident.OrderID), "", SignalIncidentClosed, closed).Get(ctx, nil)
	if err != nil { // the order's workflow is gone: nobody left to tell
		workflow.GetLogger(ctx).Info("incident end not delivered to its order", "incident_id", in.Incident.ID, "err", err)
	}
}

// failureReason names a workflow's failure in words for the audit trail:
// the application error's type and message, no payloads.
func failureReason(err error) string {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return "the incident's workflow failed (" + appErr.Type() + "): " + appErr.Message()
	}
	return "the incident's workflow failed: " + err.Error()
}

func recoveryWorkflow(ctx workflow.Context, in RecoveryInput) (RecoveryResult, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	var a *activities.Activities
	inc := in.Incident
	res := RecoveryResult{IncidentID: inc.ID}
	heals := workflow.GetSignalChannel(ctx, SignalHeal)
	if err := dbStep(ctx, a.RecordIncident, activities.RecordIncidentInput{Incident: inc}).Get(ctx, nil); err != nil {
		return res, fmt.Errorf("record incident: %w", err)
	}
	if h, healed := waitHeal(ctx, heals, in.Settle); healed {
		res.Healed = h.Reason
		if in.SearchAttributes && in.AttributesAtStart { // it started "deciding"
			if err := workflow.UpsertTypedSearchAttributes(ctx, AttrStage.ValueSet(StageHealed)); err != nil {
				workflow.GetLogger(ctx).Warn("stage not published", "incident_id", inc.ID, "error", err)
			}
		}
		return res, closeHealed(ctx, inc.ID, h)
	}
	// Versioned: histories recorded before policies existed replay without it.
	if changed(ctx, changePolicyDecision) {
		// Versioned again: acting on the decision (approval, choice, saga).
		if changed(ctx, changeRemedySaga) {
			err := runRemedy(ctx, in, &res, heals)
			return res, err
		}
		err := dbStep(ctx, a.DecideRemedy, activities.DecideRemedyInput{Incident: inc, Code: in.Code,
			Order: in.Order, Shipment: in.Shipment}).Get(ctx, &res.Decision)
		if err != nil {
			return res, fmt.Errorf("decide remedy: %w", err)
		}
	}
	offerIn := activities.DecideOfferInput{IncidentID: inc.ID, Currency: in.Order.Currency, TotalMinor: in.Order.TotalMinor}
	if err := dbStep(ctx, a.DecideOffer, offerIn).Get(ctx, &res.Offer); err != nil {
		return res, fmt.Errorf("decide offer: %w", err)
	}
	const step = 1
	apology := activities.SendApologyInput{
		Incident: inc, Offer: res.Offer, Step: step,
		IdempotencyKey: fmt.Sprintf("%s/step-%d", workflow.GetInfo(ctx).WorkflowExecution.ID, step),
	}
	if err := workflow.ExecuteActivity(ctx, a.SendApology, apology).Get(ctx, &res.Contact); err != nil {
		return res, fmt.Errorf("send apology: %w", err)
	}
	h, healed := waitHeal(ctx, heals, in.HealWindow)
	if !healed {
		return res, nil
	}
	res.Healed = h.Reason
	if in.FollowUpOnHeal {
		const followStep = step + 1
		var c recovery.Contact
		err := workflow.ExecuteActivity(ctx, a.SendFollowUp, activities.SendFollowUpInput{
			Incident: inc, Offer: res.Offer, Channel: res.Contact.Channel, To: res.Contact.To,
			Healed: h.Reason, Step: followStep,
			IdempotencyKey: fmt.Sprintf("%s/step-%d", workflow.GetInfo(ctx).WorkflowExecution.ID, followStep),
		}).Get(ctx, &c)
		if err != nil {
			return res, fmt.Errorf("send follow-up: %w", err)
		}
		res.FollowUp = &c
	}
	return res, closeHealed(ctx, inc.ID, h)
}

// waitHeal waits up to d for a heal signal (d <= 0: only one already sent).
func waitHeal(ctx workflow.Context, heals workflow.ReceiveChannel, d time.Duration) (HealSignal, bool) {
	var h HealSignal
	if heals.ReceiveAsync(&h) {
		return h, true
	}
	if d <= 0 {
		return h, false
	}
	ok, _ := heals.ReceiveWithTimeout(ctx, d, &h)
	return h, ok
}

func closeHealed(ctx workflow.Context, incidentID string, h HealSignal) error {
	var a *activities.Activities
	err := dbStep(ctx, a.CloseIncident, activities.CloseIncidentInput{
		IncidentID: incidentID, Status: recovery.IncidentHealed, Resolution: "healed: " + h.Reason}).Get(ctx, nil)
	if err != nil {
		return fmt.Errorf("close incident: %w", err)
	}
	return nil
}

// changeQuietCancel marks the change that sends no "all is well" note
// when an incident closes because its order was cancelled.
const changeQuietCancel = "quiet-cancel"

// followUpWanted says whether a heal after contact is told to the
// customer: when follow-ups are on, and not for a cancelled order (only
// asked, and so recorded, when the order was cancelled).
func followUpWanted(ctx workflow.Context, in RecoveryInput, h HealSignal) bool {
	if !in.FollowUpOnHeal {
		return false
	}
	return !h.OrderCancelled || !changed(ctx, changeQuietCancel)
}

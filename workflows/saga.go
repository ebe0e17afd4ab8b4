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
		err := dbStep(ctx, a.IssueCode, activities.IssueCodeInput{IncidentID: inc.ID, Offer: o,
			ExpiresIn: spec.ExpiresIn}).Get(ctx, &o)
		if err != nil {
			return fail(err)
		}
		remedy := o.Remedy
		undo = append(undo, func(ctx workflow.Context) error {
			return dbStep(ctx, a.VoidCode, activities.VoidCodeInput{IncidentID: inc.ID, Remedy: remedy}).Get(ctx, nil)
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
		!changed(ctx, changeCancelUnknown) {
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
	err := dbStep(ctx, a.FindSubstitute, activities.SubstituteInput{IncidentID: in.Incident.ID,
		Order: in.Order, BandPercent: band}).Get(ctx, &sub)
	return sub, err
}

func releaseSubstitute(ctx workflow.Context, incidentID, sku string) error {
	var a *activities.Activities
	return dbStep(ctx, a.ReleaseSubstitute, activities.ReservationInput{IncidentID: incidentID,
		SKU: sku}).Get(ctx, nil)
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

// changeBudgetRelease marks the change that gives the daily budget's
// reservation back when the remedy is not carried out after all.
const changeBudgetRelease = "budget-release"

// releaseBudget gives back the incident's reservation of the daily budget:
// its remedy was not carried out after all (healed first, or every
// candidate failed).
func (st *remedyState) releaseBudget(ctx workflow.Context) {
	if !changed(ctx, changeBudgetRelease) {
		return
	}
	var a *activities.Activities
	if err := dbStep(ctx, a.ReleaseBudget, st.inc.ID).Get(ctx, nil); err != nil {
		workflow.GetLogger(ctx).Error("release the daily budget", "incident_id", st.inc.ID, "err", err)
	}
}

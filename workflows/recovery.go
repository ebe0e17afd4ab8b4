package workflows

import (
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
}

// RecoveryResult is what the incident came to.
type RecoveryResult struct {
	IncidentID string
	Offer      recovery.Offer
	Contact    recovery.Contact
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

// RecoveryWorkflow handles one incident, first version: record it, decide
// the default remedy (auto-approved), send one apology, record the contact.
func RecoveryWorkflow(ctx workflow.Context, in RecoveryInput) (RecoveryResult, error) {
	ctx = workflow.WithActivityOptions(ctx, activityOptions)
	var a *activities.Activities
	inc := in.Incident
	res := RecoveryResult{IncidentID: inc.ID}
	if err := workflow.ExecuteActivity(ctx, a.RecordIncident, activities.RecordIncidentInput{Incident: inc}).Get(ctx, nil); err != nil {
		return res, fmt.Errorf("record incident: %w", err)
	}
	offerIn := activities.DecideOfferInput{IncidentID: inc.ID, Currency: in.Order.Currency, TotalMinor: in.Order.TotalMinor}
	if err := workflow.ExecuteActivity(ctx, a.DecideOffer, offerIn).Get(ctx, &res.Offer); err != nil {
		return res, fmt.Errorf("decide offer: %w", err)
	}
	const step = 1
	apology := activities.SendApologyInput{
		Incident: inc, Offer: res.Offer, Customer: in.Order.Customer, Step: step,
		IdempotencyKey: fmt.Sprintf("%s/step-%d", workflow.GetInfo(ctx).WorkflowExecution.ID, step),
	}
	if err := workflow.ExecuteActivity(ctx, a.SendApology, apology).Get(ctx, &res.Contact); err != nil {
		return res, fmt.Errorf("send apology: %w", err)
	}
	return res, nil
}

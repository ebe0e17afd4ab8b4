package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/workflows"
)

// TemporalSignaler signals OrderWorkflow with SignalWithStart.
type TemporalSignaler struct {
	Client    client.Client
	TaskQueue string // default workflows.TaskQueue
}

// SignalOrder starts the order's workflow if needed and signals it with the
// events, each without personal data (recovery.Event.ForWorkflow): the
// workflow's history keeps what it is sent, beyond the reach of erasure.
func (t TemporalSignaler) SignalOrder(ctx context.Context, orderID string, evs []recovery.Event) error {
	tq := t.TaskQueue
	if tq == "" {
		tq = workflows.TaskQueue
	}
	sent := make([]recovery.Event, len(evs))
	for i, e := range evs {
		sent[i] = e.ForWorkflow()
	}
	evs = sent
	// An order's workflow completes when the order is finished and idle;
	// a later event starts a new run (which resumes from the order's
	// projection), and a running one gets the signal.
	opts := client.StartWorkflowOptions{ID: workflows.OrderWorkflowID(orderID), TaskQueue: tq,
		WorkflowIDReusePolicy:    enumspb.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
		WorkflowIDConflictPolicy: enumspb.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING}
	_, err := t.Client.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalEvents,
		workflows.EventsSignal{Events: evs}, opts, workflows.OrderWorkflow, workflows.OrderInput{OrderID: orderID})
	if err != nil {
		return classify(fmt.Errorf("signal-with-start %s: %w", opts.ID, err))
	}
	return nil
}

// Ping checks that Temporal answers.
func (t TemporalSignaler) Ping(ctx context.Context) error {
	_, err := t.Client.CheckHealth(ctx, &client.CheckHealthRequest{})
	return err
}

// classify marks the errors that no retry can cure as permanent (Temporal
// refusing the request's arguments: an ID too long, a payload over its
// limit; or the SDK refusing to send a payload over the server's limit),
// and those that say Temporal did not answer at all as unavailable.
func classify(err error) error {
	var invalid *serviceerror.InvalidArgument
	var unavailable *serviceerror.Unavailable
	var deadline *serviceerror.DeadlineExceeded
	switch {
	case errors.As(err, &unavailable), errors.As(err, &deadline), errors.Is(err, context.DeadlineExceeded):
		return &UnavailableError{Err: err}
	case strings.Contains(err.Error(), "TMPRL1103"):
		return &PermanentError{Kind: "too-large", Note: "the events are larger than Temporal accepts in one signal", Err: err}
	case errors.As(err, &invalid) && strings.Contains(strings.ToLower(invalid.Message), "size"):
		return &PermanentError{Kind: "too-large", Note: "the events are larger than Temporal accepts in one signal", Err: err}
	case errors.As(err, &invalid):
		return &PermanentError{Kind: "invalid-argument", Note: "Temporal refused the signal's arguments", Err: err}
	}
	return err
}

// Unreachable reports whether err says that Temporal did not answer at all
// (as opposed to refusing the request).
func Unreachable(err error) bool {
	var u *UnavailableError
	return err != nil && errors.As(classify(err), &u)
}

package relay

import (
	"context"
	"fmt"

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
// events.
func (t TemporalSignaler) SignalOrder(ctx context.Context, orderID string, evs []recovery.Event) error {
	tq := t.TaskQueue
	if tq == "" {
		tq = workflows.TaskQueue
	}
	opts := client.StartWorkflowOptions{ID: workflows.OrderWorkflowID(orderID), TaskQueue: tq}
	_, err := t.Client.SignalWithStartWorkflow(ctx, opts.ID, workflows.SignalEvents,
		workflows.EventsSignal{Events: evs}, opts, workflows.OrderWorkflow, workflows.OrderInput{OrderID: orderID})
	if err != nil {
		return fmt.Errorf("signal-with-start %s: %w", opts.ID, err)
	}
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
)

// A customer's answer (a digit, an SMS reply, a choice on the page) and a
// provider's news of a message that arrive while Temporal cannot be
// reached are kept in the workflow mailbox and delivered when it can: the
// customer has been answered, and Twilio does not retry.

// keep stores a signal or an update for later delivery.
func keep(ctx context.Context, st *store.Store, workflowID, kind, name, requestID string, arg any) error {
	raw, err := json.Marshal(arg)
	if err != nil {
		return err
	}
	return st.Enqueue(ctx, store.MailItem{WorkflowID: workflowID, Kind: kind, Name: name, RequestID: requestID, Payload: raw})
}

// deliverMail runs until ctx ends, delivering what the mailbox holds.
func deliverMail(ctx context.Context, st *store.Store, tc client.Client, log *slog.Logger) {
	for {
		n, err := deliverMailOnce(ctx, st, tc, log)
		if err != nil && ctx.Err() == nil {
			log.Warn("mailbox delivery", "err", err)
		}
		wait := time.Second
		if n > 0 && err == nil {
			wait = 0
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// deliverMailOnce delivers one batch; it stops at the first sign that
// Temporal is still unreachable.
func deliverMailOnce(ctx context.Context, st *store.Store, tc client.Client, log *slog.Logger) (int, error) {
	items, err := st.ClaimMail(ctx, 100, 30*time.Second)
	if err != nil || len(items) == 0 {
		return 0, err
	}
	for i, m := range items {
		outcome, err := deliverItem(ctx, tc, m)
		switch {
		case err == nil:
			if err := st.MailDelivered(ctx, m.ID, outcome); err != nil {
				return i, err
			}
			log.Info("kept answer delivered", "workflow_id", m.WorkflowID, "name", m.Name, "outcome", outcome,
				"waited", time.Since(m.CreatedAt).Round(time.Second))
		case relay.Unreachable(err):
			for _, rest := range items[i:] {
				st.MailRetry(ctx, rest.ID, time.Second) //nolint:errcheck // the lease runs out otherwise
			}
			return i, nil
		default:
			wait := min(time.Duration(1<<min(m.Attempts, 8))*time.Second, 5*time.Minute)
			st.MailRetry(ctx, m.ID, wait) //nolint:errcheck
			log.Warn("kept answer not delivered; retrying", "workflow_id", m.WorkflowID, "name", m.Name, "err", err)
		}
	}
	return len(items), nil
}

// deliverItem sends one item. The workflow refusing it (the choice is
// over) or having finished is an outcome, not an error.
func deliverItem(ctx context.Context, tc client.Client, m store.MailItem) (string, error) {
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var err error
	switch m.Kind {
	case "signal":
		err = tc.SignalWorkflow(dctx, m.WorkflowID, "", m.Name, m.Payload)
	case "update":
		var h client.WorkflowUpdateHandle
		h, err = tc.UpdateWorkflow(dctx, client.UpdateWorkflowOptions{WorkflowID: m.WorkflowID, UpdateName: m.Name,
			UpdateID: m.RequestID, Args: []any{m.Payload}, WaitForStage: client.WorkflowUpdateStageCompleted})
		if err == nil {
			err = h.Get(dctx, nil)
		}
	default:
		return "unknown kind " + m.Kind, nil
	}
	var notFound *serviceerror.NotFound
	var refused refusal
	switch uerr := updateError(err); {
	case err == nil:
		return "delivered", nil
	case errors.As(err, &notFound):
		return "the workflow had finished", nil
	case errors.As(uerr, &refused):
		return fmt.Sprintf("refused: %s", refused.msg), nil
	}
	return "", err
}

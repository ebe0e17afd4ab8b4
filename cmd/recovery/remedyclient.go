package main

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/workflows"
)

// remedyClient sends remedy actions (approve, reject, offer, choose) to
// incident workflows as Temporal updates, and maps their refusals to the
// domain errors (web.Remedies).
type remedyClient struct {
	client client.Client
}

// Act sends one action and waits for the update's result.
func (c remedyClient) Act(ctx context.Context, workflowID string, a recovery.RemedyAction) (recovery.RemedyView, error) {
	var v recovery.RemedyView
	name, arg, ok := workflows.Update(a)
	if !ok {
		return v, fmt.Errorf("unknown action %q: %w", a.Action, recovery.ErrInvalid)
	}
	opts := client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}
	if a.IdempotencyKey != "" {
		// Temporal answers a repeated update ID with the first outcome.
		opts.UpdateID = name + ":" + a.IdempotencyKey
	}
	h, err := c.client.UpdateWorkflow(ctx, opts)
	if err == nil {
		err = h.Get(ctx, &v)
	}
	return v, updateError(err)
}

func updateError(err error) error {
	if err == nil {
		return nil
	}
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		switch appErr.Type() {
		case workflows.ErrTypeWrongStage:
			return refusal{appErr.Message(), recovery.ErrConflict}
		case workflows.ErrTypeOverLimit:
			return refusal{appErr.Message(), recovery.ErrForbidden}
		case workflows.ErrTypeInvalid:
			return refusal{appErr.Message(), recovery.ErrInvalid}
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return refusal{"the incident's workflow has finished", recovery.ErrConflict}
	}
	return err
}

// refusal is the workflow's own words for a refused action, classified by
// a domain error.
type refusal struct {
	msg  string
	kind error
}

func (r refusal) Error() string { return r.msg }
func (r refusal) Unwrap() error { return r.kind }

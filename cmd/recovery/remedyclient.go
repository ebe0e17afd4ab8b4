package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/workflows"
)

// remedyClient sends remedy actions (approve, reject, offer, choose) to
// incident workflows as Temporal updates, and maps their refusals to the
// domain errors (web.Remedies).
type remedyClient struct {
	client client.Client
	// mail keeps a customer's choice for later when Temporal cannot be
	// reached (nil: the error is returned).
	mail *store.Store
}

// customerWait bounds how long a customer's answer waits for Temporal
// before it is kept for later.
const customerWait = 5 * time.Second

// StageQueued is the stage answered for a choice kept for delivery while
// Temporal is unreachable.
const StageQueued = "queued"

// Act sends one action and waits for the update's result.
func (c remedyClient) Act(ctx context.Context, workflowID string, a recovery.RemedyAction) (recovery.RemedyView, error) {
	var v recovery.RemedyView
	name, arg, ok := workflows.Update(a)
	if !ok {
		return v, fmt.Errorf("unknown action %q: %w", a.Action, recovery.ErrInvalid)
	}
	opts := client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted}
	switch {
	case a.IdempotencyKey != "":
		// Temporal answers a repeated update ID with the first outcome.
		opts.UpdateID = name + ":" + a.IdempotencyKey
	case a.Action == recovery.ActionChoose:
		// A customer choosing the same twice (a retried page, a digit
		// kept through an outage and sent again) is one choice.
		opts.UpdateID = fmt.Sprintf("%s:%s:%s", name, workflowID, a.Remedy)
	}
	uctx := ctx
	keepable := a.Action == recovery.ActionChoose && c.mail != nil
	if keepable {
		// A customer waits on the line or on the page: a Temporal that
		// does not answer soon is treated as away, and the choice is kept.
		var cancel context.CancelFunc
		uctx, cancel = context.WithTimeout(ctx, customerWait)
		defer cancel()
	}
	h, err := c.client.UpdateWorkflow(uctx, opts)
	if err == nil {
		err = h.Get(uctx, &v)
	}
	if keepable && relay.Unreachable(err) {
		// Kept and delivered when Temporal is back (the same update ID);
		// the customer is told it was noted.
		if kerr := keep(ctx, c.mail, workflowID, "update", name, opts.UpdateID, arg); kerr != nil {
			return v, errors.Join(updateError(err), kerr)
		}
		return recovery.RemedyView{Stage: StageQueued}, nil
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
		case workflows.ErrTypeOverLimit, workflows.ErrTypeNotYourRole:
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

package workflows

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// RemedyClient sends the remedy updates (approve, reject, offer, choose)
// to incident workflows through Temporal, and maps their refusals to the
// domain errors.
type RemedyClient struct {
	Client client.Client
}

// Update sends one update and waits for its result.
func (c RemedyClient) Update(ctx context.Context, workflowID, name string, arg any) (RemedyView, error) {
	var v RemedyView
	h, err := c.Client.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: workflowID, UpdateName: name,
		Args: []any{arg}, WaitForStage: client.WorkflowUpdateStageCompleted})
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
		case ErrTypeWrongStage:
			return fmt.Errorf("%s: %w", appErr.Message(), recovery.ErrConflict)
		case ErrTypeOverLimit:
			return fmt.Errorf("%s: %w", appErr.Message(), recovery.ErrForbidden)
		case ErrTypeInvalid:
			return fmt.Errorf("%s: %w", appErr.Message(), recovery.ErrInvalid)
		}
	}
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return fmt.Errorf("the incident's workflow has finished: %w", recovery.ErrConflict)
	}
	return err
}

package main

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/workflows"
)

// customers is web.Customers: consent, surveys and contact lookups from
// the store; contact events recorded on the ledger and signalled to the
// incident's workflow.
type customers struct {
	*store.Store
	temporal client.Client
}

// NotifyContact records the event on its ledger step and signals it to
// the incident's workflow. A workflow that has finished has nothing left
// to advance: the record is enough.
func (c customers) NotifyContact(ctx context.Context, ev recovery.ContactEvent) error {
	wid, err := c.RecordContactEvent(ctx, ev)
	if err != nil {
		return err
	}
	if wid == "" || c.temporal == nil {
		return nil
	}
	sctx, cancel := context.WithTimeout(ctx, customerWait)
	defer cancel()
	err = c.temporal.SignalWorkflow(sctx, wid, "", workflows.SignalContact, ev)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	if relay.Unreachable(err) { // kept, and delivered when Temporal is back
		id := fmt.Sprintf("contact:%s:%d:%s:%s:%s", ev.IncidentID, ev.Step, ev.Channel, ev.Outcome, ev.Detail)
		return keep(ctx, c.Store, wid, "signal", workflows.SignalContact, id, ev)
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", wid, err)
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/web"
	"github.com/recoveryhq/recovery/workflows"

	"github.com/recoveryhq/recovery/internal/recovery"
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
	err = c.temporal.SignalWorkflow(ctx, wid, "", workflows.SignalContact, ev)
	var notFound *serviceerror.NotFound
	if errors.As(err, &notFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("signal %s: %w", wid, err)
	}
	return nil
}

// devMessages lists captured messages for the dev page.
type devMessages struct{ st *store.Store }

func (d devMessages) CapturedMessages(ctx context.Context, limit int) ([]web.CapturedMessage, error) {
	ms, err := d.st.ListCaptured(ctx, limit)
	if err != nil {
		return nil, err
	}
	out := make([]web.CapturedMessage, len(ms))
	for i, m := range ms {
		out[i] = web.CapturedMessage{ID: m.ID, Channel: m.Channel, To: m.To, Subject: m.Subject, Text: m.Text, CreatedAt: m.CreatedAt}
	}
	return out, nil
}

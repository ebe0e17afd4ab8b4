package workflows

import (
	"context"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// An attempt to send the apology died after writing its ledger row
// (seeded here as "sending"): the retry cannot tell whether the provider
// took the message and marks the step unconfirmed. These tests run that
// step on a provider that reports every message it takes, and on one
// that does not.

func unconfirmedHarness(t *testing.T, reporting []string) *remedyHarness {
	t.Helper()
	h := newRemedyHarness(t, recovery.RemedyDecision{Offers: []recovery.RemedyOffer{
		{Remedy: recovery.RemedyDiscount, Value: eur(900)}}, Approval: approval})
	h.acts.Settings.Reporting, h.acts.Settings.ConfirmWait = reporting, 10*time.Minute
	if _, _, err := h.st.BeginContact(context.Background(), recovery.Contact{IncidentID: h.in.Incident.ID, Step: 1,
		Channel: recovery.ChannelEmail, To: "ada@example.com", Status: recovery.ContactSending}); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestUnconfirmedStepWithoutNewsIsSentAgain: SendGrid reports every
// email it takes, and said nothing of step 1 within the wait, so it never
// had it: the apology goes out again, once, as step 2, after the wait.
func TestUnconfirmedStepWithoutNewsIsSentAgain(t *testing.T) {
	h := unconfirmedHarness(t, []string{recovery.ChannelEmail})
	before := h.messagesAt(9 * time.Minute)
	h.run(t)
	if *before != 0 {
		t.Fatalf("%d messages before the wait was over", *before)
	}
	if len(h.sink.Messages) != 1 || h.sink.Messages[0].Step != 2 {
		t.Fatalf("messages %+v, want the apology once more, as step 2", h.sink.Messages)
	}
	if c := h.st.Contacts[contactKey(h.in.Incident.ID, 1, recovery.ChannelEmail)]; c.Status != recovery.ContactUnconfirmed {
		t.Fatalf("step 1 is %q, want it kept as unconfirmed", c.Status)
	}
}

// TestUnconfirmedStepWithNewsIsNotSentAgain: a delivery report of step 1
// arrives within the wait: the customer has it, nothing more is sent.
func TestUnconfirmedStepWithNewsIsNotSentAgain(t *testing.T) {
	h := unconfirmedHarness(t, []string{recovery.ChannelEmail})
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalContact, recovery.ContactEvent{IncidentID: h.in.Incident.ID, Step: 1,
			Channel: recovery.ChannelEmail, Outcome: recovery.OutcomeDelivered})
	}, 3*time.Minute)
	h.run(t)
	if len(h.sink.Messages) != 0 {
		t.Fatalf("messages %+v, want none: the provider reported step 1", h.sink.Messages)
	}
}

// TestUnconfirmedStepOnASilentProviderIsNotSentAgain: without delivery
// reports silence proves nothing, and a second apology is worse than
// none: nothing more is sent.
func TestUnconfirmedStepOnASilentProviderIsNotSentAgain(t *testing.T) {
	h := unconfirmedHarness(t, nil)
	h.run(t)
	if len(h.sink.Messages) != 0 {
		t.Fatalf("messages %+v, want none", h.sink.Messages)
	}
}

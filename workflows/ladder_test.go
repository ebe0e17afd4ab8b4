package workflows

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// contacts lists the ledger's steps as "step:channel:status", in order.
func (h *remedyHarness) contacts() string {
	var out []string
	for i := 1; i <= 10; i++ {
		for _, ch := range []string{"voice", "sms", "email"} {
			if c, ok := h.st.Contacts[contactKey(h.in.Incident.ID, i, ch)]; ok {
				out = append(out, c.Channel+":"+c.Status)
			}
		}
	}
	return strings.Join(out, " ")
}

func contactKey(id string, step int, ch string) string {
	return id + "/" + string(rune('0'+step)) + "/" + ch
}

func discountDecision(ladder ...string) recovery.RemedyDecision {
	return recovery.RemedyDecision{Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(900)}},
		Approval: recovery.ApprovalRule{AutoUpToMinor: -1}, Ladder: ladder}
}

// A recipient for whom it is 23:00 is contacted at 08:00 local, not before.
func TestContactWaitsForTheWindow(t *testing.T) {
	h := newRemedyHarness(t, discountDecision())
	start := time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC) // 23:00 in Berlin
	h.env.SetStartTime(start)
	h.in.Order.ShippingAddress = recovery.Location{Country: "DE"}
	before := h.messagesAt(8*time.Hour + 59*time.Minute) // 07:59 Berlin
	res := h.run(t)
	if *before != 0 || len(h.sink.Messages) != 1 {
		t.Fatalf("messages before 08:00: %d, in all: %d", *before, len(h.sink.Messages))
	}
	want := time.Date(2026, 11, 21, 7, 0, 0, 0, time.UTC) // 08:00 in Berlin
	if res.Contact.SentAt == nil || !res.Contact.SentAt.Equal(want) {
		t.Fatalf("sent at %v, want %v", res.Contact.SentAt, want)
	}
	// The remedy too waited for the window: nothing happens behind the
	// customer's back at night.
	if res.Offer.CreatedAt.Before(want) {
		t.Fatalf("remedy applied at %v, before the window opened", res.Offer.CreatedAt)
	}
}

// An incident that heals before the window opens is never mentioned.
func TestContactNotAtAllWhenHealedBeforeTheWindow(t *testing.T) {
	h := newRemedyHarness(t, discountDecision())
	h.env.SetStartTime(time.Date(2026, 11, 20, 22, 0, 0, 0, time.UTC))
	h.in.Order.ShippingAddress = recovery.Location{Country: "DE"}
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalHeal, HealSignal{Reason: "delivered"})
	}, 3*time.Hour) // 02:00 Berlin
	res := h.run(t)
	if len(h.sink.Messages) != 0 || res.Healed != "delivered" || len(h.st.Webhooks) != 0 || len(h.st.Codes) != 0 {
		t.Fatalf("healed at night: %d messages, %d webhooks, %d codes, result %+v", len(h.sink.Messages),
			len(h.st.Webhooks), len(h.st.Codes), res)
	}
	if inc := h.st.Incidents[h.in.Incident.ID]; inc.Status != recovery.IncidentHealed {
		t.Fatalf("incident = %+v", inc)
	}
}

// Call, then SMS after no answer; a delivered SMS ends the ladder, so no
// email follows.
func TestLadderMovesOnAfterNoAnswer(t *testing.T) {
	h := newRemedyHarness(t, discountDecision("voice", "sms", "email"))
	h.in.Order.Customer.Phone = "+44 7700 900123"
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalContact, recovery.ContactEvent{Step: 1, Channel: "voice", Outcome: recovery.OutcomeFailed, Detail: "no-answer"})
	}, time.Minute)
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalContact, recovery.ContactEvent{Step: 2, Channel: "sms", Outcome: recovery.OutcomeDelivered})
	}, 2*time.Minute)
	res := h.run(t)
	if got := h.contacts(); got != "voice:sent sms:sent" {
		t.Fatalf("ladder = %q", got)
	}
	if res.Contact.Channel != "voice" || h.sink.Messages[1].To != "+447700900123" {
		t.Fatalf("result %+v, messages %+v", res.Contact, h.sink.Messages)
	}
}

// Without news a call moves on after the step timeout; a written step
// without bad news counts as arrived.
func TestLadderStepTimeout(t *testing.T) {
	d := discountDecision("voice", "email", "sms")
	d.StepTimeout = 10 * time.Minute
	h := newRemedyHarness(t, d)
	h.in.Order.Customer.Phone = "+447700900123"
	at := h.messagesAt(9 * time.Minute)
	h.run(t)
	if got := h.contacts(); got != "voice:sent email:sent" || *at != 1 {
		t.Fatalf("ladder = %q, %d messages after 9 minutes", got, *at)
	}
}

// An opted-out number is skipped and the ladder moves on at once.
func TestLadderSkipsOptOuts(t *testing.T) {
	h := newRemedyHarness(t, discountDecision("sms", "email"))
	h.in.Order.Customer.Phone = "+447700900123"
	consent := &recoverytest.MemConsent{}
	consent.OptOut(t.Context(), "sms", "+447700900123", "STOP") //nolint:errcheck
	h.acts.Consent = consent
	h.run(t)
	if got := h.contacts(); got != "sms:skipped email:sent" || len(h.sink.Messages) != 1 {
		t.Fatalf("ladder = %q, %d messages", got, len(h.sink.Messages))
	}
}

// When the customer must choose, only an answer ends the ladder: an SMS
// that arrived is followed by an email after the step timeout; a choice
// stops it, and the confirmation goes where the customer answered.
func TestLadderWaitsForTheChoice(t *testing.T) {
	d := recovery.RemedyDecision{Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyReship}, {Remedy: recovery.RemedyRefund, Value: eur(8999)}},
		Approval: recovery.ApprovalRule{AutoUpToMinor: -1}, CustomerChooses: true, ChoiceTimeout: 48 * time.Hour,
		Ladder: []string{"sms", "email", "voice"}, StepTimeout: time.Hour}
	h := newRemedyHarness(t, d)
	h.in.Order.Customer.Phone = "+447700900123"
	h.env.RegisterDelayedCallback(func() {
		h.env.SignalWorkflow(SignalContact, recovery.ContactEvent{Step: 1, Channel: "sms", Outcome: recovery.OutcomeDelivered})
	}, time.Minute)
	choice := h.update(90*time.Minute, UpdateChoose, ChooseRequest{Remedy: recovery.RemedyRefund, By: "customer"})
	res := h.run(t)
	if choice.err != nil || !choice.accepted {
		t.Fatalf("choice: %+v", choice)
	}
	if got := h.contacts(); got != "sms:sent email:sent sms:sent" {
		t.Fatalf("ladder = %q (no call after the choice; the confirmation by SMS)", got)
	}
	if res.Offer.Remedy != recovery.RemedyRefund || res.Confirmation == nil || res.Confirmation.Channel != "sms" {
		t.Fatalf("result = %+v", res)
	}
}

// Each step of a voice, SMS, email ladder goes through the real twilio-go
// and sendgrid-go clients to the provider stubs; the requests carry the
// numbers, the TwiML and status callback URLs of their step, and the
// email its custom arguments.
func TestLadderProviderRequests(t *testing.T) {
	tw := providerstub.Twilio("AC1", "tok")
	defer tw.Close()
	sg := providerstub.SendGrid("SG.k")
	defer sg.Close()
	twilio := messaging.NewTwilio(messaging.TwilioConfig{AccountSID: "AC1", AuthToken: "tok", From: "+15005550006",
		PublicURL: "https://r.example", APIBase: tw.URL})
	h := newRemedyHarness(t, discountDecision("voice", "sms", "email"))
	h.acts.Messenger = messaging.Router{Voice: twilio, SMS: twilio, Email: messaging.NewSendGrid(messaging.SendGridConfig{
		APIKey: "SG.k", From: "care@shop.example", FromName: "Shop care", APIBase: sg.URL})}
	h.acts.Links = &links.Signer{Secret: []byte("s"), Base: "https://r.example"}
	h.in.Order.Customer.Phone = "+44 7700 900123"
	id := h.in.Incident.ID
	for i, ev := range []recovery.ContactEvent{
		{Step: 1, Channel: "voice", Outcome: recovery.OutcomeVoicemail, Detail: "completed by machine_end_beep"},
		{Step: 2, Channel: "sms", Outcome: recovery.OutcomeFailed, Detail: "undelivered"},
	} {
		h.env.RegisterDelayedCallback(func() { h.env.SignalWorkflow(SignalContact, ev) }, time.Duration(i+1)*time.Minute)
	}
	h.run(t)
	if got := h.contacts(); got != "voice:sent sms:sent email:sent" {
		t.Fatalf("ladder = %q", got)
	}
	reqs := tw.Requests()
	if len(reqs) != 2 || reqs[0].Path != "/2010-04-01/Accounts/AC1/Calls.json" || reqs[1].Path != "/2010-04-01/Accounts/AC1/Messages.json" {
		t.Fatalf("twilio requests = %+v", reqs)
	}
	call, sms := reqs[0].Form, reqs[1].Form
	q := "?channel=%s&incident=" + id + "&step=%d"
	for k, want := range map[string]string{
		"To": "+447700900123", "From": "+15005550006", "MachineDetection": "DetectMessageEnd",
		"Url":            "https://r.example/v1/webhooks/twilio/voice" + fmt.Sprintf(q, "voice", 1),
		"StatusCallback": "https://r.example/v1/webhooks/twilio/status" + fmt.Sprintf(q, "voice", 1),
	} {
		if call.Get(k) != want {
			t.Errorf("call %s = %q, want %q", k, call.Get(k), want)
		}
	}
	if sms.Get("To") != "+447700900123" || sms.Get("StatusCallback") != "https://r.example/v1/webhooks/twilio/status"+fmt.Sprintf(q, "sms", 2) ||
		!strings.Contains(sms.Get("Body"), "https://r.example/r/c.") || !strings.Contains(sms.Get("Body"), "Reply HELP") {
		t.Errorf("sms = %v", sms)
	}
	mails := sg.Requests()
	if len(mails) != 1 {
		t.Fatalf("%d emails", len(mails))
	}
	b := mails[0].JSON
	args := b["custom_args"].(map[string]any)
	to := b["personalizations"].([]any)[0].(map[string]any)["to"].([]any)[0].(map[string]any)["email"]
	content := b["content"].([]any)
	if to != "ada@example.com" || args["incident_id"] != id || args["step"] != "3" ||
		args["recovery_key"] != "default-test-workflow-id/step-3" || len(content) != 2 ||
		!strings.Contains(content[1].(map[string]any)["value"].(string), `<a href="https://r.example/u/u.`) {
		t.Errorf("email = %v", b)
	}
}

// A customer without a phone number goes straight to the email step.
func TestLadderWithoutAPhone(t *testing.T) {
	h := newRemedyHarness(t, discountDecision("voice", "sms", "email"))
	res := h.run(t)
	if got := h.contacts(); got != "email:sent" || res.Contact.Step != 3 || len(h.sink.Messages) != 1 {
		t.Fatalf("ladder = %q, contact %+v", got, res.Contact)
	}
}

// Pressing 0 tells ops, once, with an audit row and a webhook.
func TestAskingForAPersonTellsOps(t *testing.T) {
	d := recovery.RemedyDecision{Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyReship}, {Remedy: recovery.RemedyRefund, Value: eur(8999)}},
		Approval: recovery.ApprovalRule{AutoUpToMinor: -1}, CustomerChooses: true, ChoiceTimeout: time.Hour,
		Ladder: []string{"voice", "email"}, StepTimeout: 10 * time.Minute}
	h := newRemedyHarness(t, d)
	h.in.Order.Customer.Phone = "+447700900123"
	for _, at := range []time.Duration{time.Minute, 2 * time.Minute} { // twice: told once
		h.env.RegisterDelayedCallback(func() {
			h.env.SignalWorkflow(SignalContact, recovery.ContactEvent{Step: 1, Channel: "voice", Outcome: recovery.OutcomeResponded,
				Detail: recovery.DetailPersonRequested})
		}, at)
	}
	h.run(t)
	var asked []recovery.OutboundWebhook
	for _, w := range h.st.Webhooks {
		if w.Type == "customer.person_requested" {
			asked = append(asked, w)
		}
	}
	if len(asked) != 1 || !strings.Contains(string(asked[0].Data), `"channel":"voice"`) || !strings.Contains(h.audit(), "customer:person-requested") {
		t.Fatalf("webhooks %+v, audit %s", asked, h.audit())
	}
	// The customer answered: the ladder stops at the call, and the only
	// email is the confirmation of the default after the choice timed out.
	last := h.sink.Messages[len(h.sink.Messages)-1]
	if got := h.contacts(); got != "voice:sent email:sent" || !strings.Contains(last.Subject, "Your choice") {
		t.Fatalf("ladder = %q, last message %q", got, last.Subject)
	}
}

package activities

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// quoting refuses every message with a text that quotes the address, as
// some providers' errors do.
type quoting struct{}

func (quoting) Send(_ context.Context, m recovery.Message) (string, error) {
	return "", fmt.Errorf("the number %s is unreachable: %w", m.To, recovery.ErrUnsent)
}

// Activities answer workflows with ids and statuses: what they return, and
// what their errors say, is kept in Temporal's history. The customer's
// name and addresses, the code and the signed links go to the customer and
// to Postgres only.
func TestActivitiesAnswerWorkflowsWithoutPersonalData(t *testing.T) {
	st := recoverytest.NewMemStore()
	sink := &messaging.MemorySink{}
	a := &Activities{Store: st, Remedies: st, Messenger: &messaging.Capture{Sink: sink},
		Links: &links.Signer{Secret: []byte("s"), Base: "https://r.example"}}
	st.SetOrderContact("1001", recovery.Customer{Name: "Ada Weber", Email: "Ada.Weber@example.com",
		Phone: "+49 151 1234 5678", Locale: "en"}, recovery.Location{Line1: "Hauptstr. 5", City: "Berlin", Country: "DE"})
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	inc := recovery.Incident{ID: "inc-1", OrderID: "1001", Kind: recovery.KindLate}
	var answers []any

	// The code is issued into the store; the workflow gets the offer
	// without it.
	val, err := env.ExecuteActivity(a.IssueCode, IssueCodeInput{IncidentID: inc.ID,
		Offer: recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 500, Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	var offer recovery.Offer
	val.Get(&offer) //nolint:errcheck
	answers = append(answers, offer)
	code, _ := st.OfferCode(context.Background(), inc.ID, recovery.RemedyDiscount)
	if offer.Code != "" || !strings.HasPrefix(code, "SORRY-") || offer.ExpiresAt == nil {
		t.Fatalf("IssueCode answered %+v; stored code %q", offer, code)
	}

	// The apology reads the customer and the code from the store.
	for step, ch := range []string{recovery.ChannelEmail, recovery.ChannelSMS} {
		val, err = env.ExecuteActivity(a.SendApology, SendApologyInput{Incident: inc, Offer: offer, Step: step + 1,
			Channel: ch, IdempotencyKey: fmt.Sprintf("k/%d", step)})
		if err != nil {
			t.Fatal(err)
		}
		var c recovery.Contact
		val.Get(&c) //nolint:errcheck
		answers = append(answers, c)
		if c.Status != recovery.ContactSent || c.Channel != ch {
			t.Fatalf("%s apology: %+v", ch, c)
		}
	}
	if len(sink.Messages) != 2 {
		t.Fatalf("%d messages sent, want 2", len(sink.Messages))
	}
	email, sms := sink.Messages[0], sink.Messages[1]
	if email.To != "ada.weber@example.com" || !strings.Contains(email.Text, "Ada Weber") || !strings.Contains(email.Text, code) ||
		!strings.Contains(email.Text, "https://r.example/r/") {
		t.Fatalf("the email lacks the customer's name, the code or the link: %+v", email)
	}
	if sms.To != "+4915112345678" || !strings.Contains(sms.Text, code) {
		t.Fatalf("the SMS lacks the code or went elsewhere: %+v", sms)
	}

	// A follow-up finds the address itself, and the code again.
	val, err = env.ExecuteActivity(a.SendFollowUp, SendFollowUpInput{Incident: inc, Offer: offer, Channel: recovery.ChannelEmail,
		Healed: "delivered", Step: 3, IdempotencyKey: "k/3"})
	if err != nil {
		t.Fatal(err)
	}
	var f recovery.Contact
	val.Get(&f) //nolint:errcheck
	answers = append(answers, f)
	if f.Status != recovery.ContactSent || len(sink.Messages) != 3 || sink.Messages[2].To != "ada.weber@example.com" {
		t.Fatalf("follow-up: %+v, %d messages", f, len(sink.Messages))
	}

	// A provider's error that quotes the number does not carry it into the
	// activity's failure.
	a.Messenger = quoting{}
	_, err = env.ExecuteActivity(a.SendApology, SendApologyInput{Incident: inc, Offer: offer, Step: 4,
		Channel: recovery.ChannelSMS, IdempotencyKey: "k/4"})
	if err == nil || !strings.Contains(err.Error(), "[address]") {
		t.Fatalf("a failing send: %v", err)
	}
	answers = append(answers, err.Error())

	b, _ := json.Marshal(answers)
	for _, secret := range []string{"Ada", "Weber", "ada.weber", "1234", "Hauptstr", "Berlin", code, "r.example", "/r/", "/u/"} {
		if strings.Contains(strings.ToLower(string(b)), strings.ToLower(secret)) {
			t.Errorf("a workflow would hold %q: %s", secret, b)
		}
	}
	if t.Failed() {
		return
	}
	// The ledger keeps what was said, for the API and the console.
	if l := ledger(st, "inc-1", 1, "email"); l.To != "ada.weber@example.com" || !strings.Contains(l.Body, code) {
		t.Fatalf("ledger row: %+v", l)
	}
}

package activities

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/temporal"

	"go.temporal.io/sdk/testsuite"

	"github.com/recoveryhq/recovery/internal/brands"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// flakyMessenger fails the first n sends after delivering them, like a
// provider that accepted a message whose answer was lost.
type flakyMessenger struct {
	sink  *messaging.MemorySink
	fails int
}

func (f *flakyMessenger) Send(ctx context.Context, m recovery.Message) (string, error) {
	id, err := (&messaging.Capture{Sink: f.sink}).Send(ctx, m)
	if f.fails > 0 {
		f.fails--
		return "", errors.New("connection reset after the provider accepted")
	}
	return id, err
}

// apologyInput is order 1001's apology; the store knows its customer,
// Ada, who reads locale.
func apologyInput(st *recoverytest.MemStore, locale string) SendApologyInput {
	customer(st, recovery.Customer{Name: "Ada Weber", Email: "ada@example.com", Locale: locale})
	return SendApologyInput{
		Incident: recovery.Incident{ID: "inc-1", OrderID: "1001", Kind: recovery.KindMisrouted},
		Offer:    recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR", Code: "SORRY-ABCDEFGHIJ"},
		Step:     1, IdempotencyKey: "incident/1001/s-1/misrouted/step-1",
	}
}

// customer sets order 1001's customer in the store, as its order.created
// would.
func customer(st *recoverytest.MemStore, c recovery.Customer) {
	st.SetOrderContact("1001", c, recovery.Location{Country: "DE"})
}

// ledger is the contact row a step left in the store.
func ledger(st *recoverytest.MemStore, incident string, step int, channel string) recovery.Contact {
	return st.Contacts[fmt.Sprintf("%s/%d/%s", incident, step, channel)]
}

// send runs SendApology in Temporal's activity test environment.
func send(t *testing.T, a *Activities, in SendApologyInput) (recovery.Contact, error) {
	t.Helper()
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	val, err := env.ExecuteActivity(a.SendApology, in)
	if err != nil {
		return recovery.Contact{}, err
	}
	var c recovery.Contact
	return c, val.Get(&c)
}

func TestDecideOfferDefaultDiscount(t *testing.T) {
	st := recoverytest.NewMemStore()
	a := &Activities{Store: st}
	o, err := a.DecideOffer(context.Background(), DecideOfferInput{IncidentID: "inc-1", Currency: "EUR", TotalMinor: 8999})
	if err != nil {
		t.Fatal(err)
	}
	// The code is kept in the store; the workflow never holds it.
	code := st.Offers["inc-1"].Code
	if o.ValueMinor != 1350 || o.Currency != "EUR" || o.Status != recovery.OfferApproved || o.Code != "" ||
		!strings.HasPrefix(code, "SORRY-") || len(code) != 16 {
		t.Fatalf("offer = %+v (stored code %q), want an approved 1350 EUR discount with a stored code", o, code)
	}
	a.DecideOffer(context.Background(), DecideOfferInput{IncidentID: "inc-2", Currency: "EUR", TotalMinor: 8999}) //nolint:errcheck
	if st.Offers["inc-2"].Code == code {
		t.Fatal("two offers got the same code")
	}
	capped := &Activities{Store: st, Remedy: recovery.RemedyConfig{Remedy: recovery.RemedyDiscount, DiscountPercent: 50, MaxMinor: 1000}}
	if o, _ := capped.DecideOffer(context.Background(), DecideOfferInput{IncidentID: "inc-3", Currency: "EUR", TotalMinor: 8999}); o.ValueMinor != 1000 {
		t.Fatalf("capped offer = %d, want 1000", o.ValueMinor)
	}
	if _, err := a.DecideOffer(context.Background(), DecideOfferInput{IncidentID: "x", Currency: "eur", TotalMinor: 1}); err == nil {
		t.Fatal("invalid currency accepted")
	}
}

func TestSendApologyOncePerStep(t *testing.T) {
	st := recoverytest.NewMemStore()
	sink := &messaging.MemorySink{}
	a := &Activities{Store: st, Messenger: &flakyMessenger{sink: sink, fails: 1}}
	if _, err := send(t, a, apologyInput(st, "en-GB")); err == nil {
		t.Fatal("first attempt should fail like a lost provider answer")
	}
	c, err := send(t, a, apologyInput(st, "en-GB")) // Temporal's retry
	if err != nil {
		t.Fatal(err)
	}
	if _, err := send(t, a, apologyInput(st, "en-GB")); err != nil { // a further retry
		t.Fatal(err)
	}
	if len(sink.Messages) != 1 {
		t.Fatalf("customer received %d messages for one ladder step, want 1", len(sink.Messages))
	}
	// The provider may have taken it: the step is unconfirmed, never resent.
	if c.Status != recovery.ContactUnconfirmed || st.Contacts["inc-1/1/email"].Status != recovery.ContactUnconfirmed {
		t.Fatalf("contact = %+v", c)
	}
	m := sink.Messages[0]
	if m.Channel != "email" || m.To != "ada@example.com" || !strings.Contains(m.Text, "€13.50") ||
		!strings.Contains(m.Text, "SORRY-ABCDEFGHIJ") || !strings.Contains(m.Text, "sorry") || !strings.Contains(m.HTML, "<p>") {
		t.Fatalf("email = %+v", m)
	}
}

// refusing fails sends with err without delivering them.
type refusing struct {
	err   error
	sink  *messaging.MemorySink
	times int
}

func (r *refusing) Send(ctx context.Context, m recovery.Message) (string, error) {
	if r.times > 0 {
		r.times--
		return "", r.err
	}
	return (&messaging.Capture{Sink: r.sink}).Send(ctx, m)
}

func TestSendApologyRetriesOnlyWhatWasNotSent(t *testing.T) {
	st := recoverytest.NewMemStore()
	sink := &messaging.MemorySink{}
	a := &Activities{Store: st, Messenger: &refusing{err: fmt.Errorf("503: %w", recovery.ErrUnsent), sink: sink, times: 1}}
	if _, err := send(t, a, apologyInput(st, "en")); err == nil {
		t.Fatal("a 503 must fail the attempt")
	}
	c, err := send(t, a, apologyInput(st, "en"))
	if err != nil || c.Status != recovery.ContactSent || len(sink.Messages) != 1 {
		t.Fatalf("retry after a 503: %+v, %v, %d messages", c, err, len(sink.Messages))
	}
	// A permanent refusal fails the step without an error: the ladder moves on.
	a.Messenger = &refusing{err: fmt.Errorf("21211: %w", recovery.ErrInvalid), times: 1}
	in := apologyInput(st, "en")
	in.Step = 2
	c, err = send(t, a, in)
	if err != nil || c.Status != recovery.ContactFailed || st.Contacts["inc-1/2/email"].Status != recovery.ContactFailed {
		t.Fatalf("refused: %+v, %v", c, err)
	}
}

func TestSendApologySkipsOptOutsAndWaitsForTheWindow(t *testing.T) {
	st := recoverytest.NewMemStore()
	sink := &messaging.MemorySink{}
	consent := &recoverytest.MemConsent{}
	now := time.Date(2026, 11, 22, 22, 30, 0, 0, time.UTC) // 23:30 in Berlin
	a := &Activities{Store: st, Messenger: &messaging.Capture{Sink: sink}, Consent: consent, Clock: func() time.Time { return now }}
	consent.OptOut(context.Background(), recovery.ChannelSMS, "+49 151 1234 5678", "test") //nolint:errcheck
	in := apologyInput(st, "de")
	in.Channel = recovery.ChannelSMS
	customer(st, recovery.Customer{Name: "Ada Weber", Phone: "+4915112345678", Locale: "de"})
	c, err := send(t, a, in)
	if err != nil || c.Status != recovery.ContactSkipped || !strings.Contains(c.Detail, "opted out") {
		t.Fatalf("opted-out number: %+v, %v", c, err)
	}
	in.Step, in.Channel = 2, recovery.ChannelVoice
	in.Window = recovery.WindowSettings{}.For("", recovery.Customer{}, recovery.Location{Country: "DE"})
	_, err = send(t, a, in)
	var appErr *temporal.ApplicationError
	if !errors.As(err, &appErr) || appErr.Type() != ErrTypeOutsideWindow || len(sink.Messages) != 0 {
		t.Fatalf("at 23:30 local: %v, %d messages", err, len(sink.Messages))
	}
	now = time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC) // 08:00 in Berlin
	a.Links = &links.Signer{Secret: []byte("s"), Base: "https://r.example"}
	c, err = send(t, a, in)
	if err != nil || c.Status != recovery.ContactSent || c.Channel != "voice" ||
		!strings.Contains(ledger(st, "inc-1", 2, "voice").Body, "drücken Sie die 0") {
		t.Fatalf("call at 08:00: %+v, %v", c, err)
	}
	customer(st, recovery.Customer{Name: "Ada Weber", Email: "ada@example.com", Phone: "+4915112345678", Locale: "de"})
	in.Step, in.Channel, in.IdempotencyKey = 3, recovery.ChannelEmail, "incident/1001/s-1/misrouted/step-3"
	_, err = send(t, a, in)
	m := sink.Messages[len(sink.Messages)-1]
	if err != nil || !strings.Contains(m.Text, "https://r.example/r/c.") || !strings.Contains(m.Text, "https://r.example/u/u.") ||
		!strings.Contains(m.HTML, `<a href="https://r.example/r/c.`) || m.IncidentID != "inc-1" || m.Step != 3 {
		t.Fatalf("email with links: %+v, %v", m, err)
	}
}

func TestSendApologyLanguageAndChannel(t *testing.T) {
	st := recoverytest.NewMemStore()
	sink := &messaging.MemorySink{}
	a := &Activities{Store: st, Messenger: &messaging.Capture{Sink: sink}}
	c, err := send(t, a, apologyInput(st, "de-DE"))
	if err != nil {
		t.Fatal(err)
	}
	if body := ledger(st, "inc-1", 1, "email").Body; c.Locale != "de" || !strings.Contains(body, "falsch geleitet") || !strings.Contains(body, "13,50") {
		t.Fatalf("German customer got %q", body)
	}
	in := apologyInput(st, "fr-FR")
	in.Incident.ID = "inc-2"
	customer(st, recovery.Customer{Phone: "+33612345678", Locale: "fr-FR"})
	c, err = send(t, a, in)
	if err != nil {
		t.Fatal(err)
	}
	if l := ledger(st, "inc-2", 1, "sms"); c.Channel != "sms" || l.To != "+33612345678" || !strings.Contains(l.Body, "mal acheminé") {
		t.Fatalf("phone-only French customer got %+v", l)
	}
	in.Incident.ID = "inc-3"
	customer(st, recovery.Customer{Locale: "fr-FR"})
	if _, err := send(t, a, in); err == nil {
		t.Fatal("a customer without email or phone must be a non-retryable error")
	}
}

// engine is a PolicyEngine that remembers what it was asked.
type engine struct{ got recovery.DecisionInput }

func (e *engine) Decide(in recovery.DecisionInput) (recovery.RemedyDecision, error) {
	e.got = in
	return recovery.RemedyDecision{PolicyVersion: "v7", Rule: "r", Trace: []recovery.RuleTrace{{Rule: "r", Matched: true}}}, nil
}

func TestDecideRemedyRecordsTheDecisionWithHistory(t *testing.T) {
	st := recoverytest.NewMemStore()
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	eng := &engine{}
	a := &Activities{Store: st, Policy: eng, Clock: func() time.Time { return now }}
	ctx := context.Background()
	// Two orders of Ada's, her email address written two ways; the
	// workflow's order names no customer: the store knows her.
	st.SetOrderContact("o", recovery.Customer{Email: "Ada@Example.com"}, recovery.Location{})
	st.SetOrderContact("o2", recovery.Customer{Email: "ada@example.com"}, recovery.Location{})
	for i, at := range []time.Time{now.Add(-10 * 24 * time.Hour), now.Add(-100 * 24 * time.Hour)} {
		id := fmt.Sprintf("old-%d", i)
		a.RecordIncident(ctx, RecordIncidentInput{Incident: recovery.Incident{ID: id, OrderID: "o", DetectedAt: at}}) //nolint:errcheck
		st.SaveOffer(ctx, id, recovery.Offer{ValueMinor: 500, Currency: "EUR", Status: recovery.OfferApproved})       //nolint:errcheck
		st.SetOfferTimes(id, at, at)                                                                                  // made and approved when the incident was decided
	}
	inc := recovery.Incident{ID: "inc-new", OrderID: "o2", Kind: recovery.KindLate, DetectedAt: now}
	a.RecordIncident(ctx, RecordIncidentInput{Incident: inc}) //nolint:errcheck
	d, err := a.DecideRemedy(ctx, DecideRemedyInput{Incident: inc, Order: recovery.OrderData{Currency: "EUR"}})
	if err != nil {
		t.Fatal(err)
	}
	// Only the incident ten days ago counts: the other is older than 90 days.
	if eng.got.History.Incidents90d != 1 || eng.got.History.CompensatedMinor30d != 500 || !eng.got.At.Equal(now) {
		t.Fatalf("history given to the policy: %+v", eng.got.History)
	}
	if d.PolicyVersion != "v7" || st.Incidents["inc-new"].Decision == nil || st.Incidents["inc-new"].Decision.Rule != "r" {
		t.Fatalf("decision %+v not recorded: %+v", d, st.Incidents["inc-new"])
	}
}

// A channel without a provider (serve with SendGrid only, say) is skipped
// with the reason, never captured and counted as sent.
func TestChannelWithoutAProviderIsSkipped(t *testing.T) {
	st := recoverytest.NewMemStore()
	sink := &messaging.MemorySink{}
	a := &Activities{Store: st, Messenger: messaging.Router{Email: &messaging.Capture{Sink: sink}}}
	in := apologyInput(st, "en")
	in.Channel = recovery.ChannelSMS
	customer(st, recovery.Customer{Email: "ada@example.com", Phone: "+447700900123", Locale: "en"})
	c, err := send(t, a, in)
	if err != nil || c.Status != recovery.ContactSkipped || c.Detail != "no sms provider is configured" || len(sink.Messages) != 0 {
		t.Fatalf("SMS without a provider: %+v, %v, %d messages", c, err, len(sink.Messages))
	}
	in.Step, in.Channel, in.IdempotencyKey = 2, recovery.ChannelEmail, "incident/1001/s-1/misrouted/step-2"
	if c, err := send(t, a, in); err != nil || c.Status != recovery.ContactSent || len(sink.Messages) != 1 {
		t.Fatalf("email with a provider: %+v, %v", c, err)
	}
}

// The worker's templates are the ones it was given (RECOVERY_TEMPLATES_DIR
// merged over the built-in ones): a subject of the merchant's own, the
// rest built in; a language only the overrides have.
func TestSendWithTheMerchantsTemplates(t *testing.T) {
	dir := t.TempDir()
	for name, src := range map[string]string{
		"en.tmpl": `{{define "subject"}}Our apologies, from Hartmann & Söhne: order {{.OrderID}}{{end}}
{{define "healed_subject"}}All is well with order {{.OrderID}}{{end}}`,
		"fi.tmpl": `{{define "subject"}}Pahoittelumme: tilaus {{.OrderID}}{{end}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	tmpl, err := messaging.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	st := recoverytest.NewMemStore()
	a := &Activities{Store: st, Messenger: &messaging.Capture{Sink: &messaging.MemorySink{}}, Templates: tmpl}
	if _, err := send(t, a, apologyInput(st, "en-GB")); err != nil {
		t.Fatal(err)
	}
	if l := ledger(st, "inc-1", 1, "email"); l.Subject != "Our apologies, from Hartmann & Söhne: order 1001" ||
		!strings.Contains(l.Body, "sent the wrong way") {
		t.Fatalf("English apology with the merchant's subject: %q\n%s", l.Subject, l.Body)
	}
	var suite testsuite.WorkflowTestSuite
	env := suite.NewTestActivityEnvironment()
	env.RegisterActivity(a)
	if _, err := env.ExecuteActivity(a.SendFollowUp, SendFollowUpInput{Incident: recovery.Incident{ID: "inc-1", OrderID: "1001",
		Kind: recovery.KindMisrouted}, Channel: recovery.ChannelEmail, Healed: "delivered", Step: 2,
		IdempotencyKey: "incident/1001/s-1/misrouted/follow-up"}); err != nil {
		t.Fatal(err)
	}
	if l := ledger(st, "inc-1", 2, "email"); l.Subject != "All is well with order 1001" {
		t.Fatalf("follow-up with the merchant's subject: %q", l.Subject)
	}
	in := apologyInput(st, "fi-FI")
	in.Incident.ID = "inc-2"
	if c, err := send(t, a, in); err != nil || c.Locale != "fi" {
		t.Fatalf("Finnish: %+v, %v", c, err)
	}
	if l := ledger(st, "inc-2", 1, "email"); l.Subject != "Pahoittelumme: tilaus 1001" || !strings.Contains(l.Body, "sent the wrong way") {
		t.Fatalf("Finnish subject, the rest in English: %q\n%s", l.Subject, l.Body)
	}
	// The built-in set is untouched.
	if r, _ := messaging.Render("en", messaging.ApologyData{OrderID: "1001"}); !strings.HasPrefix(r.Subject, "We're sorry") {
		t.Fatalf("built-in subject now %q", r.Subject)
	}
}

// TestTheOrdersBrandSpeaks: an order from a brand's source is sent from
// the brand's address, and its templates get the brand's name and
// contacts; an order from elsewhere keeps the deployment's sender.
func TestTheOrdersBrandSpeaks(t *testing.T) {
	set, err := brands.Parse("brands.yaml", []byte("brands:\n  - name: Lamp Shop\n    sources: [lamps]\n"+
		"    from: {email: care@lampshop.example, name: Lamp Shop care}\n    support: {phone: '+442071838750'}\n"))
	if err != nil {
		t.Fatal(err)
	}
	for source, want := range map[string]string{"lamps": "care@lampshop.example", "elsewhere": ""} {
		st := recoverytest.NewMemStore()
		sink := &messaging.MemorySink{}
		tm, err := messaging.Load(writeOverride(t, "en.tmpl", `{{define "subject"}}{{or .Brand "Us"}}: order {{.OrderID}}, call {{.SupportPhone}}{{end}}`))
		if err != nil {
			t.Fatal(err)
		}
		a := &Activities{Store: st, Messenger: &messaging.Capture{Sink: sink}, Brands: set, Templates: tm}
		in := apologyInput(st, "en-GB")
		oc, _ := st.OrderContact(t.Context(), in.Incident.OrderID)
		oc.Source = source
		st.People[in.Incident.OrderID] = oc
		if _, err := send(t, a, in); err != nil {
			t.Fatal(err)
		}
		m := sink.Messages[0]
		if m.From != want {
			t.Errorf("%s: from %q, want %q", source, m.From, want)
		}
		if source == "lamps" && (m.FromName != "Lamp Shop care" || !strings.HasPrefix(m.Subject, "Lamp Shop: order") ||
			!strings.HasSuffix(m.Subject, "call +442071838750")) {
			t.Errorf("the brand's email: %+v", m)
		}
	}
}

// writeOverride writes one template file into a new directory.
func writeOverride(t *testing.T, name, src string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

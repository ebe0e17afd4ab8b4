package browsertest

import (
	"context"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
	"github.com/recoveryhq/recovery/internal/web"
)

// tab is one browser tab in a test: each step fails the test saying what
// it was doing.
type tab struct {
	t   *testing.T
	ctx context.Context
}

func newTab(t *testing.T) tab { return tab{t: t, ctx: New(t, 1280, 900)} }

// do runs steps that stay on the page or navigate with chromedp.Navigate.
func (b tab) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// submit runs steps that send a form, waits for the page they lead to
// (after any redirect) to load, and returns its HTTP status.
func (b tab) submit(what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	if resp == nil {
		b.t.Fatalf("%s: the browser stopped loading without a new page", what)
	}
	return resp.Status
}

// text is the visible text of the first element sel matches.
func (b tab) text(sel string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("read %s: %v", sel, err)
	}
	return v
}

// eval is a JavaScript expression's value in the page.
func eval[T any](b tab, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// location is the address the tab is at.
func (b tab) location() string {
	b.t.Helper()
	url, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("read the location: %v", err)
	}
	return url
}

// addIncident stores an incident and, when offer is not nil, its offer.
func addIncident(t *testing.T, st *store.Store, inc recovery.Incident, offer *recovery.Offer) {
	t.Helper()
	ctx := context.Background()
	if inc.DetectedAt.IsZero() {
		inc.DetectedAt = time.Now().Add(-time.Hour).UTC()
	}
	if err := st.UpsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if offer != nil {
		if err := st.SaveOffer(ctx, inc.ID, *offer); err != nil {
			t.Fatal(err)
		}
	}
}

// incident reads an incident back from Postgres.
func incident(t *testing.T, st *store.Store, id string) recovery.Incident {
	t.Helper()
	inc, err := st.GetIncident(context.Background(), id)
	if err != nil {
		t.Fatalf("read %s back: %v", id, err)
	}
	return inc
}

// TestApprovingOverTheLimitChangesNothing: mara (EUR 100) approves an
// offer of 250.00 EUR in the browser. The incident page says it is over
// her limit, nothing reaches the workflow, and the offer in Postgres is
// still pending at its value.
func TestApprovingOverTheLimitChangesNothing(t *testing.T) {
	base, rem, st := console_(t)
	addIncident(t, st, recovery.Incident{ID: "inc-big", OrderID: "1003", ShipmentID: "s-1", Kind: recovery.KindStalled,
		Status: recovery.IncidentAwaitingApproval, WorkflowID: "incident/1003/s-1/stalled"},
		&recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 25000, Currency: "EUR", Status: recovery.OfferPending})
	b := newTab(t)
	b.do("sign in and open the incident", signIn(base), chromedp.Navigate(base+"/console/incidents/inc-big"),
		chromedp.WaitVisible(chromedp.CSS("#note")))
	if page := b.text("main"); !strings.Contains(page, "250.00") {
		t.Fatalf("the incident page shows %q, want its 250.00 EUR offer", page)
	}
	status := b.submit("approve", chromedp.SendKeys(chromedp.CSS("#note"), "looks fine to me"),
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)))
	if status != http.StatusForbidden {
		t.Errorf("approving over the limit answered %d, want %d", status, http.StatusForbidden)
	}
	if msg := b.text(".error"); !strings.Contains(msg, "over your limit of 100 EUR") {
		t.Errorf("the page says %q, want that the offer is over mara's limit of 100 EUR", msg)
	}
	Accessible(t, b.ctx, "incident refused over the limit")
	if acts := rem.taken(); len(acts) != 0 {
		t.Fatalf("an approval over the limit reached the workflow: %+v", acts)
	}
	if o := incident(t, st, "inc-big").Offer; o == nil || o.Status != recovery.OfferPending || o.ValueMinor != 25000 {
		t.Fatalf("the offer in Postgres is %+v, want still pending at 250.00 EUR", o)
	}
}

// TestRejectWithAReason: the reject form will not go without a reason
// (the browser holds it back and focuses the field); with one, the
// workflow is asked to reject by console:mara with that reason, and the
// browser is back on the queue.
func TestRejectWithAReason(t *testing.T) {
	base, rem, _ := console_(t)
	b := newTab(t)
	b.do("sign in and open the incident", signIn(base), chromedp.Navigate(base+"/console/incidents/inc-b1"),
		chromedp.WaitVisible(chromedp.CSS("#reason")), chromedp.Click(chromedp.CSS(`form[action$="/reject"] button`)))
	// The browser held the form back and put the focus on what is missing.
	if focus := eval[string](b, `document.activeElement.id + " " + document.querySelector("#reason").validity.valueMissing`); focus != "reason true" {
		t.Errorf("after rejecting without a reason the focus and the field's state are %q, want the empty reason field focused", focus)
	}
	if acts := rem.taken(); len(acts) != 0 {
		t.Fatalf("a rejection without a reason reached the workflow: %+v", acts)
	}
	const reason = "the customer already has a reship on its way"
	if status := b.submit("reject", chromedp.SendKeys(chromedp.CSS("#reason"), reason),
		chromedp.Click(chromedp.CSS(`form[action$="/reject"] button`))); status != http.StatusOK {
		t.Errorf("rejecting ended on a %d page, want the queue (200)", status)
	}
	if url := b.location(); !strings.HasSuffix(url, "/console/") {
		t.Errorf("after rejecting the browser is at %s, want the queue", url)
	}
	acts := rem.taken()
	if len(acts) != 1 || acts[0].Action != recovery.ActionReject || acts[0].By.Name != "console:mara" || acts[0].Reason != reason {
		t.Fatalf("actions %+v, want one rejection by console:mara with the reason %q", acts, reason)
	}
}

// TestEditAnOffer: the incident's policy allowed a discount or store
// credit. The edit form lists those two; a value over mara's limit is
// refused on the page and sent nowhere (the field's max attribute does
// not stop it: on a text field it means nothing, so the server's check
// is what refuses); 80.50 EUR of store credit goes to the workflow as
// mara's new offer.
func TestEditAnOffer(t *testing.T) {
	base, rem, st := console_(t)
	eur := func(minor int64) recovery.Money { return recovery.Money{Minor: minor, Currency: "EUR"} }
	if err := st.SaveDecision(context.Background(), "inc-b1", recovery.RemedyDecision{PolicyVersion: "v7", Rule: "lost parcels",
		NeedsApproval: true, Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(4500)},
			{Remedy: recovery.RemedyStoreCredit, Value: eur(6000)}}}); err != nil {
		t.Fatal(err)
	}
	b := newTab(t)
	b.do("sign in and open the incident", signIn(base), chromedp.Navigate(base+"/console/incidents/inc-b1"),
		chromedp.WaitVisible(chromedp.CSS("#value")))
	if got := eval[[]string](b, `[...document.querySelectorAll("#remedy option")].map(o => o.value)`); strings.Join(got, ",") != "discount,store_credit" {
		t.Errorf("the edit form offers %q, want the policy's discount and store_credit", got)
	}
	edit := func(remedy, value string) int64 {
		t.Helper()
		return b.submit("edit the offer to "+remedy+" "+value, chromedp.SetValue(chromedp.CSS("#remedy"), remedy),
			chromedp.SendKeys(chromedp.CSS("#value"), value), chromedp.Click(chromedp.CSS(`form[action$="/offer"] button`)))
	}
	// Over the limit, the page itself refuses to send the form (the
	// field says why)...
	b.do("type a value over the limit", chromedp.SetValue(chromedp.CSS("#remedy"), "store_credit"),
		chromedp.SendKeys(chromedp.CSS("#value"), "250.00"), chromedp.Click(chromedp.CSS(`form[action$="/offer"] button`)))
	if msg := eval[string](b, `document.getElementById("value").validationMessage`); !strings.Contains(msg, "over your limit of 100 EUR") {
		t.Errorf("the value field says %q, want that 250.00 is over the limit of 100 EUR", msg)
	}
	if at := eval[string](b, `location.pathname`); at != "/console/incidents/inc-b1" {
		t.Errorf("the form over the limit was sent: the browser is at %s", at)
	}
	// ...and a form sent anyway (as without the script) is refused by the
	// console.
	eval[bool](b, `document.querySelector('form[action$="/offer"]').noValidate = true`)
	if status := b.submit("send it anyway", chromedp.Click(chromedp.CSS(`form[action$="/offer"] button`))); status != http.StatusUnprocessableEntity {
		t.Errorf("an edit over the limit answered %d, want %d", status, http.StatusUnprocessableEntity)
	}
	if msg := b.text(".error"); !strings.Contains(msg, "over your limit of 100 EUR") {
		t.Errorf("the page says %q, want that 250.00 is over the limit of 100 EUR", msg)
	}
	if acts := rem.taken(); len(acts) != 0 {
		t.Fatalf("an edit over the limit reached the workflow: %+v", acts)
	}
	if status := edit("store_credit", "80.50"); status != http.StatusOK {
		t.Errorf("an edit within the limit ended on a %d page, want the queue (200)", status)
	}
	acts := rem.taken()
	if len(acts) != 1 || acts[0].Action != recovery.ActionOffer || acts[0].By.Name != "console:mara" || len(acts[0].Offers) != 1 ||
		acts[0].Offers[0].Remedy != recovery.RemedyStoreCredit || acts[0].Offers[0].Value != eur(8050) {
		t.Fatalf("actions %+v, want mara's new offer of store credit, 80.50 EUR", acts)
	}
	if o := incident(t, st, "inc-b1").Offer; o == nil || o.Status != recovery.OfferPending || o.ValueMinor != 4500 {
		t.Fatalf("the offer in Postgres is %+v, want the pending 45.00 until the workflow answers", o)
	}
}

// TestHandleAPersonRequest: a customer who asked for a person shows under
// "Asked for a person"; mara marks the request handled with a note on the
// incident's page, the incident leaves that tab, and Postgres has who saw
// to it, when and what they did.
func TestHandleAPersonRequest(t *testing.T) {
	base, _, st := console_(t)
	ctx := context.Background()
	addIncident(t, st, recovery.Incident{ID: "inc-asked", OrderID: "1004", ShipmentID: "s-1", Kind: recovery.KindLate,
		Status: recovery.IncidentOpen, WorkflowID: "incident/1004/s-1/late"}, nil)
	if _, _, err := st.BeginContact(ctx, recovery.Contact{IncidentID: "inc-asked", Step: 1, Channel: recovery.ChannelEmail,
		To: "ada@example.com", Subject: "Your parcel is late", Body: "We are sorry.", Locale: "en", Status: recovery.ContactSent}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.RecordContactEvent(ctx, recovery.ContactEvent{IncidentID: "inc-asked", Step: 1, Channel: recovery.ChannelEmail,
		Outcome: recovery.OutcomeResponded, Detail: recovery.DetailPersonRequested}); err != nil {
		t.Fatal(err)
	}
	b := newTab(t)
	b.do("sign in and open the tab", signIn(base), chromedp.Navigate(base+"/console/?tab=person"),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/incidents/inc-asked"]`)))
	if n := b.text("#count-person"); n != "1" {
		t.Errorf("the tab counts %q, want 1", n)
	}
	Accessible(t, b.ctx, "asked for a person")
	b.do("open the incident", chromedp.Click(chromedp.CSS(`a[href="/console/incidents/inc-asked"]`)),
		chromedp.WaitVisible(chromedp.CSS("#handled-1")))
	const note = "called her back: the parcel is with a neighbour"
	if status := b.submit("mark it handled", chromedp.SendKeys(chromedp.CSS("#handled-1"), note),
		chromedp.Click(chromedp.CSS(`form[action$="/handled"] button`))); status != http.StatusOK {
		t.Errorf("marking it handled ended on a %d page, want the incident (200)", status)
	}
	if contacts := b.text("#contacts + ul"); !strings.Contains(contacts, "console:mara saw to it") || !strings.Contains(contacts, note) {
		t.Errorf("the incident's contacts say %q, want that console:mara saw to it, with the note", contacts)
	}
	b.do("open the tab again", chromedp.Navigate(base+"/console/?tab=person"), chromedp.WaitVisible(chromedp.CSS("#count-person")))
	if n, page := b.text("#count-person"), b.text("main"); n != "0" || strings.Contains(page, "inc-asked") {
		t.Errorf("after handling, the tab counts %q and shows %q, want 0 and no inc-asked", n, page)
	}
	c := incident(t, st, "inc-asked").Contacts
	if len(c) != 1 || c[0].HandledAt == nil || time.Since(*c[0].HandledAt) > time.Minute || c[0].HandledBy != "console:mara" || c[0].HandledNote != note {
		t.Fatalf("the contact in Postgres is %+v, want handled just now by console:mara with the note", c)
	}
}

// TestAFormFromAnotherOriginIsRefused: while mara is signed in, a page on
// another origin sends a form to the console's approve address. It is the
// same host on another port, so the same site: SameSite=Lax sends the
// session cookie along, and only the console's cross-origin check stands
// in the way. The browser shows the Refused page (403) and nothing
// reaches the workflow.
func TestAFormFromAnotherOriginIsRefused(t *testing.T) {
	base, rem, _ := console_(t)
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html lang="en"><title>You won</title>
<form method="post" action="%s/console/incidents/inc-b1/approve">
<input type="hidden" name="note" value="approved by a stranger"><button id="claim">Claim your prize</button>
</form></html>`, template.HTMLEscapeString(base))
	}))
	t.Cleanup(attacker.Close)
	if attacker.URL == base {
		t.Fatalf("the attacker's page is at the console's origin, %s", base)
	}
	b := newTab(t)
	b.do("sign in and visit the other site", signIn(base), chromedp.Navigate(attacker.URL), chromedp.WaitVisible(chromedp.CSS("#claim")))
	if status := b.submit("send the other site's form", chromedp.Click(chromedp.CSS("#claim"))); status != http.StatusForbidden {
		t.Errorf("the form from %s answered %d, want %d", attacker.URL, status, http.StatusForbidden)
	}
	if h1 := b.text("h1"); h1 != "Refused" {
		t.Errorf("the page's heading is %q, want Refused", h1)
	}
	if acts := rem.taken(); len(acts) != 0 {
		t.Fatalf("a form from another origin reached the workflow: %+v", acts)
	}
}

// TestASignedOutVisitGoesToTheLoginPage: mara signs out with the button
// in the header; her session is gone from Postgres, and the incident's
// address now lands on the login page.
func TestASignedOutVisitGoesToTheLoginPage(t *testing.T) {
	base, _, st := console_(t)
	sessions := func() int {
		t.Helper()
		var n int
		if err := st.Pool().QueryRow(context.Background(), `SELECT count(*) FROM console_sessions`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	b := newTab(t)
	b.do("sign in and open the incident", signIn(base), chromedp.Navigate(base+"/console/incidents/inc-b1"),
		chromedp.WaitVisible(chromedp.CSS("#note")))
	if n := sessions(); n != 1 {
		t.Fatalf("%d sessions in Postgres while signed in, want 1", n)
	}
	b.submit("sign out", chromedp.Click(chromedp.CSS(`form[action="/console/logout"] button`)))
	if url := b.location(); !strings.HasSuffix(url, "/console/login") {
		t.Errorf("after signing out the browser is at %s, want the login page", url)
	}
	if n := sessions(); n != 0 {
		t.Errorf("%d sessions in Postgres after signing out, want 0", n)
	}
	b.do("open the incident again", chromedp.Navigate(base+"/console/incidents/inc-b1"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if url := b.location(); !strings.HasSuffix(url, "/console/login") {
		t.Errorf("signed out, the incident's address lands on %s, want the login page", url)
	}
	if n := eval[int](b, `document.querySelectorAll("#note, #reason").length`); n != 0 {
		t.Errorf("signed out, the page still has %d of the incident's forms' fields", n)
	}
}

// customers is web.Customers on the store, as the engine wires it, less
// the signal to the workflow (there is none here).
type customers struct{ *store.Store }

func (c customers) NotifyContact(ctx context.Context, ev recovery.ContactEvent) error {
	_, err := c.RecordContactEvent(ctx, ev)
	return err
}

// customerPages serves the customer pages (choice, survey, unsubscribe)
// through a real web.Server on a real store, with a signer for their
// links.
func customerPages(t *testing.T) (base string, signer *links.Signer, rem *remedies, st *store.Store) {
	t.Helper()
	st = storetest.Open(t)
	rem, signer = &remedies{}, &links.Signer{Secret: []byte("a secret for the browser tests")}
	s := &web.Server{Incidents: st, Remedies: rem, Customers: customers{st}, Links: signer,
		Ops:    web.OpsContact{Phone: "+442071838750", Email: "care@shop.example"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	signer.Base = srv.URL
	return srv.URL, signer, rem, st
}

// TestCustomerPagesAreAccessible opens the pages a customer reaches from
// our messages, each before and after its button, and runs axe-core on
// every one (WCAG 2.1 A and AA): the choice page (the choice reaches the
// workflow), the survey (the answer is in Postgres), the unsubscribe page
// (the opt-out is in Postgres), and an expired link's page.
func TestCustomerPagesAreAccessible(t *testing.T) {
	base, signer, rem, st := customerPages(t)
	ctx := context.Background()
	addIncident(t, st, recovery.Incident{ID: "inc-c1", OrderID: "2001", ShipmentID: "s-1", Kind: recovery.KindLost,
		Status: recovery.IncidentAwaitingChoice, WorkflowID: "incident/2001/s-1/lost"},
		&recovery.Offer{Remedy: recovery.RemedyReship, Currency: "EUR", Status: recovery.OfferOffered,
			Options: []recovery.Offer{{Remedy: recovery.RemedyReship, Currency: "EUR"},
				{Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR"}}})
	addIncident(t, st, recovery.Incident{ID: "inc-c2", OrderID: "2002", ShipmentID: "s-1", Kind: recovery.KindMisrouted,
		Status: recovery.IncidentOpen, WorkflowID: "incident/2002/s-1/misrouted"},
		&recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1350, Currency: "EUR", Status: recovery.OfferApplied, Code: "SORRY-ABCD"})
	link := func(kind, subject string, ttl time.Duration) string {
		return base + map[string]string{links.KindChoice: "/r/", links.KindUnsubscribe: "/u/"}[kind] +
			signer.Token(kind, subject, time.Now().Add(ttl))
	}
	b := newTab(t)

	b.do("open the choice page", chromedp.Navigate(link(links.KindChoice, "inc-c1", time.Hour)),
		chromedp.WaitVisible(chromedp.CSS(`input[value="refund"]`)))
	Accessible(t, b.ctx, "choice")
	if status := b.submit("choose the refund", chromedp.Click(chromedp.CSS(`input[value="refund"]`)),
		chromedp.Click(chromedp.CSS(`form button[type="submit"]`))); status != http.StatusOK {
		t.Errorf("choosing answered %d, want 200", status)
	}
	Accessible(t, b.ctx, "choice made")
	if acts := rem.taken(); len(acts) != 1 || acts[0].Action != recovery.ActionChoose || acts[0].Remedy != recovery.RemedyRefund {
		t.Errorf("actions %+v, want the customer's choice of the refund", acts)
	}

	b.do("open the survey", chromedp.Navigate(link(links.KindChoice, "inc-c2", time.Hour)),
		chromedp.WaitVisible(chromedp.CSS(`button[value="wow"]`)))
	Accessible(t, b.ctx, "survey")
	if status := b.submit("answer WOW", chromedp.Click(chromedp.CSS(`button[value="wow"]`))); status != http.StatusOK {
		t.Errorf("answering the survey answered %d, want 200", status)
	}
	Accessible(t, b.ctx, "survey answered")
	if sv := incident(t, st, "inc-c2").Survey; sv == nil || sv.Answer != "wow" || sv.Via != "page" {
		t.Errorf("the survey in Postgres is %+v, want wow, via the page", sv)
	}

	b.do("open the unsubscribe page", chromedp.Navigate(link(links.KindUnsubscribe, "ada@example.com", time.Hour)),
		chromedp.WaitVisible(chromedp.CSS("form button")))
	if out, err := st.OptedOut(ctx, recovery.ChannelEmail, "ada@example.com"); err != nil || out {
		t.Fatalf("opening the unsubscribe page opted ada out (%v, %v): only its button should", out, err)
	}
	Accessible(t, b.ctx, "unsubscribe")
	if status := b.submit("unsubscribe", chromedp.Click(chromedp.CSS("form button"))); status != http.StatusOK {
		t.Errorf("unsubscribing answered %d, want 200", status)
	}
	Accessible(t, b.ctx, "unsubscribed")
	if out, err := st.OptedOut(ctx, recovery.ChannelEmail, "ada@example.com"); err != nil || !out {
		t.Errorf("after the button, ada is opted out: %v (%v), want true", out, err)
	}

	b.do("open an expired link", chromedp.Navigate(link(links.KindChoice, "inc-c1", -time.Minute)),
		chromedp.WaitVisible(chromedp.CSS(`[role="alert"]`)))
	Accessible(t, b.ctx, "expired link")
}

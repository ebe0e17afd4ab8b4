package browsertest

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// remedies records what the console asks the incident's workflow to do.
type remedies struct {
	mu   sync.Mutex
	acts []recovery.RemedyAction
}

func (r *remedies) Act(_ context.Context, _ string, a recovery.RemedyAction) (recovery.RemedyView, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.acts = append(r.acts, a)
	return recovery.RemedyView{}, nil
}

func (r *remedies) taken() []recovery.RemedyAction {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recovery.RemedyAction(nil), r.acts...)
}

const password = "a long passphrase for the browser"

// console serves the console on a real store with one approver, mara
// (EUR 100), and one incident awaiting approval; requests for a person
// are marked handled in the store.
func console_(t *testing.T) (base string, rem *remedies, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	st = storetest.Open(t)
	hash, err := console.HashPassword(password, console.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutConsoleUser(ctx, store.ConsoleUser{Name: "mara", PasswordHash: hash, Role: "approver",
		Limits: map[string]int64{"EUR": 100, "default": 0}}); err != nil {
		t.Fatal(err)
	}
	inc := recovery.Incident{ID: "inc-b1", OrderID: "1001", ShipmentID: "s-1", Kind: recovery.KindLost,
		Status: recovery.IncidentAwaitingApproval, WorkflowID: "incident/1001/s-1/lost", DetectedAt: time.Now().Add(-time.Hour).UTC()}
	if err := st.UpsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	if err := st.SaveOffer(ctx, inc.ID, recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 4500, Currency: "EUR",
		Status: recovery.OfferPending}); err != nil {
		t.Fatal(err)
	}
	rem = &remedies{}
	s := (&console.Server{Remedies: rem, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		RefreshEvery: 300 * time.Millisecond}).WithStore(st) // Secure cookies: 127.0.0.1 is a secure context
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, rem, st
}

// TestApproveInTheBrowser signs in (the queue sends a stranger to the
// login page), finds the incident in the queue, opens it, and approves it
// with a note: the workflow is asked by mara, within her EUR limit, and
// the browser is back on the queue.
func TestApproveInTheBrowser(t *testing.T) {
	base, rem, _ := console_(t)
	ctx := New(t, 1280, 900)
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	step("open the queue", chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS("#password")))
	if url, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(url, "/console/login") {
		t.Errorf("a stranger at the queue was at %s, want the login page", url)
	}
	Accessible(t, ctx, "login")
	step("sign in", chromedp.SendKeys(chromedp.CSS("#name"), "mara"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("table")))
	if queue := text("main"); !strings.Contains(queue, "1001") || !strings.Contains(queue, "45.00") {
		t.Errorf("the queue shows %q, want order 1001 and its 45.00 EUR offer", queue)
	}
	Accessible(t, ctx, "queue")
	step("open the incident", chromedp.Click(chromedp.CSS(`a[href="/console/incidents/inc-b1"]`)), chromedp.WaitVisible(chromedp.CSS("#note")))
	if page := text("main"); !strings.Contains(page, "lost") || !strings.Contains(page, "Approve the offer") {
		t.Errorf("the incident page shows %q", page)
	}
	Accessible(t, ctx, "incident")
	step("approve", chromedp.SendKeys(chromedp.CSS("#note"), "reship is on its way"),
		chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)), chromedp.WaitVisible(chromedp.CSS("caption")))
	for _, page := range []string{"search", "search?kind=lost", "policy"} {
		step("open "+page, chromedp.Navigate(base+"/console/"+page), chromedp.WaitVisible(chromedp.CSS("main h1")))
		Accessible(t, ctx, page)
	}
	acts := rem.taken()
	if len(acts) != 1 || acts[0].Action != recovery.ActionApprove || acts[0].By.Name != "console:mara" ||
		acts[0].By.LimitMajor != 100 || acts[0].Note != "reship is on its way" {
		t.Fatalf("actions %+v, want mara's approval with her note", acts)
	}
}

// TestKeyboardAndPhoneWidth signs in with the keyboard alone (tab between
// the fields, Enter to submit), at 375 px wide: nothing is wider than the
// screen, and the focused field shows a visible outline.
func TestKeyboardAndPhoneWidth(t *testing.T) {
	base, _, _ := console_(t)
	ctx := New(t, 375, 800)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, chromedp.EmulateViewport(375, 800), chromedp.Navigate(base+"/console/login"),
		chromedp.WaitVisible(chromedp.CSS("#name")), chromedp.Focus(chromedp.CSS("#name")), chromedp.KeyEvent("mara"),
		chromedp.KeyEvent(kb.Tab))
	if err != nil {
		t.Fatal(err)
	}
	focus, err := chromedp.Run(sctx, chromedp.Evaluate[string](`getComputedStyle(document.activeElement).outlineStyle + " " + document.activeElement.id`))
	if err != nil {
		t.Fatal(err)
	}
	if focus != "solid password" {
		t.Errorf("after Tab the focus is %q, want the password field with a visible outline", focus)
	}
	if err := chromedp.Do(sctx, chromedp.KeyEvent(password), chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS("table")), Loaded()); err != nil {
		t.Fatalf("sign in with the keyboard: %v", err)
	}
	overflow, err := chromedp.Run(sctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`))
	if err != nil {
		t.Fatal(err)
	}
	if overflow {
		t.Error("the queue is wider than a 375 px screen")
	}
}

// signIn signs mara in and waits for the queue.
func signIn(base string) chromedp.Action[chromedp.Void] {
	return chromedp.Steps(chromedp.Navigate(base+"/console/login"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "mara"), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("table")))
}

// TestQueueRefreshesWhileOpen: an offer that starts waiting while the
// queue is open shows in its tab's count, and the page says the list
// changed (the page's own script; no reload).
func TestQueueRefreshesWhileOpen(t *testing.T) {
	base, _, st := console_(t)
	ctx := New(t, 1280, 900)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, signIn(base))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("#count-approval"))); n != "1" {
		t.Fatalf("count %q, want 1", n)
	}
	inc := recovery.Incident{ID: "inc-b2", OrderID: "1002", ShipmentID: "s-1", Kind: recovery.KindLate,
		Status: recovery.IncidentAwaitingApproval, WorkflowID: "incident/1002/s-1/late", DetectedAt: time.Now().UTC()}
	if err := st.UpsertIncident(context.Background(), inc); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(sctx, chromedp.WaitVisible(chromedp.CSS("#stale"))); err != nil {
		t.Fatalf("the page never said the list changed: %v", err)
	}
	if n, _ := chromedp.Run(sctx, chromedp.Text(chromedp.CSS("#count-approval"))); n != "2" {
		t.Fatalf("count %q after a new offer, want 2", n)
	}
	Accessible(t, ctx, "refreshed queue")
}

// TestSavedViews saves the queue filtered to lost parcels as a view of
// mara's own; the view's link in the navigation brings the filter back.
func TestSavedViews(t *testing.T) {
	base, _, _ := console_(t)
	ctx := New(t, 1280, 900)
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	err := chromedp.Do(sctx, signIn(base),
		chromedp.Navigate(base+"/console/?tab=approval&kind=late"), chromedp.WaitVisible(chromedp.CSS("#view-name")),
		chromedp.SendKeys(chromedp.CSS("#view-name"), "Late ones"), chromedp.Submit(chromedp.CSS("#view-name")),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Your saved views"] a`)),
		chromedp.Navigate(base+"/console/"), chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Your saved views"] a`)),
		chromedp.Click(chromedp.CSS(`nav[aria-label="Your saved views"] a`)), chromedp.WaitVisible(chromedp.CSS("#kind")))
	if err != nil {
		t.Fatal(err)
	}
	url, _ := chromedp.Run(sctx, chromedp.Location())
	kind, _ := chromedp.Run(sctx, chromedp.Value(chromedp.CSS("#kind")))
	if !strings.Contains(url, "kind=late") || kind != "late" {
		t.Fatalf("the saved view opened %s with kind %q, want the late filter", url, kind)
	}
	Accessible(t, ctx, "queue with saved views")
}

package main

import (
	"context"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recoveryhq/recovery/internal/console/browsertest"
)

// TestConsoleInDev is the console's story in `recovery dev`, in a real
// browser: a misrouted order worth 500.00 EUR gets an offer of 125.00 EUR
// of store credit that the policy leaves to a person. dev-ops is told by
// email (captured, on /dev/messages) with a link to the incident's page;
// /console answers a stranger with the login form; signed in as dev-ops,
// two clicks from the queue (the incident, then Approve) approve it. The
// API then shows the offer approved by console:dev-ops and carried out,
// and the apology went to the customer. axe-core checks the login, queue
// and incident pages.
//
// Time budget: about 10 seconds, half of it starting the dev stack.
func TestConsoleInDev(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() { // as root the cluster lives outside the data dir
		if target, err := os.Readlink(filepath.Join(dataDir, "postgres", "cluster")); err == nil {
			os.RemoveAll(target)
		}
	})
	env, base := devEnv(t, dataDir)
	env = append(env, "RECOVERY_POLICY_FILE=../../testdata/policies/e2e.yaml", "RECOVERY_NOTIFY_EVERY=1s")
	startDev(t, env, base)

	orderID := fmt.Sprintf("console-%d", time.Now().UnixNano())
	const customer = "console-customer@example.com"
	push(t, base, misroute(orderID, customer, "EUR", 50000))
	inc := waitFor(t, base, orderID, "awaiting approval", 30*time.Second, func(i remedyIncident) bool {
		return i.Status == "awaiting_approval"
	})
	if inc.Offer == nil || inc.Offer.Status != "pending" || inc.Offer.ValueMinor != 12500 || len(inc.Contacts) != 0 {
		t.Fatalf("before approval the incident is %+v, want a pending offer of 12500 minor and no contact yet", inc)
	}

	// The email comes first: approving before it went would leave nothing
	// to tell, and the notifier would rightly send nothing.
	link := base + "/console/incidents/" + inc.ID
	notice := waitCaptured(t, base, DevConsoleEmail, 20*time.Second, func(m string) bool { return strings.Contains(m, link) })
	if !strings.Contains(notice, "Waiting for your approval") || !strings.Contains(notice, orderID) {
		t.Errorf("the email to dev-ops is %q, want that order %s waits for approval", notice, orderID)
	}

	ctx := browsertest.New(t, 1280, 900)
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	location := func() string {
		t.Helper()
		url, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatalf("read the location: %v", err)
		}
		return url
	}
	step("open /console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.CSS("#password")))
	if url := location(); url != base+"/console/login" {
		t.Errorf("a stranger at /console is at %s, want the login form at %s/console/login", url, base)
	}
	browsertest.Accessible(t, ctx, "login")
	step("sign in as dev-ops", chromedp.SendKeys(chromedp.CSS("#name"), DevConsoleUser),
		chromedp.SendKeys(chromedp.CSS("#password"), DevConsolePassword), chromedp.Submit(chromedp.CSS("#password")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/console/incidents/`+inc.ID+`"]`)))
	browsertest.Accessible(t, ctx, "queue")

	step("click 1: open the incident from the queue", chromedp.Click(chromedp.CSS(`a[href="/console/incidents/`+inc.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/approve"] button`)))
	if page, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main"))); err != nil || !strings.Contains(page, "125.00") {
		t.Errorf("the incident page shows %q (%v), want its offer of 125.00 EUR", page, err)
	}
	browsertest.Accessible(t, ctx, "incident")
	step("click 2: approve", chromedp.Click(chromedp.CSS(`form[action$="/approve"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#count-approval")))
	if url := location(); url != base+"/console/" {
		t.Errorf("after approving the browser is at %s, want the queue", url)
	}

	done := waitFor(t, base, orderID, "the offer carried out and the customer told", 30*time.Second, func(i remedyIncident) bool {
		return i.Offer != nil && i.Offer.Status == "applied" && len(i.Contacts) == 1
	})
	if done.Offer.ApprovedBy != "console:"+DevConsoleUser || len(done.Audit) != 1 || done.Audit[0].Actor != "console:"+DevConsoleUser ||
		done.Audit[0].Action != "approve" {
		t.Errorf("offer %+v, audit %+v, want one approval by console:%s", done.Offer, done.Audit, DevConsoleUser)
	}
	if c := done.Contacts[0]; c.Channel != "email" || c.Status != "sent" {
		t.Errorf("the customer's contact is %+v, want a sent email", c)
	}
	// The contact the API shows is the message the capture adapter got.
	subject := done.Contacts[0].Subject
	waitCaptured(t, base, customer, 10*time.Second, func(m string) bool { return subject != "" && strings.Contains(m, subject) })
}

var tags = regexp.MustCompile(`<[^>]*>`)

// waitCaptured polls the dev page of captured messages until one to the
// address satisfies ok, and returns it as text (tags removed).
func waitCaptured(t *testing.T, base, to string, limit time.Duration, ok func(string) bool) string {
	t.Helper()
	var seen []string
	for deadline := time.Now().Add(limit); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		seen = seen[:0]
		for _, article := range strings.Split(getPage(t, base+"/dev/messages"), "<article")[1:] {
			if !strings.Contains(article, " to "+to+" ") {
				continue
			}
			text := html.UnescapeString(tags.ReplaceAllString("<article"+article, ""))
			if ok(text) {
				return text
			}
			seen = append(seen, text)
		}
	}
	t.Fatalf("no captured message to %s as wanted within %s; those to it: %q", to, limit, seen)
	return ""
}

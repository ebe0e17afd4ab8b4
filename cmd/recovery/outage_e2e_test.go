package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/faults"
)

// TestServeWithTemporalUnreachable starts `recovery serve` and `worker`
// while Temporal cannot be reached (a proxy that refuses connections):
// serve starts, /readyz is 200, events are accepted with 202 and kept.
// When Temporal comes back, every event reaches its workflow and the
// misroute among them is contacted.
func TestServeWithTemporalUnreachable(t *testing.T) {
	tp := stacktest.Temporal(t)
	proxy, err := faults.NewProxy(tp.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Down()
	prod := newProduction(t, proxy.Addr())
	prod.start(t) // waits for /readyz 200 while Temporal is away
	base := prod.base

	code, body := as(t, e2eKey, base, "GET", "/readyz", nil)
	if code != 200 || !strings.Contains(body, "waiting for Temporal") {
		t.Fatalf("readyz while Temporal is away: %d %s", code, body)
	}
	orderID := fmt.Sprintf("outage-%d", time.Now().UnixNano())
	story := demoStory(orderID, time.Now())
	if code := api(t, base, "POST", "/v1/events", map[string]any{"events": story}, nil); code != 202 {
		t.Fatalf("push while Temporal is away: %d", code)
	}
	// Committed before the 202, kept while Temporal is away.
	if code, body := as(t, e2eKey, base, "GET", "/readyz", nil); code != 200 || !strings.Contains(body, `"pending":`+fmt.Sprint(len(story))) {
		t.Fatalf("readyz with the story waiting: %d %s", code, body)
	}

	proxy.Up()
	inc := waitIncident(t, base, orderID, "misrouted", 90*time.Second)
	if inc.Contacts[0].Channel != "email" {
		t.Fatalf("incident %+v", inc)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := as(t, e2eKey, base, "GET", "/readyz", nil)
		if code == 200 && strings.Contains(body, `"relay":"ok"`) && strings.Contains(body, `"pending":0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after Temporal returned: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestChoiceKeptThroughAnOutage: a customer chooses on the choice page
// while Temporal cannot be reached. The page thanks them, the choice is
// kept in Postgres, and when Temporal returns it reaches the incident's
// workflow: the chosen remedy is carried out.
func TestChoiceKeptThroughAnOutage(t *testing.T) {
	tp := stacktest.Temporal(t)
	proxy, err := faults.NewProxy(tp.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	prod := newProduction(t, proxy.Addr(), "RECOVERY_POLICY_FILE=../../testdata/policies/e2e.yaml")
	prod.start(t)
	base, sg, dbURL := prod.base, prod.sg, prod.dbURL
	orderID := fmt.Sprintf("page-%d", time.Now().UnixNano())
	push(t, base, misroute(orderID, orderID+"@example.com", "EUR", 8999))
	waitFor(t, base, orderID, "awaiting the customer's choice", 60*time.Second, func(i remedyIncident) bool {
		return i.Status == "awaiting_choice" && len(i.Contacts) == 1
	})
	var link string
	for _, r := range sg.Requests() {
		if m := choiceLink.FindString(fmt.Sprint(r.JSON["content"])); m != "" {
			link = m
		}
	}
	if link == "" {
		t.Fatalf("the apology sent to SendGrid has no choice page link: %v", sg.Requests())
	}
	page := getPage(t, link)
	if !strings.Contains(page, `value="store_credit"`) {
		t.Fatalf("the choice page offers no store credit:\n%s", page)
	}

	proxy.Down()
	resp, err := http.PostForm(link, url.Values{"remedy": {"store_credit"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("choosing while Temporal is away: %d\n%s", resp.StatusCode, body)
	}
	conn, err := pgx.Connect(context.Background(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var kept int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM workflow_mailbox WHERE name = 'choose' AND delivered_at IS NULL`).Scan(&kept) //nolint:errcheck
	if kept != 1 {
		t.Fatalf("%d choices kept, want 1", kept)
	}

	proxy.Up()
	inc := waitFor(t, base, orderID, "the chosen store credit applied", 60*time.Second, func(i remedyIncident) bool {
		return i.Offer != nil && i.Offer.Status == "applied"
	})
	if inc.Offer.Remedy != "store_credit" {
		t.Fatalf("offer %+v, want the store credit the customer chose during the outage", inc.Offer)
	}
}

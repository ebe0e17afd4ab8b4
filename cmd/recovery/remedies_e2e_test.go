package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
)

// receiver is the commerce platform's end of the outbound webhooks: it
// verifies each signature, keeps what it accepted, and refuses substitutes
// for orders whose id starts with "fail-".
type receiver struct {
	secret string
	mu     sync.Mutex
	got    map[string]receivedHook // by webhook id: repeats are dropped
	tries  map[string]int
	forged int
}

type receivedHook struct {
	Type string
	Data map[string]any
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, err := ingest.VerifyStandardWebhook(r.Header, body, []string{rc.secret}, time.Now()); err != nil {
		rc.forged++
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	var h struct {
		ID   string         `json:"id"`
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	json.Unmarshal(body, &h) //nolint:errcheck
	rc.tries[h.Type+"/"+fmt.Sprint(h.Data["order_id"])]++
	if h.Type == "remedy.substitute" && strings.HasPrefix(fmt.Sprint(h.Data["order_id"]), "fail-") {
		http.Error(w, "warehouse offline", http.StatusServiceUnavailable)
		return
	}
	if r.Header.Get("webhook-id") != h.ID {
		http.Error(w, "webhook-id differs from the body's id", http.StatusBadRequest)
		return
	}
	rc.got[h.ID] = receivedHook{Type: h.Type, Data: h.Data}
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) find(typ, orderID string) (receivedHook, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for _, h := range rc.got {
		if h.Type == typ && h.Data["order_id"] == orderID {
			return h, true
		}
	}
	return receivedHook{}, false
}

// misroute is the demo's misroute for another order, customer, currency
// and total.
func misroute(orderID, email, currency string, total int64) []json.RawMessage {
	story := demoStory(orderID, time.Now())
	var ev map[string]any
	json.Unmarshal(story[0], &ev) //nolint:errcheck
	data := ev["data"].(map[string]any)
	data["currency"], data["total_minor"] = currency, total
	data["customer"] = map[string]any{"email": email, "name": "Test Customer", "locale": "en-GB"}
	story[0], _ = json.Marshal(ev)
	return story
}

// remedyIncident is the part of an incident the remedy stories check.
type remedyIncident struct {
	ID       string `json:"id"`
	Status   string `json:"status"`
	Decision struct {
		Rule          string   `json:"rule"`
		NeedsApproval bool     `json:"needs_approval"`
		Guards        []string `json:"guards"`
	} `json:"decision"`
	Offer *struct {
		Remedy        string `json:"remedy"`
		ValueMinor    int64  `json:"value_minor"`
		Status        string `json:"status"`
		Code          string `json:"code"`
		ApprovedBy    string `json:"approved_by"`
		SubstituteSKU string `json:"substitute_sku"`
		Note          string `json:"note"`
		Options       []struct {
			Remedy        string `json:"remedy"`
			SubstituteSKU string `json:"substitute_sku"`
		} `json:"options"`
	} `json:"offer"`
	Contacts []struct {
		Step                           int
		Channel, Subject, Body, Status string
	} `json:"contacts"`
	Audit []struct {
		Actor, Action, Note string
	} `json:"audit"`
	Survey *struct {
		Answer, Via string
	} `json:"survey"`
}

// waitFor polls the order's incident until ok holds.
func waitFor(t *testing.T, base, orderID, what string, limit time.Duration, ok func(remedyIncident) bool) remedyIncident {
	t.Helper()
	deadline := time.Now().Add(limit)
	var last remedyIncident
	for time.Now().Before(deadline) {
		var list struct {
			Incidents []struct{ ID string } `json:"incidents"`
		}
		api(t, base, "GET", "/v1/incidents?order_id="+orderID, nil, &list)
		if len(list.Incidents) > 0 {
			api(t, base, "GET", "/v1/incidents/"+list.Incidents[0].ID, nil, &last)
			if ok(last) {
				return last
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("order %s: %s not reached within %s; last %+v", orderID, what, limit, last)
	return last
}

// as calls the API with another key.
func as(t *testing.T, key, base, method, path string, body any) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	return call(t, method, base+path, key, "", string(raw))
}

// asKeyed posts with an Idempotency-Key.
func asKeyed(t *testing.T, key, idem, base, path string, body any) (int, string) {
	t.Helper()
	raw, _ := json.Marshal(body)
	return call(t, "POST", base+path, key, idem, string(raw))
}

// call sends body exactly as given, with a key and, when set, an
// Idempotency-Key, and returns the status and the answer.
func call(t *testing.T, method, url, key, idem, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func push(t *testing.T, base string, evs any) {
	t.Helper()
	if code := api(t, base, "POST", "/v1/events", map[string]any{"events": evs}, nil); code != 202 {
		t.Fatalf("push answered %d", code)
	}
}

// TestRemediesEndToEnd drives every remedy story of issue 4 through HTTP
// and the real worker, with a signed-webhook receiver for the commerce
// platform.
func TestRemediesEndToEnd(t *testing.T) {
	rc := &receiver{secret: "whsec_" + "ZTJlLW91dGJvdW5kLXNlY3JldC0xMjM0NTY=", got: map[string]receivedHook{}, tries: map[string]int{}}
	platform := httptest.NewServer(rc)
	defer platform.Close()
	dataDir := filepath.Join(t.TempDir(), "state")
	env, base := devEnv(t, dataDir)
	env = append(env, "RECOVERY_POLICY_FILE=../../testdata/policies/e2e.yaml",
		"RECOVERY_OUTBOUND_URL="+platform.URL, "RECOVERY_OUTBOUND_SECRET="+rc.secret,
		"RECOVERY_APPROVERS=alice:100:alice-key-1,boss:-1:boss-key-12", "RECOVERY_DAILY_BUDGET=GBP:1000",
		"RECOVERY_WEBHOOK_ATTEMPTS=2", "RECOVERY_WEBHOOK_RETRY=100ms")
	startDev(t, env, base)
	run := time.Now().UnixNano()
	id := func(prefix string) string { return fmt.Sprintf("%s-%d", prefix, run) }

	// Every story goes in first; they run side by side.
	push(t, base, misroute(id("lo"), "lo@example.com", "EUR", 8999))
	push(t, base, misroute(id("hi"), "hi@example.com", "EUR", 50000))
	push(t, base, misroute(id("dl"), "dl@example.com", "EUR", 8999))
	push(t, base, misroute(id("fail"), "fail@example.com", "EUR", 8999))
	// The repeat claimant's first two incidents, one after the other: the
	// first must be decided before the second exists (the third follows
	// in its story, once these two are carried out).
	push(t, base, misroute(id("rc0"), "again@example.com", "EUR", 8999))
	applied := func(i remedyIncident) bool { return i.Offer != nil && i.Offer.Status == "applied" }
	waitFor(t, base, id("rc0"), "applied", 30*time.Second, applied)
	push(t, base, misroute(id("rc1"), "again@example.com", "EUR", 8999))
	push(t, base, misroute(id("gbp1"), "gbp1@example.com", "GBP", 5000))
	push(t, base, misroute(id("page"), "page@example.com", "EUR", 8999))
	sub := id("sub")
	push(t, base, []map[string]any{
		{"id": sub + "-order", "source": "e2e", "type": "order.created", "time": time.Now().UTC().Format(time.RFC3339),
			"data": map[string]any{"order_id": sub, "currency": "EUR", "total_minor": 8999,
				"customer":         map[string]any{"email": "sub@example.com", "locale": "en-GB"},
				"shipping_address": map[string]any{"postal_code": "10115", "country": "DE"},
				"lines":            []any{map[string]any{"sku": "LAMP-01", "quantity": 1, "unit_price_minor": 8999}}}},
		{"id": sub + "-inv", "source": "e2e", "type": "inventory.changed", "time": time.Now().UTC().Format(time.RFC3339),
			"data": map[string]any{"order_id": sub, "sku": "LAMP-01", "available": 0}},
	})

	t.Run("low value discount is approved by the policy", func(t *testing.T) {
		inc := waitFor(t, base, id("lo"), "an applied discount", 30*time.Second, func(i remedyIncident) bool {
			return i.Offer != nil && i.Offer.Status == "applied" && len(i.Contacts) == 1
		})
		if inc.Offer.Remedy != "discount" || inc.Offer.ValueMinor != 1350 || !strings.Contains(inc.Contacts[0].Body, inc.Offer.Code) {
			t.Fatalf("offer %+v, apology %q", inc.Offer, inc.Contacts[0].Body)
		}
		if h, ok := rc.find("remedy.discount", id("lo")); !ok || h.Data["code"] != inc.Offer.Code {
			t.Fatalf("the platform got no discount webhook with the code: %+v", h)
		}
		if code, body := as(t, e2eKey, base, "POST", "/v1/codes/"+inc.Offer.Code+"/redeem", map[string]string{"order_id": "next-1"}); code != 200 {
			t.Fatalf("first redemption: %d %s", code, body)
		}
		if code, body := as(t, e2eKey, base, "POST", "/v1/codes/"+inc.Offer.Code+"/redeem", map[string]string{"order_id": "next-2"}); code != 409 ||
			!strings.Contains(body, "redeemed") {
			t.Fatalf("second redemption: %d %s, want 409", code, body)
		}
	})

	t.Run("high value waits for an approver within their limit", func(t *testing.T) {
		inc := waitFor(t, base, id("hi"), "awaiting approval", 30*time.Second, func(i remedyIncident) bool {
			return i.Status == "awaiting_approval"
		})
		if len(inc.Contacts) != 0 || inc.Offer == nil || inc.Offer.Status != "pending" || inc.Offer.ValueMinor != 12500 {
			t.Fatalf("before approval: %+v", inc)
		}
		if code, body := as(t, e2eKey, base, "POST", "/v1/incidents/"+inc.ID+"/approve", nil); code != 403 {
			t.Fatalf("approve with an API key: %d %s, want 403", code, body)
		}
		if code, body := as(t, "alice-key-1", base, "POST", "/v1/incidents/"+inc.ID+"/approve", nil); code != 403 ||
			!strings.Contains(body, "approval limit") {
			t.Fatalf("alice (limit 100 EUR) approving 125 EUR: %d %s, want 403", code, body)
		}
		first, firstBody := asKeyed(t, "boss-key-12", "approve-hi-1", base, "/v1/incidents/"+inc.ID+"/approve", map[string]string{"note": "big order"})
		if first != 200 {
			t.Fatalf("boss approving: %d %s", first, firstBody)
		}
		// The same request again (a client retrying after a timeout) is
		// the same update: the first answer, not a 409.
		if code, body := asKeyed(t, "boss-key-12", "approve-hi-1", base, "/v1/incidents/"+inc.ID+"/approve", map[string]string{"note": "big order"}); code != 200 || body != firstBody {
			t.Fatalf("the retried approval: %d %s, want the first answer %s", code, body, firstBody)
		}
		inc = waitFor(t, base, id("hi"), "contacted after approval", 30*time.Second, func(i remedyIncident) bool {
			return len(i.Contacts) == 1 && i.Offer.Status == "applied"
		})
		if inc.Offer.ApprovedBy != "boss" || len(inc.Audit) != 1 || inc.Audit[0].Actor != "boss" || inc.Audit[0].Note != "big order" {
			t.Fatalf("offer %+v, audit %+v", inc.Offer, inc.Audit)
		}
		if code, _ := as(t, "boss-key-12", base, "POST", "/v1/incidents/"+inc.ID+"/approve", nil); code != 409 {
			t.Fatalf("approving twice: %d, want 409", code)
		}
	})

	t.Run("deadline escalates, then the default applies", func(t *testing.T) {
		inc := waitFor(t, base, id("dl"), "the default after the deadline", 60*time.Second, func(i remedyIncident) bool {
			return i.Offer != nil && i.Offer.Status == "applied" && len(i.Contacts) == 1
		})
		if inc.Offer.Remedy != "reship" || inc.Offer.ApprovedBy != "policy:deadline" || len(inc.Audit) != 2 ||
			inc.Audit[0].Action != "escalate" || inc.Audit[1].Action != "deadline" {
			t.Fatalf("offer %+v, audit %+v", inc.Offer, inc.Audit)
		}
		if _, ok := rc.find("approval.escalated", id("dl")); !ok {
			t.Fatal("ops got no approval.escalated webhook")
		}
		if h, ok := rc.find("remedy.reship", id("dl")); !ok || h.Data["expedited"] != true {
			t.Fatalf("reship webhook = %+v", h)
		}
	})

	t.Run("the customer chooses a reserved substitute", func(t *testing.T) {
		inc := waitFor(t, base, sub, "awaiting the customer's choice", 30*time.Second, func(i remedyIncident) bool {
			return i.Status == "awaiting_choice" && len(i.Contacts) == 1
		})
		if len(inc.Offer.Options) != 2 || inc.Offer.Options[1].SubstituteSKU != "LAMP-02" ||
			!strings.Contains(inc.Contacts[0].Body, "Desk lamp, brass") {
			t.Fatalf("options %+v, apology %q", inc.Offer.Options, inc.Contacts[0].Body)
		}
		if code, body := as(t, e2eKey, base, "POST", "/v1/incidents/"+inc.ID+"/choice", map[string]string{"remedy": "reship"}); code != 422 {
			t.Fatalf("choosing what was not offered: %d %s", code, body)
		}
		if code, body := as(t, e2eKey, base, "POST", "/v1/incidents/"+inc.ID+"/choice", map[string]string{"remedy": "substitute"}); code != 200 {
			t.Fatalf("choice: %d %s", code, body)
		}
		inc = waitFor(t, base, sub, "the substitute applied and confirmed", 30*time.Second, func(i remedyIncident) bool {
			return i.Offer.Status == "applied" && len(i.Contacts) == 2
		})
		if inc.Offer.SubstituteSKU != "LAMP-02" {
			t.Fatalf("offer = %+v", inc.Offer)
		}
		h, ok := rc.find("remedy.substitute", sub)
		if !ok || h.Data["substitute_sku"] != "LAMP-02" {
			t.Fatalf("replacement webhook = %+v", h)
		}
	})

	t.Run("a failing webhook is undone and the next remedy taken", func(t *testing.T) {
		inc := waitFor(t, base, id("fail"), "the fallback applied", 60*time.Second, func(i remedyIncident) bool {
			return i.Offer != nil && i.Offer.Status == "applied"
		})
		if inc.Offer.Remedy != "refund" || !strings.Contains(inc.Offer.Note, "instead of substitute") {
			t.Fatalf("offer = %+v, want the refund instead of the substitute", inc.Offer)
		}
		rc.mu.Lock()
		tries := rc.tries["remedy.substitute/"+id("fail")]
		rc.mu.Unlock()
		if tries != 2 {
			t.Fatalf("the substitute webhook was tried %d times, want RECOVERY_WEBHOOK_ATTEMPTS=2", tries)
		}
		if _, ok := rc.find("remedy.refund", id("fail")); !ok {
			t.Fatal("the platform got no refund webhook")
		}
	})

	t.Run("a repeat claimant goes to review", func(t *testing.T) {
		second := waitFor(t, base, id("rc1"), "applied", 30*time.Second, applied)
		if second.Decision.Rule != "everything else" {
			t.Fatalf("second incident's rule = %s", second.Decision.Rule)
		}
		push(t, base, misroute(id("rc2"), "again@example.com", "EUR", 8999))
		inc := waitFor(t, base, id("rc2"), "awaiting approval", 30*time.Second, func(i remedyIncident) bool {
			return i.Status == "awaiting_approval"
		})
		if inc.Decision.Rule != "repeat claimant" || len(inc.Contacts) != 0 {
			t.Fatalf("third incident of the same customer: %+v", inc)
		}
		first := waitFor(t, base, id("rc0"), "applied", 30*time.Second, applied)
		if first.Decision.Rule != "everything else" {
			t.Fatalf("first incident's rule = %s", first.Decision.Rule)
		}
	})

	t.Run("the daily budget sends the rest to a person", func(t *testing.T) {
		waitFor(t, base, id("gbp1"), "applied", 30*time.Second, applied)
		push(t, base, misroute(id("gbp2"), "gbp2@example.com", "GBP", 5000))
		inc := waitFor(t, base, id("gbp2"), "awaiting approval", 30*time.Second, func(i remedyIncident) bool {
			return i.Status == "awaiting_approval"
		})
		if len(inc.Decision.Guards) != 1 || !strings.Contains(inc.Decision.Guards[0], "daily budget: 7.50 GBP of 10.00 GBP") {
			t.Fatalf("guards = %q", inc.Decision.Guards)
		}
	})

	t.Run("the choice page link in the captured email completes the incident", func(t *testing.T) {
		waitFor(t, base, id("page"), "awaiting the customer's choice", 30*time.Second, func(i remedyIncident) bool {
			return i.Status == "awaiting_choice" && len(i.Contacts) == 1
		})
		link := capturedLink(t, base, "page@example.com")
		page := getPage(t, link)
		if !strings.Contains(page, `value="store_credit"`) || !strings.Contains(page, `value="discount"`) {
			t.Fatalf("choice page without the options:\n%s", page)
		}
		resp, err := http.PostForm(link, url.Values{"remedy": {"store_credit"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("choosing on the page: %d", resp.StatusCode)
		}
		inc := waitFor(t, base, id("page"), "the chosen remedy applied and confirmed", 30*time.Second, func(i remedyIncident) bool {
			return i.Offer != nil && i.Offer.Status == "applied" && len(i.Contacts) == 2
		})
		if inc.Offer.Remedy != "store_credit" || inc.Offer.ValueMinor != 1800 || !strings.Contains(inc.Contacts[1].Subject, "Your choice") {
			t.Fatalf("after the choice: offer %+v, contacts %+v", inc.Offer, inc.Contacts)
		}
		if _, ok := rc.find("remedy.store_credit", id("page")); !ok {
			t.Fatal("the platform got no store credit webhook")
		}
		resp, err = http.PostForm(link+"/survey", url.Values{"answer": {"wow"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		inc = waitFor(t, base, id("page"), "the survey answer", 10*time.Second, func(i remedyIncident) bool { return i.Survey != nil })
		if resp.StatusCode != 200 || inc.Survey.Answer != "wow" || inc.Survey.Via != "page" {
			t.Fatalf("survey: %d %+v", resp.StatusCode, inc.Survey)
		}
	})

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if rc.forged != 0 {
		t.Fatalf("%d webhooks failed signature verification", rc.forged)
	}
}

var choiceLink = regexp.MustCompile(`https?://[^\s"<>]+/r/[A-Za-z0-9._-]+`)

// capturedLink finds the choice page link in the latest captured message
// to an address, as the dev page lists them.
func capturedLink(t *testing.T, base, to string) string {
	t.Helper()
	page := getPage(t, base+"/dev/messages")
	for _, article := range strings.Split(page, "<article") {
		if strings.Contains(article, " to "+to+" ") || strings.Contains(article, " to "+to+"<") {
			if m := choiceLink.FindString(article); m != "" {
				return m
			}
		}
	}
	t.Fatalf("no captured message to %s with a choice page link on the dev page", to)
	return ""
}

func getPage(t *testing.T, u string) string {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d\n%s", u, resp.StatusCode, b)
	}
	return string(b)
}

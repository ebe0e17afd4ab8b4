package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// scenarioDir holds one story per detector kind and, beside each, a story
// that must open nothing (a correct or healed journey).
const scenarioDir = "../../testdata/scenarios"

type scenario struct {
	Name        string
	Order       string
	Description string           `json:"description"`
	Events      []map[string]any `json:"events"`
	Expect      []struct {
		Kind       string   `json:"kind"`
		ShipmentID string   `json:"shipment_id"`
		Evidence   []string `json:"evidence"`
	} `json:"expect"`
	// Then is pushed once the expected incidents are there; ExpectAfter
	// is what the (single) incident must then come to.
	Then        []map[string]any `json:"then"`
	ExpectAfter *struct {
		Status   string `json:"status"`
		Contacts int    `json:"contacts"`
	} `json:"expect_after"`
}

var relTime = regexp.MustCompile(`\{\{t([+-]\d+[hm])\}\}`)

// loadScenario reads a scenario, giving it a fresh order id and times
// relative to now ({{t-30h}} is thirty hours ago).
func loadScenario(t *testing.T, path, order string, now time.Time) scenario {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "{{order}}", order)
	// Each story is its own customer's, so that the policy's guards for
	// repeat claimants do not hold the later ones for approval.
	text = strings.ReplaceAll(text, "ada@example.com", "ada+"+order+"@example.com")
	text = relTime.ReplaceAllStringFunc(text, func(m string) string {
		d, err := time.ParseDuration(relTime.FindStringSubmatch(m)[1])
		if err != nil {
			t.Fatalf("%s: bad relative time %s", path, m)
		}
		return now.Add(d).UTC().Format(time.RFC3339)
	})
	if strings.Contains(text, "{{") {
		t.Fatalf("%s: unknown placeholder left in %q", path, text[strings.Index(text, "{{"):][:20])
	}
	var s scenario
	if err := json.Unmarshal([]byte(text), &s); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	s.Name, s.Order = strings.TrimSuffix(filepath.Base(path), ".json"), order
	return s
}

// runScenarios pushes every scenario over HTTP, then checks that each
// opened exactly the incidents it expects (kind, shipment, evidence), with
// a sent apology, and that the others opened nothing and contacted nobody.
func runScenarios(t *testing.T, base string) {
	files, _ := filepath.Glob(filepath.Join(scenarioDir, "*.json"))
	if len(files) < 18 {
		t.Fatalf("found %d scenarios in %s, want one per kind and its counterpart", len(files), scenarioDir)
	}
	now := time.Now()
	var all []scenario
	for i, f := range files {
		s := loadScenario(t, f, fmt.Sprintf("sc-%d-%d", now.UnixNano(), i), now)
		var res struct{ Accepted int }
		if code := api(t, base, "POST", "/v1/events", map[string]any{"events": s.Events}, &res); code != 202 || res.Accepted != len(s.Events) {
			t.Fatalf("%s: push answered %d, accepted %d of %d", s.Name, code, res.Accepted, len(s.Events))
		}
		all = append(all, s)
	}
	kinds := map[string]bool{}
	for _, s := range all {
		for _, want := range s.Expect {
			kinds[want.Kind] = true
			inc := waitIncident(t, base, s.Order, want.Kind, 30*time.Second)
			if !slices.Equal(inc.Evidence, want.Evidence) {
				t.Errorf("%s: evidence %v, want %v", s.Name, inc.Evidence, want.Evidence)
			}
			if inc.ShipmentID != want.ShipmentID {
				t.Errorf("%s: %s incident on shipment %q, want %q", s.Name, want.Kind, inc.ShipmentID, want.ShipmentID)
			}
		}
	}
	for _, k := range []string{"misrouted", "late", "stalled", "not_picked_up", "carrier_exception",
		"returned_to_sender", "lost", "out_of_stock", "wrong_item", "at_risk"} {
		if !kinds[k] {
			t.Errorf("no scenario exercises %s", k)
		}
	}
	for _, s := range all {
		if len(s.Then) == 0 {
			continue
		}
		if code := api(t, base, "POST", "/v1/events", map[string]any{"events": s.Then}, nil); code != 202 {
			t.Fatalf("%s: pushing the sequel answered %d", s.Name, code)
		}
		deadline := time.Now().Add(30 * time.Second)
		for {
			var out struct{ Incidents []incident }
			api(t, base, "GET", "/v1/incidents?order_id="+s.Order, nil, &out)
			if len(out.Incidents) == 1 && out.Incidents[0].Status == s.ExpectAfter.Status && len(out.Incidents[0].Contacts) == s.ExpectAfter.Contacts {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: incidents %+v, want one %s with %d contacts", s.Name, out.Incidents, s.ExpectAfter.Status, s.ExpectAfter.Contacts)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	// Everything was pushed before the first expected incident appeared;
	// give the quiet ones a moment more, then nothing may be there.
	time.Sleep(3 * time.Second)
	for _, s := range all {
		var out struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?order_id="+s.Order, nil, &out)
		var got []string
		for _, inc := range out.Incidents {
			got = append(got, inc.Kind)
		}
		var want []string
		for _, e := range s.Expect {
			want = append(want, e.Kind)
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s (%s): incidents %v, want %v", s.Name, s.Description, got, want)
		}
	}
}

// runProviderStory sends a shop's and a carrier's native webhooks, signed
// with the dev secret: a Shopify order and fulfillment, then an AfterShip
// damage report that names only the tracking number. The result must be
// the incident the canonical carrier_exception scenario opens.
func runProviderStory(t *testing.T, base string) {
	now := time.Now().UTC()
	orderID := fmt.Sprint(now.UnixNano())
	tracking := "JJD" + orderID
	sign := func(body []byte) string {
		m := hmac.New(sha256.New, []byte(DevWebhookSecret))
		m.Write(body)
		return base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	post := func(provider string, body []byte, h map[string]string) {
		req, _ := http.NewRequest("POST", base+"/v1/webhooks/"+provider, bytes.NewReader(body))
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 202 {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("%s webhook answered %d: %s", provider, resp.StatusCode, b)
		}
	}
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339) }
	order, _ := json.Marshal(map[string]any{"id": json.Number(orderID), "email": "ada@example.com", "currency": "EUR",
		"total_price": "89.99", "created_at": ts(-48 * time.Hour), "updated_at": ts(-48 * time.Hour), "customer_locale": "de",
		"customer":         map[string]any{"first_name": "Ada", "last_name": "Weber"},
		"shipping_address": map[string]any{"address1": "Invalidenstr. 1", "city": "Berlin", "zip": "10115", "country_code": "DE"},
		"line_items":       []any{map[string]any{"sku": "LAMP-01", "title": "Desk lamp", "quantity": 1, "price": "89.99"}}})
	shop := func(topic, id string, body []byte) map[string]string {
		return map[string]string{"X-Shopify-Topic": topic, "X-Shopify-Webhook-Id": id,
			"X-Shopify-Shop-Domain": "lamps.myshopify.com", "X-Shopify-Hmac-Sha256": sign(body)}
	}
	post("shopify", order, shop("orders/create", "w-o-"+orderID, order))
	fulfillment, _ := json.Marshal(map[string]any{"id": 7, "order_id": json.Number(orderID), "status": "success",
		"created_at": ts(-40 * time.Hour), "tracking_company": "DHL", "tracking_number": tracking,
		"line_items": []any{map[string]any{"sku": "LAMP-01", "quantity": 1}}})
	post("shopify", fulfillment, shop("fulfillments/create", "w-f-"+orderID, fulfillment))
	damaged, _ := json.Marshal(map[string]any{"event": "tracking_update", "msg": map[string]any{
		"id": "as-" + orderID, "tracking_number": tracking, "slug": "dhl", "tag": "Exception", "subtag": "Exception_012",
		"checkpoints": []any{
			map[string]any{"checkpoint_time": ts(-30 * time.Hour), "tag": "InTransit", "subtag": "InTransit_002",
				"message": "Picked up", "city": "Leipzig", "zip": "04103", "country_iso3": "DEU"},
			map[string]any{"checkpoint_time": ts(-2 * time.Hour), "tag": "Exception", "subtag": "Exception_012",
				"message": "Shipment damaged", "city": "Halle", "zip": "06108", "country_iso3": "DEU"}}}})
	post("aftership", damaged, map[string]string{"aftership-hmac-sha256": sign(damaged)})

	inc := waitIncident(t, base, orderID, "carrier_exception", 30*time.Second)
	if len(inc.Evidence) != 1 || !strings.HasPrefix(inc.Evidence[0], "aftership/as-"+orderID) {
		t.Fatalf("evidence %v, want the AfterShip damage scan", inc.Evidence)
	}
	if !strings.Contains(inc.Contacts[0].Body, "carrier") && !strings.Contains(inc.Contacts[0].Body, "Versand") {
		t.Fatalf("apology does not name the problem: %q", inc.Contacts[0].Body)
	}
}

package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// story builds a misroute story of an order for a customer; edit changes
// its events (by id suffix) before they are pushed.
func story(order, email string, edit func(id string, data map[string]any)) []json.RawMessage {
	evs := misroute(order, email, "EUR", 8999)
	for i, raw := range evs {
		var ev map[string]any
		json.Unmarshal(raw, &ev) //nolint:errcheck
		if edit != nil {
			edit(strings.TrimPrefix(ev["id"].(string), order+"-"), ev["data"].(map[string]any))
		}
		evs[i], _ = json.Marshal(ev)
	}
	return evs
}

func event(id, typ string, at time.Time, data map[string]any) map[string]any {
	return map[string]any{"id": id, "source": "insights", "type": typ, "time": at.UTC().Format(time.RFC3339Nano), "data": data}
}

// TestInsightsEndToEnd drives a mix of incidents through the dev stack
// and checks every figure of GET /v1/insights against values worked out
// by hand from what the test did:
//
//	A  misroute, customer a: contacted, discount applied, survey WOW
//	B  misroute, customer b, who wrote to the shop (customer.contacted)
//	   before our message; b orders again afterwards
//	C  lost parcel, customer c, found again during the settle time:
//	   healed before any contact
//	D  misroute, customer a again: contacted, then delivered to the right
//	   address: healed after contact
//	E  misroute, customer e, who chooses store credit on the choice page
//	F  customer f orders twice, no incident
//
// Time budget: about 10 seconds.
func TestInsightsEndToEnd(t *testing.T) {
	start := time.Now()
	env, base := devEnv(t, filepath.Join(t.TempDir(), "state"))
	env = append(env, "RECOVERY_POLICY_FILE=../../testdata/policies/e2e.yaml", "RECOVERY_SETTLE=lost=1h")
	startDev(t, env, base)
	run := start.UnixNano()
	id := func(p string) string { return fmt.Sprintf("%s-%d", p, run) }
	mail := func(p string) string { return fmt.Sprintf("%s-%d@example.com", p, run) }
	now := time.Now()

	sent := func(i remedyIncident) bool {
		return len(i.Contacts) > 0 && i.Offer != nil && i.Offer.Status == "applied"
	}
	push(t, base, story(id("ins-a"), mail("a"), nil))
	waitFor(t, base, id("ins-a"), "A contacted", 30*time.Second, sent)
	// A answers the survey WOW (before D, a's second incident, is told).
	resp, err := http.PostForm(capturedLink(t, base, mail("a"))+"/survey", url.Values{"answer": {"wow"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("A's survey: %v %v", err, resp)
	}
	resp.Body.Close()
	waitFor(t, base, id("ins-a"), "A's survey", 30*time.Second, func(i remedyIncident) bool { return i.Survey != nil })
	// B: the customer writes to the shop an hour before we notice (the
	// misrouting scan is two hours old).
	push(t, base, append(story(id("ins-b"), mail("b"), nil), mustRaw(event(id("ins-b")+"-ticket", "customer.contacted",
		now.Add(-time.Hour), map[string]any{"order_id": id("ins-b"), "channel": "email", "via": "zendesk", "ticket": "4711"}))))
	push(t, base, story(id("ins-c"), mail("c"), func(ev string, d map[string]any) {
		if ev == "scan-2" {
			d["status"], d["location"], d["description"] = "lost", map[string]any{"city": "Leipzig", "postal_code": "04103", "country": "DE"}, "Lost"
		}
	}))
	push(t, base, story(id("ins-d"), mail("a"), nil))
	push(t, base, story(id("page-e"), mail("e"), nil))
	push(t, base, []any{order(id("f1"), mail("f"), now.Add(-100*time.Hour)), order(id("f2"), mail("f"), now.Add(-50*time.Hour))})

	waitFor(t, base, id("ins-b"), "B contacted", 30*time.Second, sent)
	waitFor(t, base, id("ins-d"), "D contacted", 30*time.Second, sent)
	waitFor(t, base, id("ins-c"), "C waiting to settle", 30*time.Second, func(i remedyIncident) bool { return i.Status == "open" })
	// C's parcel is found: healed before any contact.
	push(t, base, []any{event(id("ins-c")+"-found", "shipment.tracking", now.Add(-time.Hour), map[string]any{"order_id": id("ins-c"),
		"shipment_id": "s-1", "carrier": "dhl", "status": "in_transit", "location": map[string]any{"city": "Halle", "country": "DE"}})})
	// D is delivered to the right address: healed after contact.
	push(t, base, []any{event(id("ins-d")+"-delivered", "shipment.tracking", now.Add(-30*time.Minute), map[string]any{
		"order_id": id("ins-d"), "shipment_id": "s-1", "carrier": "dhl", "status": "delivered",
		"location": map[string]any{"city": "Berlin", "postal_code": "10115", "country": "DE"}})})
	// E chooses store credit.
	waitFor(t, base, id("page-e"), "E awaiting a choice", 30*time.Second, func(i remedyIncident) bool { return i.Status == "awaiting_choice" })
	for to, form := range map[string]url.Values{mail("e"): {"remedy": {"store_credit"}}} {
		resp, err := http.PostForm(capturedLink(t, base, to), form)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("E's choice: %v %v", err, resp)
		}
		resp.Body.Close()
	}
	waitFor(t, base, id("ins-c"), "C healed", 30*time.Second, func(i remedyIncident) bool { return i.Status == "healed" })
	waitFor(t, base, id("ins-d"), "D healed", 30*time.Second, func(i remedyIncident) bool { return i.Status == "healed" })
	waitFor(t, base, id("page-e"), "E's store credit", 30*time.Second, sent)
	// B orders again.
	push(t, base, []any{order(id("b2"), mail("b"), time.Now())})

	// What the test did, read back: the offers and the contacts' times.
	var incs []incident
	for _, o := range []string{id("ins-a"), id("ins-b"), id("ins-c"), id("ins-d"), id("page-e")} {
		var list struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?order_id="+o, nil, &list)
		if len(list.Incidents) != 1 {
			t.Fatalf("order %s has %d incidents, want 1", o, len(list.Incidents))
		}
		incs = append(incs, list.Incidents[0])
	}
	var firstContact []float64
	var cost int64
	for _, inc := range incs {
		var first *time.Time
		for _, c := range inc.Contacts {
			if c.SentAt != nil && (first == nil || c.SentAt.Before(*first)) {
				first = c.SentAt
			}
		}
		if first != nil {
			firstContact = append(firstContact, first.Sub(inc.DetectedAt).Seconds())
		}
		if inc.Offer != nil && inc.Offer.Status == "applied" {
			cost += inc.Offer.ValueMinor
		}
	}
	slices.Sort(firstContact)
	nearest := func(v []float64, p float64) float64 { return v[int(math.Ceil(p*float64(len(v))))-1] }

	q := url.Values{"from": {start.Add(-200 * time.Hour).UTC().Format(time.RFC3339)}, "to": {time.Now().Add(time.Hour).UTC().Format(time.RFC3339)}}
	var rep struct {
		Total struct {
			Incidents    int
			Detection    dist `json:"detection_seconds"`
			FirstContact dist `json:"first_contact_seconds"`
			TimeToPerson dist `json:"time_to_person_seconds"`
			Proactive    struct {
				Count, Of int
				Rate      float64
			}
			HealedSilently     int `json:"healed_silently"`
			HealedAfterContact int `json:"healed_after_contact"`
			Offers             struct {
				Made, Applied, Rejected, Failed int
				ChoseSelf                       int            `json:"chose_self"`
				Defaulted                       int            `json:"defaulted"`
				ByRemedy                        map[string]int `json:"by_remedy"`
				Acceptance                      float64
			}
			Cost []struct {
				Currency string
				Minor    int64
			}
			Survey          struct{ OW, HOW, WOW int }
			RepeatCustomers int `json:"repeat_customers"`
		}
		Groups []struct {
			Key       string
			Incidents int
		}
		TopCarriers []struct {
			Key       string
			Incidents int
		} `json:"top_carriers"`
		TopLanes []struct {
			Key       string
			Incidents int
		} `json:"top_lanes"`
		Retention struct {
			With     share3json   `json:"with_incident"`
			Without  share3json   `json:"without_incident"`
			BySurvey []share3json `json:"by_survey"`
			ByRemedy []share3json `json:"by_remedy"`
		}
	}
	// The report is eventually complete: the last order's event has to be
	// stored first.
	deadline := time.Now().Add(20 * time.Second)
	for {
		q.Set("group_by", "kind")
		if code := api(t, base, "GET", "/v1/insights?"+q.Encode(), nil, &rep); code != 200 {
			t.Fatalf("GET /v1/insights answered %d", code)
		}
		if rep.Retention.With.Again30 == 1 || time.Now().After(deadline) {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
	g := rep.Total
	check := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	check("incidents", g.Incidents, 5)
	check("detection measured for", g.Detection.N, 5) // every one revealed by a scan
	if g.Detection.P50 < 0 || g.Detection.P90 < g.Detection.P50 || g.Detection.P90 > 30 {
		t.Errorf("detection %+v: want 0 ≤ p50 ≤ p90 ≤ 30 s on a quiet dev stack", g.Detection)
	}
	check("first contact", g.FirstContact, dist{N: 4, P50: nearest(firstContact, 0.5), P90: nearest(firstContact, 0.9)})
	check("proactive", g.Proactive, struct {
		Count, Of int
		Rate      float64
	}{3, 4, 0.75})
	check("healed silently", g.HealedSilently, 1)
	check("healed after contact", g.HealedAfterContact, 1)
	check("offers made, applied", [2]int{g.Offers.Made, g.Offers.Applied}, [2]int{4, 4})
	check("chose, defaulted", [2]int{g.Offers.ChoseSelf, g.Offers.Defaulted}, [2]int{1, 0})
	check("by remedy", g.Offers.ByRemedy, map[string]int{"discount": 3, "store_credit": 1})
	check("acceptance", g.Offers.Acceptance, 1)
	check("cost", g.Cost, []struct {
		Currency string
		Minor    int64
	}{{"EUR", cost}})
	check("cost by hand", cost, 3*1350+1800) // three 15% discounts of 89.99 and 20% store credit
	check("survey", g.Survey, struct{ OW, HOW, WOW int }{0, 0, 1})
	check("repeat customers", g.RepeatCustomers, 1) // a: A and D
	check("time to person", g.TimeToPerson.N, 0)
	check("groups by kind", rep.Groups, []struct {
		Key       string
		Incidents int
	}{{"lost", 1}, {"misrouted", 4}})
	check("top carriers", rep.TopCarriers, []struct {
		Key       string
		Incidents int
	}{{"dhl", 5}})
	check("top lanes", rep.TopLanes, []struct {
		Key       string
		Incidents int
	}{{"DE → DE", 5}})
	check("retention with an incident", rep.Retention.With, share3json{Customers: 4, Again30: 1, Again90: 1, Rate30: 0.25, Rate90: 0.25})
	check("retention without", rep.Retention.Without, share3json{Customers: 1, Again30: 1, Again90: 1, Rate30: 1, Rate90: 1})
	// By their first incident: a said WOW (A, a discount), b said nothing
	// (a discount) and came back, c had no offer (healed), e chose credit.
	check("retention by survey", rep.Retention.BySurvey, []share3json{{Key: "wow", Customers: 1},
		{Key: "none", Customers: 3, Again30: 1, Again90: 1, Rate30: 0.3333, Rate90: 0.3333}})
	check("retention by remedy", rep.Retention.ByRemedy, []share3json{
		{Key: "discount", Customers: 2, Again30: 1, Again90: 1, Rate30: 0.5, Rate90: 0.5},
		{Key: "store_credit", Customers: 1}, {Key: "none", Customers: 1}})

	// The same as CSV; a bad parameter is a problem that names it.
	req, _ := http.NewRequest("GET", base+"/v1/insights?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	req.Header.Set("Accept", "text/csv")
	cresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(cresp.Body).ReadAll()
	cresp.Body.Close()
	if err != nil || len(recs) != 4 || recs[1][0] != "total" || recs[1][1] != "5" || recs[1][6] != "3" || recs[1][7] != "4" {
		t.Fatalf("CSV %v, %v", recs, err)
	}
	code, body := as(t, e2eKey, base, "GET", "/v1/insights?group_by=colour&from=tomorrow", nil)
	if code != 400 || !strings.Contains(body, `"group_by"`) || !strings.Contains(body, `"from"`) {
		t.Fatalf("bad parameters: %d %s", code, body)
	}
}

type dist struct {
	N        int
	P50, P90 float64
}

type share3json struct {
	Key       string  `json:"key"`
	Customers int     `json:"customers"`
	Again30   int     `json:"ordered_again_30d"`
	Again90   int     `json:"ordered_again_90d"`
	Rate30    float64 `json:"rate_30d"`
	Rate90    float64 `json:"rate_90d"`
}

// order is an order.created of a customer, without a promise or a
// shipment.
func order(id, email string, at time.Time) map[string]any {
	return event(id, "order.created", at, map[string]any{"order_id": id, "currency": "EUR", "total_minor": 1000,
		"customer":         map[string]any{"email": email},
		"shipping_address": map[string]any{"line1": "Invalidenstr. 1", "city": "Berlin", "postal_code": "10115", "country": "DE"},
		"lines":            []any{map[string]any{"sku": "LAMP-01", "quantity": 1, "unit_price_minor": 1000}}})
}

func mustRaw(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

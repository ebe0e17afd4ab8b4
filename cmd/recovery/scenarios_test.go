package main

import (
	"encoding/json"
	"fmt"
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
		}
	}
	for _, k := range []string{"misrouted", "late", "stalled", "not_picked_up", "carrier_exception",
		"returned_to_sender", "lost", "out_of_stock", "wrong_item"} {
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

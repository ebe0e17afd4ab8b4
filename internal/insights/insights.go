// Package insights turns incidents into the numbers that say whether
// recovery works: how fast we notice and speak, how often we speak first,
// what heals on its own, what customers choose, what it costs, what they
// think of it, and whether they come back. It computes from rows the store
// reads (store.InsightRows), so that every figure can be checked by hand.
package insights

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/recoveryhq/recovery/internal/store"
)

// GroupBys are the ways a report splits its incidents ("": not at all).
var GroupBys = []string{"kind", "carrier", "source", "remedy", "week"}

// Report is the numbers of the incidents detected in [From, To).
type Report struct {
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
	GroupBy string    `json:"group_by,omitempty"`
	// Total is every incident; Groups split them by GroupBy (none
	// without one).
	Total  Group   `json:"total"`
	Groups []Group `json:"groups,omitempty"`
	// TopCarriers and TopLanes cause the most incidents (at most 10 each).
	TopCarriers []Count `json:"top_carriers"`
	TopLanes    []Count `json:"top_lanes"`
	// Retention: customers who ordered again after an incident, next to
	// those of the same period without one.
	Retention Retention `json:"retention"`
}

// Group is the numbers of a set of incidents.
type Group struct {
	Key       string `json:"key,omitempty"`
	Incidents int    `json:"incidents"`
	// Detection is seconds from the revealing event's arrival to the
	// incident (incidents a timer opened are left out); FirstContact
	// seconds from the incident to our first message sent; TimeToPerson
	// seconds from a customer's request for a person to someone seeing to
	// it.
	Detection    Dist `json:"detection_seconds"`
	FirstContact Dist `json:"first_contact_seconds"`
	TimeToPerson Dist `json:"time_to_person_seconds"`
	// Proactive: of the incidents where we or the customer spoke, the
	// share where we spoke first.
	Proactive Share `json:"proactive"`
	// HealedSilently healed before any contact; HealedAfterContact after.
	HealedSilently     int    `json:"healed_silently"`
	HealedAfterContact int    `json:"healed_after_contact"`
	Offers             Offers `json:"offers"`
	// Cost is the value of the remedies carried out, per currency.
	Cost   []Money `json:"cost"`
	Survey Survey  `json:"survey"`
	// RepeatCustomers had more than one incident in the group.
	RepeatCustomers int `json:"repeat_customers"`
}

// Dist is a distribution's size and percentiles (nearest rank).
type Dist struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P90 float64 `json:"p90"`
}

// Share is Count of Of, and their ratio (0 when Of is 0).
type Share struct {
	Count int     `json:"count"`
	Of    int     `json:"of"`
	Rate  float64 `json:"rate"`
}

// Offers says what became of the offers.
type Offers struct {
	Made     int `json:"made"`
	Applied  int `json:"applied"`
	Rejected int `json:"rejected"`
	Failed   int `json:"failed"`
	// ChoseSelf: the customer chose among the options; Defaulted: the
	// default was taken for want of a choice.
	ChoseSelf int            `json:"chose_self"`
	Defaulted int            `json:"defaulted"`
	ByRemedy  map[string]int `json:"by_remedy"`
	// Acceptance is applied over made.
	Acceptance float64 `json:"acceptance"`
}

// Money is a sum in minor units of one currency.
type Money struct {
	Currency string `json:"currency"`
	Minor    int64  `json:"minor"`
}

// Survey counts the answers.
type Survey struct {
	OW  int `json:"ow"`
	HOW int `json:"how"`
	WOW int `json:"wow"`
}

// Count is how many incidents one carrier or lane caused.
type Count struct {
	Key       string `json:"key"`
	Incidents int    `json:"incidents"`
}

// Retention compares customers with an incident and without one.
type Retention struct {
	WithIncident Share3 `json:"with_incident"`
	Without      Share3 `json:"without_incident"`
	// BySurvey and ByRemedy split the customers with an incident by the
	// survey answer and the remedy of their first incident in the period
	// ("none": no answer, no offer).
	BySurvey []Segment `json:"by_survey"`
	ByRemedy []Segment `json:"by_remedy"`
}

// Segment is Share3 of one survey answer or remedy.
type Segment struct {
	Key string `json:"key"`
	Share3
}

// Share3 is customers and the shares who ordered again within 30 and 90
// days.
type Share3 struct {
	Customers int     `json:"customers"`
	Again30   int     `json:"ordered_again_30d"`
	Again90   int     `json:"ordered_again_90d"`
	Rate30    float64 `json:"rate_30d"`
	Rate90    float64 `json:"rate_90d"`
}

// Compute makes the report of rows, split by groupBy (one of GroupBys,
// or "").
func Compute(from, to time.Time, groupBy string, rows []store.InsightRow, ret store.Retention) (Report, error) {
	if groupBy != "" && !slices.Contains(GroupBys, groupBy) {
		return Report{}, fmt.Errorf("group_by %q: want one of %v", groupBy, GroupBys)
	}
	r := Report{From: from, To: to, GroupBy: groupBy, Total: group("", rows)}
	if groupBy != "" {
		keyed := map[string][]store.InsightRow{}
		for _, row := range rows {
			k := Key(groupBy, row)
			keyed[k] = append(keyed[k], row)
		}
		keys := make([]string, 0, len(keyed))
		for k := range keyed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			r.Groups = append(r.Groups, group(k, keyed[k]))
		}
	}
	r.TopCarriers = top(rows, func(x store.InsightRow) string { return x.Carrier })
	r.TopLanes = top(rows, func(x store.InsightRow) string { return x.Lane })
	r.Retention = Retention{
		WithIncident: share3(ret.WithIncident, ret.WithAgain30, ret.WithAgain90),
		Without:      share3(ret.Without, ret.WithoutAgain30, ret.WithoutAgain90),
		BySurvey:     segments(ret.BySurvey),
		ByRemedy:     segments(ret.ByRemedy),
	}
	return r, nil
}

// Key is the group an incident falls in: its kind, carrier, source,
// remedy, or
// ISO week of detection ("2026-W48"); "unknown" when the row has none.
func Key(groupBy string, row store.InsightRow) string {
	var k string
	switch groupBy {
	case "kind":
		k = row.Kind
	case "carrier":
		k = row.Carrier
	case "source":
		k = row.Source
	case "remedy":
		k = row.Remedy
	case "week":
		k = Week(row.DetectedAt)
	}
	return cmp.Or(k, "unknown")
}

// Week names the ISO week a time falls in (UTC), such as 2026-W48.
func Week(t time.Time) string {
	y, w := t.UTC().ISOWeek()
	return fmt.Sprintf("%d-W%02d", y, w)
}

func group(key string, rows []store.InsightRow) Group {
	g := Group{Key: key, Incidents: len(rows), Offers: Offers{ByRemedy: map[string]int{}}}
	var detect, first, person []float64
	cost := map[string]int64{}
	perCustomer := map[string]int{}
	for _, r := range rows {
		// An incident recorded before its evidence arrived (data loaded
		// after the fact, say) has no detection time to speak of.
		if r.RevealedAt != nil && !r.DetectedAt.Before(*r.RevealedAt) {
			detect = append(detect, r.DetectedAt.Sub(*r.RevealedAt).Seconds())
		}
		if r.FirstContactAt != nil {
			first = append(first, r.FirstContactAt.Sub(r.DetectedAt).Seconds())
		}
		if r.PersonAskedAt != nil && r.PersonHandledAt != nil {
			person = append(person, r.PersonHandledAt.Sub(*r.PersonAskedAt).Seconds())
		}
		switch we, they := r.FirstContactAt, r.CustomerContactedAt; {
		case we != nil && (they == nil || !they.Before(*we)):
			g.Proactive.Count++
			g.Proactive.Of++
		case they != nil:
			g.Proactive.Of++
		}
		if r.Status == "healed" {
			if r.FirstContactAt == nil {
				g.HealedSilently++
			} else {
				g.HealedAfterContact++
			}
		}
		if r.Remedy != "" {
			g.Offers.Made++
			g.Offers.ByRemedy[r.Remedy]++
			switch r.OfferStatus {
			case "applied":
				g.Offers.Applied++
				cost[r.Currency] += r.ValueMinor
			case "rejected":
				g.Offers.Rejected++
			case "failed":
				g.Offers.Failed++
			}
		}
		if r.ChoseSelf {
			g.Offers.ChoseSelf++
		} else if r.Defaulted {
			g.Offers.Defaulted++
		}
		switch r.Survey {
		case "ow":
			g.Survey.OW++
		case "how":
			g.Survey.HOW++
		case "wow":
			g.Survey.WOW++
		}
		if r.CustomerKey != "" {
			perCustomer[r.CustomerKey]++
		}
	}
	g.Detection, g.FirstContact, g.TimeToPerson = dist(detect), dist(first), dist(person)
	g.Proactive.Rate = ratio(g.Proactive.Count, g.Proactive.Of)
	g.Offers.Acceptance = ratio(g.Offers.Applied, g.Offers.Made)
	for cur, v := range cost {
		g.Cost = append(g.Cost, Money{Currency: cur, Minor: v})
	}
	slices.SortFunc(g.Cost, func(a, b Money) int { return cmp.Compare(a.Currency, b.Currency) })
	for _, n := range perCustomer {
		if n > 1 {
			g.RepeatCustomers++
		}
	}
	return g
}

// dist is the nearest-rank 50th and 90th percentiles of values: the
// value at rank ceil(p × n) of the sorted values.
func dist(values []float64) Dist {
	if len(values) == 0 {
		return Dist{}
	}
	slices.Sort(values)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(values)))) - 1
		return values[max(i, 0)]
	}
	return Dist{N: len(values), P50: rank(0.5), P90: rank(0.9)}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return math.Round(float64(a)/float64(b)*10000) / 10000
}

// segments orders the counts by key, "none" for the empty key last.
func segments(m map[string]store.RetentionCount) []Segment {
	out := []Segment{}
	for k, c := range m {
		out = append(out, Segment{Key: cmp.Or(k, "none"), Share3: share3(c.Customers, c.Again30, c.Again90)})
	}
	slices.SortFunc(out, func(a, b Segment) int {
		return cmp.Or(cmp.Compare(boolInt(a.Key == "none"), boolInt(b.Key == "none")), cmp.Compare(a.Key, b.Key))
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func share3(n, a30, a90 int) Share3 {
	return Share3{Customers: n, Again30: a30, Again90: a90, Rate30: ratio(a30, n), Rate90: ratio(a90, n)}
}

// top counts incidents per key, most first (then by key), at most 10.
func top(rows []store.InsightRow, key func(store.InsightRow) string) []Count {
	n := map[string]int{}
	for _, r := range rows {
		if k := key(r); k != "" {
			n[k]++
		}
	}
	out := make([]Count, 0, len(n))
	for k, v := range n {
		out = append(out, Count{Key: k, Incidents: v})
	}
	slices.SortFunc(out, func(a, b Count) int { return cmp.Or(cmp.Compare(b.Incidents, a.Incidents), cmp.Compare(a.Key, b.Key)) })
	return out[:min(len(out), 10)]
}

// MaxRange is the longest period one report covers.
const MaxRange = 400 * 24 * time.Hour

// ParseRange reads a report's period: RFC 3339 times or dates
// (2026-11-01, from the start of that day UTC); to defaults to now, from
// to 30 days before to. It says what is wrong, naming the parameter.
func ParseRange(fromText, toText string, now time.Time) (from, to time.Time, err error) {
	parse := func(name, s string) (time.Time, error) {
		for _, layout := range []string{time.RFC3339, time.DateOnly} {
			if t, err := time.Parse(layout, s); err == nil {
				return t.UTC(), nil
			}
		}
		return time.Time{}, fmt.Errorf("%s: %q is not a date (2026-11-01) or an RFC 3339 time", name, s)
	}
	to = now.UTC()
	if toText != "" {
		if to, err = parse("to", toText); err != nil {
			return from, to, err
		}
	}
	from = to.Add(-30 * 24 * time.Hour)
	if fromText != "" {
		if from, err = parse("from", fromText); err != nil {
			return from, to, err
		}
	}
	switch {
	case !from.Before(to):
		return from, to, fmt.Errorf("from: %s is not before to (%s)", from.Format(time.RFC3339), to.Format(time.RFC3339))
	case to.Sub(from) > MaxRange:
		return from, to, fmt.Errorf("from: the period is longer than %d days", int(MaxRange.Hours()/24))
	}
	return from, to, nil
}

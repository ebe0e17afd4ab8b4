package policy

import (
	"sort"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// History is what the guards know of a customer before an incident.
type History = recovery.CustomerHistory

// InputsFor builds the values a policy sees for an incident of an order.
func InputsFor(inc recovery.Incident, code string, o recovery.OrderData, s recovery.ShipmentFacts, h History, now time.Time) Inputs {
	in := Inputs{Now: now,
		Incident: Incident{Kind: string(inc.Kind), Reason: inc.Reason, ShipmentID: inc.ShipmentID,
			EvidenceCount: int64(len(inc.Evidence)), Code: code},
		Order: Order{ID: o.OrderID, Currency: o.Currency, TotalMinor: o.TotalMinor, Country: o.ShippingAddress.Country,
			LineCount: int64(len(o.Lines)), Categories: []string{}, SKUs: []string{}},
		Customer: Customer{ID: recovery.CustomerKey(o.Customer), Locale: o.Customer.Locale,
			Incidents90d: h.Incidents90d, CompensatedMinor30d: h.CompensatedMinor30d},
		Shipment: Shipment{ID: inc.ShipmentID, Carrier: s.Carrier, Service: s.Service, Status: s.Status, Delivered: s.Delivered},
	}
	for _, l := range o.Lines {
		in.Order.SKUs = append(in.Order.SKUs, l.SKU)
		if l.Category != "" {
			in.Order.Categories = append(in.Order.Categories, l.Category)
		}
	}
	if p := o.PromisedDelivery; p != nil && now.After(*p) {
		in.Order.HoursLate = int64(now.Sub(*p) / time.Hour)
	}
	return in
}

// Past is an incident as it happened.
type Past struct {
	Incident recovery.Incident
	Offered  *recovery.Offer
	Order    *recovery.OrderData
	// Code is a carrier_exception's code (incident.code), as its
	// detection set it.
	Code string
}

// Currencies are the currencies of the totals, sorted.
func (t Totals) Currencies() []string {
	seen := map[string]bool{}
	for c := range t.Offered {
		seen[c] = true
	}
	for c := range t.Would {
		seen[c] = true
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	sort.Strings(out)
	return out
}

// Comparison is what a policy would have done with a past incident.
type Comparison struct {
	Incident recovery.Incident
	Offered  *recovery.Offer
	Decision Decision
	// Would is the offer the policy would have made (the default when the
	// customer chooses); nil when it decided nothing.
	Would *Offer
	// Skipped says why the incident could not be replayed.
	Skipped string
}

// Totals sums what was given and what would be, per currency.
type Totals struct {
	Offered map[string]int64
	Would   map[string]int64
	// Approvals counts the replayed incidents that would wait for a person.
	Approvals int
}

// DryRun replays the policy over past incidents, oldest first, rebuilding
// each customer's history as it stood at the time.
func DryRun(p *Policy, past []Past) ([]Comparison, Totals) {
	sort.SliceStable(past, func(i, j int) bool { return past[i].Incident.DetectedAt.Before(past[j].Incident.DetectedAt) })
	type given struct {
		at     time.Time
		minor  int64
		curr   string
		amount bool
	}
	seen := map[string][]given{}
	tot := Totals{Offered: map[string]int64{}, Would: map[string]int64{}}
	out := make([]Comparison, 0, len(past))
	for _, ps := range past {
		c := Comparison{Incident: ps.Incident, Offered: ps.Offered}
		if ps.Offered != nil && recovery.OfferGiven(ps.Offered.Status) {
			tot.Offered[ps.Offered.Currency] += ps.Offered.ValueMinor
		}
		if ps.Order == nil {
			c.Skipped = "the order's order.created is not stored"
			out = append(out, c)
			continue
		}
		key, at := recovery.CustomerKey(ps.Order.Customer), ps.Incident.DetectedAt
		var h History
		for _, g := range seen[key] {
			if at.Sub(g.at) <= 90*24*time.Hour {
				h.Incidents90d++
			}
			if at.Sub(g.at) <= 30*24*time.Hour && g.curr == ps.Order.Currency {
				h.CompensatedMinor30d += g.minor
			}
		}
		d, err := p.Evaluate(InputsFor(ps.Incident, ps.Code, *ps.Order, recovery.ShipmentFacts{}, h, at))
		c.Decision = d
		if err != nil {
			c.Skipped = err.Error()
		}
		for i := range d.Offers {
			if d.Offers[i].Remedy == d.Default {
				c.Would = &d.Offers[i]
				tot.Would[d.Offers[i].Value.Currency] += d.Offers[i].Value.Minor
				break
			}
		}
		if d.NeedsApproval {
			tot.Approvals++
		}
		if key != "" {
			g := given{at: at, curr: ps.Order.Currency}
			if ps.Offered != nil && recovery.OfferGiven(ps.Offered.Status) {
				g.minor = ps.Offered.ValueMinor
			}
			seen[key] = append(seen[key], g)
		}
		out = append(out, c)
	}
	return out, tot
}

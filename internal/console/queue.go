package console

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/web"
)

// Carriers names the carrier of orders' shipments ("order/shipment" →
// carrier).
type Carriers interface {
	Carriers(ctx context.Context, orderIDs []string) (map[string]string, error)
}

// queueFilter narrows the queue: by kind, stage (the incident's status),
// carrier, the offer's currency, and age (detected at least this long
// ago).
type queueFilter struct {
	Kind, Stage, Carrier, Currency string
	// Age is one of ages' keys ("": any).
	Age string
}

// ages are the age filter's choices.
var ages = []struct {
	Key, Title string
	Min        time.Duration
}{
	{"1h", "over an hour", time.Hour},
	{"4h", "over 4 hours", 4 * time.Hour},
	{"24h", "over a day", 24 * time.Hour},
	{"72h", "over 3 days", 72 * time.Hour},
}

// stages are the statuses of incidents the queue shows.
var stages = []string{recovery.IncidentAwaitingApproval, recovery.IncidentNeedsAttention, recovery.IncidentOpen,
	recovery.IncidentAwaitingChoice}

func parseFilter(q url.Values) queueFilter {
	return queueFilter{Kind: q.Get("kind"), Stage: q.Get("stage"), Carrier: strings.ToLower(strings.TrimSpace(q.Get("carrier"))),
		Currency: strings.ToUpper(q.Get("currency")), Age: q.Get("age")}
}

// Query is the filter as a query string (without the tab).
func (f queueFilter) Query() string {
	q := url.Values{}
	for k, v := range map[string]string{"kind": f.Kind, "stage": f.Stage, "carrier": f.Carrier, "currency": f.Currency, "age": f.Age} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q.Encode()
}

func (f queueFilter) minAge() time.Duration {
	for _, a := range ages {
		if a.Key == f.Age {
			return a.Min
		}
	}
	return 0
}

// keeps reports whether an incident passes the filter.
func (f queueFilter) keeps(inc recovery.Incident, carrier string, now time.Time) bool {
	switch {
	case f.Kind != "" && string(inc.Kind) != f.Kind,
		f.Stage != "" && inc.Status != f.Stage,
		f.Currency != "" && (inc.Offer == nil || inc.Offer.Currency != f.Currency),
		f.Carrier != "" && !strings.EqualFold(carrier, f.Carrier),
		now.Sub(inc.DetectedAt) < f.minAge():
		return false
	}
	return true
}

// waiting reads what waits for a person, by tab, filtered.
func waiting(ctx context.Context, incidents web.IncidentReader, carriers Carriers, now time.Time, f queueFilter) (map[string][]row, error) {
	var all []recovery.Incident
	for _, st := range stages {
		list, err := incidents.ListIncidents(ctx, recovery.IncidentFilter{Status: st, Limit: 1000})
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
	}
	named := map[string]string{}
	if carriers != nil && len(all) > 0 {
		orders := make([]string, 0, len(all))
		for _, inc := range all {
			orders = append(orders, inc.OrderID)
		}
		var err error
		if named, err = carriers.Carriers(ctx, orders); err != nil {
			return nil, err
		}
	}
	lists := map[string][]row{}
	for _, inc := range all {
		carrier := named[inc.OrderID+"/"+inc.ShipmentID]
		if !f.keeps(inc, carrier, now) {
			continue
		}
		switch inc.Status {
		case recovery.IncidentAwaitingApproval:
			r := withDeadlines(inc, now)
			r.Carrier = carrier
			lists["approval"] = append(lists["approval"], r)
			if r.Escalated {
				lists["escalated"] = append(lists["escalated"], r)
			}
		case recovery.IncidentNeedsAttention:
			lists["attention"] = append(lists["attention"], row{Incident: inc, Carrier: carrier})
		}
		if askedForPerson(inc) {
			lists["person"] = append(lists["person"], row{Incident: inc, Carrier: carrier})
		}
	}
	return lists, nil
}

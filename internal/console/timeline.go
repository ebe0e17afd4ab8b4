package console

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// OrderEvents reads an order's events for the incident's timeline.
type OrderEvents interface {
	OrderEvents(ctx context.Context, orderID string, limit int) ([]recovery.Event, error)
}

// RemedySteps reads the steps of an incident's remedy and their undoing.
type RemedySteps interface {
	RemedySteps(ctx context.Context, incidentID string) ([]store.RemedyStep, error)
}

// entry is one moment of an incident's timeline.
type entry struct {
	At   time.Time
	What string
	// Detail says more in a line; Body is a message as the customer saw it.
	Detail, Body string
	// Evidence marks an event the detection rests on.
	Evidence bool
	// Undo marks a remedy's step taken back.
	Undo bool
}

// timeline puts an incident's story in order: the order's events and
// scans (with their places), the detection and its evidence, the
// policy's decision, each contact with the message as sent and its
// outcome, every audited action, the remedy's steps and their undoing,
// and the survey answer.
func timeline(inc recovery.Incident, events []recovery.Event, steps []store.RemedyStep) []entry {
	var out []entry
	evidence := map[string]bool{}
	for _, id := range inc.Evidence {
		evidence[id] = true
	}
	for _, e := range events {
		out = append(out, entry{At: e.Time, What: e.Type, Detail: describe(e), Evidence: evidence[e.ID]})
	}
	detected := fmt.Sprintf("%s, on %d event(s)", inc.Kind, len(inc.Evidence))
	if inc.Reason != "" {
		detected += ": " + inc.Reason
	}
	out = append(out, entry{At: inc.DetectedAt, What: "detected", Detail: detected})
	if d := inc.Decision; d != nil && d.Rule != "" {
		out = append(out, entry{At: inc.DetectedAt, What: "policy decided", Detail: fmt.Sprintf("policy %s, rule %q", d.PolicyVersion, d.Rule)})
	}
	for _, c := range inc.Contacts {
		at := inc.DetectedAt
		if c.SentAt != nil {
			at = *c.SentAt
		}
		detail := fmt.Sprintf("step %d by %s: %s", c.Step, c.Channel, c.Status)
		if c.Outcome != "" {
			detail += ", " + c.Outcome
		}
		body := c.Body
		if c.Subject != "" {
			body = c.Subject + "\n\n" + body
		}
		out = append(out, entry{At: at, What: "contact", Detail: detail, Body: body})
		if c.HandledAt != nil {
			out = append(out, entry{At: *c.HandledAt, What: "request for a person handled", Detail: c.HandledBy + ": " + c.HandledNote})
		}
	}
	for _, a := range inc.Audit {
		d := a.Actor
		if a.Note != "" {
			d += ": " + a.Note
		}
		out = append(out, entry{At: a.At, What: strings.ReplaceAll(a.Action, "_", " "), Detail: d})
	}
	for _, rp := range inc.Replies {
		body := rp.Body
		if rp.Subject != "" {
			body = rp.Subject + "\n\n" + body
		}
		out = append(out, entry{At: rp.ReceivedAt, What: "reply from the customer",
			Detail: fmt.Sprintf("to step %d, from %s", rp.Step, rp.From), Body: body})
	}
	for _, st := range steps {
		out = append(out, entry{At: st.At, What: st.What, Detail: st.Detail, Undo: st.Undo})
	}
	if s := inc.Survey; s != nil {
		out = append(out, entry{At: s.At, What: "survey", Detail: s.Answer + " (" + s.Via + ")"})
	}
	slices.SortStableFunc(out, func(a, b entry) int { return a.At.Compare(b.At) })
	return out
}

// describe says what an event tells in a line: a scan's status and place,
// an order's value.
func describe(e recovery.Event) string {
	switch e.Type {
	case recovery.TypeShipmentTracking:
		var d recovery.TrackingData
		if json.Unmarshal(e.Data, &d) != nil {
			return ""
		}
		s := strings.TrimSpace(d.Carrier + " " + d.Status)
		if l := d.Location; l != nil {
			place := strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{l.City, l.PostalCode, l.Country},
				func(s string) bool { return s == "" }), ", "))
			if place != "" {
				s += " in " + place
			}
		}
		if d.ExceptionCode != "" {
			s += " (" + d.ExceptionCode + ")"
		}
		return s
	case recovery.TypeOrderCreated:
		var d recovery.OrderData
		if json.Unmarshal(e.Data, &d) != nil {
			return ""
		}
		s := recovery.Money{Minor: d.TotalMinor, Currency: d.Currency}.String()
		if d.PromisedDelivery != nil {
			s += ", promised for " + d.PromisedDelivery.UTC().Format("2006-01-02")
		}
		return s
	}
	return ""
}

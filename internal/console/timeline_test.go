package console

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

func TestTimelineTellsTheStoryInOrder(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	ev := func(id, typ string, at time.Time, data any) recovery.Event {
		raw, _ := json.Marshal(data)
		return recovery.Event{ID: id, Type: typ, Time: at, Data: raw}
	}
	events := []recovery.Event{
		ev("o", recovery.TypeOrderCreated, t0, recovery.OrderData{OrderID: "1001", Currency: "EUR", TotalMinor: 8999}),
		ev("scan-pl", recovery.TypeShipmentTracking, t0.Add(3*time.Hour), recovery.TrackingData{Carrier: "dhl", Status: "in_transit",
			Location: &recovery.Location{City: "Poznań", Country: "PL"}}),
	}
	sent := t0.Add(4 * time.Hour)
	inc := recovery.Incident{ID: "inc-1", Kind: recovery.KindMisrouted, DetectedAt: t0.Add(3*time.Hour + time.Minute), Evidence: []string{"scan-pl"},
		Decision: &recovery.RemedyDecision{PolicyVersion: "v1", Rule: "misroute"},
		Contacts: []recovery.Contact{{Step: 1, Channel: "email", Status: "sent", Outcome: "delivered", Subject: "Sorry", Body: "Dear Ada", SentAt: &sent}},
		Audit:    []recovery.AuditEntry{{Actor: "console:mara", Action: "approve", At: t0.Add(3*time.Hour + 30*time.Minute), Note: "ok"}},
		Survey:   &recovery.Survey{Answer: "wow", Via: "page", At: t0.Add(48 * time.Hour)},
		Replies:  []recovery.Reply{{Step: 1, From: "ada@example.com", Subject: "Re: Sorry", Body: "Call me", ReceivedAt: t0.Add(5 * time.Hour)}}}
	var got []string
	steps := []store.RemedyStep{{At: t0.Add(3*time.Hour + 31*time.Minute), What: "code issued", Detail: "discount code …9Z7Q, 10.00 EUR"},
		{At: t0.Add(6 * time.Hour), What: "code voided", Detail: "discount code …9Z7Q, 10.00 EUR", Undo: true}}
	for _, e := range timeline(inc, events, steps) {
		got = append(got, e.What+" | "+e.Detail)
		if e.What == "contact" && e.Body != "Sorry\n\nDear Ada" {
			t.Errorf("the message as sent: %q", e.Body)
		}
		if (e.What == "code voided") != e.Undo {
			t.Errorf("%s: undo %v", e.What, e.Undo)
		}
		if (e.What == recovery.TypeShipmentTracking) != e.Evidence {
			t.Errorf("%s: evidence %v", e.What, e.Evidence)
		}
	}
	want := []string{
		"order.created | 89.99 EUR",
		"shipment.tracking | dhl in_transit in Poznań, PL",
		"detected | misrouted, on 1 event(s)",
		"policy decided | policy v1, rule \"misroute\"",
		"approve | console:mara: ok",
		"code issued | discount code …9Z7Q, 10.00 EUR",
		"contact | step 1 by email: sent, delivered",
		"reply from the customer | to step 1, from ada@example.com",
		"code voided | discount code …9Z7Q, 10.00 EUR",
		"survey | wow (page)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("timeline:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

package workflows

import (
	"errors"
	"strings"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// healCase is one way an incident heals, or must not: the events that
// open it, the moment it opens, and the events (stamped with the time
// they arrive) that take its evidence away.
type healCase struct {
	name   string
	cfg    func(*recovery.DetectionConfig)
	opens  []recovery.Event
	openAt time.Duration // from t0, when the incident opens
	kind   recovery.Kind
	code   string
	heal   func(at time.Time) []recovery.Event
	// reason is the heal's reason; "" when the evidence must not heal it.
	reason string
	// silent: a heal after contact sends no "all is well" note either.
	silent bool
}

func inventory(id string, at time.Time, available int64) recovery.Event {
	return mkEvent(id, recovery.TypeInventoryChanged, at, recovery.InventoryData{OrderID: "1001", SKU: "LAMP-01", Available: available})
}

func exception(id, code string, at time.Time) recovery.Event {
	return mkEvent(id, recovery.TypeShipmentTracking, at, recovery.TrackingData{OrderID: "1001", ShipmentID: "s-1",
		Status: "exception", ExceptionCode: code, Location: &recovery.Location{Country: "DE", PostalCode: "06108"}})
}

func delivered(at time.Time) []recovery.Event {
	return []recovery.Event{scan("heal", "delivered", "DE", "10115", at)}
}

var healCases = []healCase{
	{
		name:  "late: the promise moves later",
		cfg:   func(c *recovery.DetectionConfig) { c.DefaultStall, c.PickupLimit = 0, 0 },
		opens: []recovery.Event{orderCreated(t0.Add(48 * time.Hour)), shipmentCreated(), scan("a", "in_transit", "DE", "06108", t0.Add(2*time.Hour))},
		// The promise itself is the timer.
		openAt: 48 * time.Hour, kind: recovery.KindLate,
		heal: func(at time.Time) []recovery.Event {
			later := at.Add(72 * time.Hour)
			return []recovery.Event{mkEvent("heal", recovery.TypeOrderUpdated, at, recovery.OrderData{OrderID: "1001", PromisedDelivery: &later})}
		},
		reason: "the promised delivery time moved to ",
	},
	{
		name:   "late: delivered",
		cfg:    func(c *recovery.DetectionConfig) { c.DefaultStall, c.PickupLimit = 0, 0 },
		opens:  []recovery.Event{orderCreated(t0.Add(48 * time.Hour)), shipmentCreated(), scan("a", "in_transit", "DE", "06108", t0.Add(2*time.Hour))},
		openAt: 48 * time.Hour, kind: recovery.KindLate, heal: delivered, reason: "delivered",
	},
	{
		name:   "not picked up: the carrier scans it",
		cfg:    func(c *recovery.DetectionConfig) { c.DefaultStall = 0 },
		opens:  []recovery.Event{farOrder(), shipmentCreated()}, // label at t0+1h, limit 48h
		openAt: 49 * time.Hour, kind: recovery.KindNotPickedUp,
		heal: func(at time.Time) []recovery.Event {
			return []recovery.Event{scan("heal", "picked_up", "DE", "04103", at)}
		},
		reason: "the carrier picked the parcel up",
	},
	{
		name:   "lost: found again",
		opens:  []recovery.Event{farOrder(), shipmentCreated(), scan("lost", "lost", "DE", "06108", t0.Add(2*time.Minute))},
		openAt: time.Minute, kind: recovery.KindLost,
		heal: func(at time.Time) []recovery.Event {
			return []recovery.Event{scan("heal", "in_transit", "DE", "14467", at)}
		},
		reason: "the carrier found the parcel",
	},
	{
		name:   "soft carrier exception: delivered to the right address",
		opens:  []recovery.Event{farOrder(), shipmentCreated(), exception("weather", "weather", t0.Add(2*time.Minute))},
		openAt: time.Minute, kind: recovery.KindCarrierException, code: "weather",
		heal: delivered, reason: "delivered to the right address",
	},
	{
		name:   "out of stock: stock is back",
		opens:  []recovery.Event{farOrder(), inventory("none", t0.Add(2*time.Minute), 0)},
		openAt: time.Minute, kind: recovery.KindOutOfStock,
		heal: func(at time.Time) []recovery.Event {
			return []recovery.Event{inventory("heal", at, 5)}
		},
		reason: "the items are available again",
	},
	{
		name:   "misrouted: the order is cancelled after the incident opened",
		opens:  []recovery.Event{farOrder(), shipmentCreated(), scan("pl", "in_transit", "PL", "60-001", t0.Add(2*time.Minute))},
		openAt: time.Minute, kind: recovery.KindMisrouted,
		heal: func(at time.Time) []recovery.Event {
			return []recovery.Event{mkEvent("heal", recovery.TypeOrderCancelled, at, recovery.OrderRef{OrderID: "1001"})}
		},
		// A cancelled order is no good news: nothing more is said.
		reason: "the order was cancelled", silent: true,
	},
	{
		name:   "hard exception: a damaged parcel delivered is still damaged",
		opens:  []recovery.Event{farOrder(), shipmentCreated(), exception("damaged", "damaged", t0.Add(2*time.Minute))},
		openAt: time.Minute, kind: recovery.KindCarrierException, code: "damaged",
		heal: delivered,
	},
	{
		name:   "returned to sender: a later scan changes nothing",
		opens:  []recovery.Event{farOrder(), shipmentCreated(), scan("rts", "returned_to_sender", "DE", "04103", t0.Add(2*time.Minute))},
		openAt: time.Minute, kind: recovery.KindReturnedToSender,
		heal: delivered,
	},
}

// healRun is one run of OrderWorkflow with the real RecoveryWorkflow as
// its child, on the in-memory store and the capture adapter.
type healRun struct {
	st   *recoverytest.MemStore
	sink *messaging.MemorySink
	// atHeal is how many messages were sent when the heal arrived.
	atHeal int
}

func runHeal(t *testing.T, tc healCase, settle, healAfter, healWindow time.Duration) healRun {
	t.Helper()
	cfg := recovery.DefaultDetection()
	if tc.cfg != nil {
		tc.cfg(&cfg)
	}
	cfg.HealWindow = healWindow
	if settle > 0 {
		cfg.Settle = map[recovery.Kind]time.Duration{tc.kind: settle}
	}
	env := quietSuite().NewTestWorkflowEnvironment()
	r := healRun{st: recoverytest.NewMemStore(), sink: &messaging.MemorySink{}}
	registerActivities(env, &activities.Activities{Store: r.st, Remedies: r.st, Outbox: r.st,
		Messenger: &messaging.Capture{Sink: r.sink}, Detection: cfg})
	env.RegisterWorkflow(RecoveryWorkflow)
	env.RegisterDelayedCallback(func() {
		r.st.Record(tc.opens...)
		env.SignalWorkflow(SignalEvents, EventsSignal{Events: tc.opens})
	}, time.Minute)
	healAt := tc.openAt + healAfter
	env.RegisterDelayedCallback(func() {
		r.atHeal = len(r.sink.Messages)
		env.SignalWorkflow(SignalEvents, EventsSignal{Events: tc.heal(t0.Add(healAt))})
	}, healAt)
	env.RegisterDelayedCallback(env.CancelWorkflow, healAt+healWindow+settle+time.Hour)
	env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	if err := env.GetWorkflowError(); err != nil && !errors.Is(err, workflow.ErrCanceled) && !isCanceled(err) {
		t.Fatalf("workflow error: %v", err)
	}
	return r
}

// incident returns the one incident the run opened.
func (r healRun) incident(t *testing.T, tc healCase) recovery.Incident {
	t.Helper()
	if len(r.st.Incidents) != 1 {
		t.Fatalf("%d incidents, want one %s", len(r.st.Incidents), tc.kind)
	}
	for _, inc := range r.st.Incidents {
		if inc.Kind != tc.kind {
			t.Fatalf("incident %+v, want kind %s", inc, tc.kind)
		}
		return inc
	}
	return recovery.Incident{}
}

// TestEveryWayAnIncidentHeals drives each heal (and each evidence that
// must not heal) through the order's workflow and the real incident
// workflow, once before the customer was told and once after.
func TestEveryWayAnIncidentHeals(t *testing.T) {
	for _, tc := range healCases {
		t.Run(tc.name+"/before contact", func(t *testing.T) {
			// The kind settles for 6 h; the evidence goes away after 1 h.
			r := runHeal(t, tc, 6*time.Hour, time.Hour, 24*time.Hour)
			inc := r.incident(t, tc)
			if tc.reason == "" {
				if len(r.sink.Messages) != 1 || inc.Status == recovery.IncidentHealed {
					t.Fatalf("%d messages, incident %s (%s): the evidence was hard, the customer must still hear from us",
						len(r.sink.Messages), inc.Status, inc.Resolution)
				}
				return
			}
			if len(r.sink.Messages) != 0 {
				t.Fatalf("healed before contact, yet %d messages: %+v", len(r.sink.Messages), r.sink.Messages[0].Subject)
			}
			if inc.Status != recovery.IncidentHealed || !strings.HasPrefix(inc.Resolution, "healed: "+tc.reason) || inc.ClosedAt == nil {
				t.Fatalf("incident %s (%s), want healed: %s", inc.Status, inc.Resolution, tc.reason)
			}
		})
		t.Run(tc.name+"/after contact", func(t *testing.T) {
			// Contacted at once; the evidence goes away 2 h later.
			r := runHeal(t, tc, 0, 2*time.Hour, 24*time.Hour)
			inc := r.incident(t, tc)
			if r.atHeal != 1 {
				t.Fatalf("%d messages before the heal, want the apology", r.atHeal)
			}
			switch {
			case tc.reason == "":
				if len(r.sink.Messages) != 1 || inc.Status != recovery.IncidentResolved {
					t.Fatalf("%d messages, incident %s (%s): hard evidence never heals", len(r.sink.Messages), inc.Status, inc.Resolution)
				}
			case tc.silent:
				if len(r.sink.Messages) != 1 || inc.Status != recovery.IncidentHealed || !strings.HasPrefix(inc.Resolution, "healed: "+tc.reason) {
					t.Fatalf("%d messages, incident %s (%s): want closed without another word", len(r.sink.Messages), inc.Status, inc.Resolution)
				}
			default:
				if len(r.sink.Messages) != 2 || !strings.HasPrefix(r.sink.Messages[1].Subject, "Gute Nachrichten") {
					t.Fatalf("%d messages, want the apology and the German \"all is well\" note", len(r.sink.Messages))
				}
				if inc.Status != recovery.IncidentHealed || !strings.HasPrefix(inc.Resolution, "healed: "+tc.reason) {
					t.Fatalf("incident %s (%s), want healed: %s", inc.Status, inc.Resolution, tc.reason)
				}
			}
		})
	}
}

// TestHealAfterTheHealWindowChangesNothing: once the heal window has
// passed the incident is resolved; evidence going away later sends
// nothing and leaves it resolved.
func TestHealAfterTheHealWindowChangesNothing(t *testing.T) {
	for _, tc := range healCases {
		if tc.reason == "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			r := runHeal(t, tc, 0, 30*time.Hour, 24*time.Hour)
			inc := r.incident(t, tc)
			if len(r.sink.Messages) != 1 || inc.Status != recovery.IncidentResolved || !strings.HasPrefix(inc.Resolution, "remedy applied") {
				t.Fatalf("%d messages, incident %s (%s): want the apology only, resolved", len(r.sink.Messages), inc.Status, inc.Resolution)
			}
		})
	}
}

// Package workflows holds the engine's Temporal workflows: OrderWorkflow,
// which keeps one order's state and detects what went wrong, and
// RecoveryWorkflow, which handles one incident. Their names, IDs and task
// queue are exported here; the detectors are pure functions beside them.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"

	"go.temporal.io/sdk/worker"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// TaskQueue is the task queue of every workflow and activity.
const TaskQueue = "recovery"

// SignalEvents is the signal that carries new events to OrderWorkflow.
const SignalEvents = "events"

// QueryState returns an OrderWorkflow's OrderSummary.
const QueryState = "state"

// EventsSignal carries one order's new events, in commit order.
type EventsSignal struct {
	Events []recovery.Event
}

// OrderWorkflowID returns the workflow ID of an order's workflow.
func OrderWorkflowID(orderID string) string { return "order/" + orderID }

// SignalHeal tells a RecoveryWorkflow that its evidence went away.
const SignalHeal = "heal"

// SignalIncidentClosed tells OrderWorkflow that one of its incidents'
// workflows ended (IncidentClosed), so that the problem, should it come
// back, opens a new incident.
const SignalIncidentClosed = "incident-closed"

// IncidentClosed says how an incident's workflow ended.
type IncidentClosed struct {
	IncidentID string
	ShipmentID string
	Kind       recovery.Kind
	// Failed is set when the workflow failed: the incident needs a person.
	Failed bool
}

// HealSignal says what healed an incident.
type HealSignal struct {
	// Reason in plain words, e.g. "delivered to the right address".
	Reason string
	// EventID is the event that showed it, when there is one.
	EventID string
	// OrderCancelled: the incident closes because the order was
	// cancelled, which is no good news to tell the customer.
	OrderCancelled bool `json:",omitempty"`
}

// RecoveryWorkflowID returns the workflow ID of the n-th incident (from 1)
// of kind on an order's shipment (shipmentID may be empty for order-level
// incidents). A kind can come back after an incident healed; each
// occurrence is its own workflow.
func RecoveryWorkflowID(orderID, shipmentID string, kind recovery.Kind, n int) string {
	id := "incident/" + orderID + "/" + shipmentID + "/" + string(kind)
	if n > 1 {
		id += "/" + strconv.Itoa(n)
	}
	return id
}

// IncidentID returns the stable, URL-safe public id of that incident.
func IncidentID(orderID, shipmentID string, kind recovery.Kind, n int) string {
	key := orderID + "\x00" + shipmentID + "\x00" + string(kind)
	if n > 1 {
		key += "\x00" + strconv.Itoa(n)
	}
	sum := sha256.Sum256([]byte(key))
	return "inc-" + hex.EncodeToString(sum[:10])
}

// changeSendQueues marks the change that sends each message on its
// provider's task queue (SendQueue).
const changeSendQueues = "send-queues"

// changeNoPersonalData marks the change that took personal data out of
// workflows: a follow-up in writing no longer looks up the customer's
// address in the workflow (see followUpWritten).
const changeNoPersonalData = "no-personal-data"

// Providers behind the channels: their send activities run on a task
// queue each, so that a rate set for it holds across every worker.
const (
	ProviderTwilio   = "twilio"
	ProviderSendGrid = "sendgrid"
)

// ProviderOf names the provider behind a channel.
func ProviderOf(channel string) string {
	if channel == recovery.ChannelEmail {
		return ProviderSendGrid
	}
	return ProviderTwilio
}

// SendQueue is the task queue of the sends on a channel, beside the
// workflows' queue taskQueue.
func SendQueue(taskQueue, channel string) string { return taskQueue + "-send-" + ProviderOf(channel) }

// Register registers the workflows and the activities on a worker.
func Register(r worker.Registry, a *activities.Activities) {
	r.RegisterWorkflow(OrderWorkflow)
	r.RegisterWorkflow(RecoveryWorkflow)
	r.RegisterActivity(a)
}

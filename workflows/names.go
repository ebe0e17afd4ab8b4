// Package workflows holds the engine's Temporal workflows: OrderWorkflow,
// which keeps one order's state and detects what went wrong, and
// RecoveryWorkflow, which handles one incident. Their names, IDs and task
// queue are exported here; the detectors are pure functions beside them.
package workflows

import (
	"crypto/sha256"
	"encoding/hex"

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

// RecoveryWorkflowID returns the workflow ID of the incident of kind on an
// order's shipment (shipmentID may be empty for order-level incidents).
func RecoveryWorkflowID(orderID, shipmentID string, kind recovery.Kind) string {
	return "incident/" + orderID + "/" + shipmentID + "/" + string(kind)
}

// IncidentID returns the stable, URL-safe public id of that incident.
func IncidentID(orderID, shipmentID string, kind recovery.Kind) string {
	sum := sha256.Sum256([]byte(orderID + "\x00" + shipmentID + "\x00" + string(kind)))
	return "inc-" + hex.EncodeToString(sum[:10])
}

// Register registers the workflows and the activities on a worker.
func Register(r worker.Registry, a *activities.Activities) {
	r.RegisterWorkflow(OrderWorkflow)
	r.RegisterWorkflow(RecoveryWorkflow)
	r.RegisterActivity(a)
}

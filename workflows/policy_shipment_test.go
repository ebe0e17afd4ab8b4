package workflows

import (
	"errors"
	"testing"
	"time"

	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/policy"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// TestPolicySeesTheShipment runs a DHL Express parcel misrouted to Poland
// through the order's workflow and the real incident workflow, under a
// policy whose first rule asks for shipment.carrier, service, status and
// delivered: the rule decides, so a policy can treat carriers and
// services differently, as the README promises.
func TestPolicySeesTheShipment(t *testing.T) {
	pol, err := policy.Parse("shipment.yaml", []byte(`version: "shipment-test"
rules:
  - name: dhl express in transit
    when: shipment.carrier == "dhl" && shipment.service == "express" && shipment.status == "in_transit" && !shipment.delivered && shipment.id == "s-1"
    remedies:
      - type: discount
        percent: 20
  - name: anything else
    when: "true"
    remedies:
      - type: discount
        percent: 5
`))
	if err != nil {
		t.Fatal(err)
	}
	env := quietSuite().NewTestWorkflowEnvironment()
	st, sink := recoverytest.NewMemStore(), &messaging.MemorySink{}
	registerActivities(env, &activities.Activities{Store: st, Remedies: st, Outbox: st, Policy: pol,
		Messenger: &messaging.Capture{Sink: sink}, Detection: recovery.DefaultDetection()})
	env.RegisterWorkflow(RecoveryWorkflow)
	created := mkEvent("s1", recovery.TypeShipmentCreated, t0.Add(time.Hour), recovery.ShipmentData{OrderID: "1001",
		ShipmentID: "s-1", Carrier: "dhl", Service: "express", Origin: &recovery.Location{Country: "DE", PostalCode: "04103"}})
	opens := []recovery.Event{farOrder(), created, scan("pl", "in_transit", "PL", "60-001", t0.Add(2*time.Minute))}
	env.RegisterDelayedCallback(func() {
		st.Record(opens...)
		env.SignalWorkflow(SignalEvents, EventsSignal{Events: opens})
	}, time.Minute)
	env.RegisterDelayedCallback(env.CancelWorkflow, 48*time.Hour)
	env.ExecuteWorkflow(OrderWorkflow, OrderInput{OrderID: "1001"})
	if err := env.GetWorkflowError(); err != nil && !errors.Is(err, workflow.ErrCanceled) && !isCanceled(err) {
		t.Fatalf("workflow error: %v", err)
	}
	if len(st.Incidents) != 1 {
		t.Fatalf("%d incidents, want the misroute", len(st.Incidents))
	}
	for _, inc := range st.Incidents {
		if inc.Decision == nil || inc.Decision.Rule != "dhl express in transit" {
			t.Fatalf("decision %+v, want the rule on the shipment's carrier, service and status", inc.Decision)
		}
	}
}

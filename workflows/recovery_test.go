package workflows

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

func quietSuite() *testsuite.WorkflowTestSuite {
	var s testsuite.WorkflowTestSuite
	s.SetLogger(log.NewStructuredLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	return &s
}

func recoveryInput(locale string) RecoveryInput {
	return RecoveryInput{
		Incident: recovery.Incident{ID: IncidentID("1001", "s-1", recovery.KindMisrouted, 1), OrderID: "1001",
			ShipmentID: "s-1", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen,
			DetectedAt: t0, Evidence: []string{"scan-pl"}, WorkflowID: "incident/1001/s-1/misrouted"},
		Order: recovery.OrderData{OrderID: "1001", Currency: "EUR", TotalMinor: 8999,
			Customer: recovery.Customer{Name: "Ada Weber", Email: "ada@example.com", Locale: locale}},
	}
}

func TestRecoveryWorkflowRecordsOffersAndApologises(t *testing.T) {
	env := quietSuite().NewTestWorkflowEnvironment()
	st, sink := recoverytest.NewMemStore(), &messaging.MemorySink{}
	registerActivities(env, &activities.Activities{Store: st, Remedies: st, Messenger: &messaging.Capture{Sink: sink}})
	in := seated(st, recoveryInput("de-DE"))
	env.ExecuteWorkflow(RecoveryWorkflow, in)
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var res RecoveryResult
	env.GetWorkflowResult(&res) //nolint:errcheck
	if res.Offer.ValueMinor != 1350 || res.Offer.Status != recovery.OfferApplied || res.Contact.Status != recovery.ContactSent {
		t.Fatalf("result = %+v", res)
	}
	if inc, ok := st.Incidents[in.Incident.ID]; !ok || inc.Evidence[0] != "scan-pl" {
		t.Fatalf("incident not recorded: %+v", st.Incidents)
	}
	if len(sink.Messages) != 1 || !strings.Contains(sink.Messages[0].Subject, "Es tut uns leid") {
		t.Fatalf("messages = %+v, want one German apology", sink.Messages)
	}
	if k := sink.Messages[0].IdempotencyKey; k != "default-test-workflow-id/step-1" {
		t.Fatalf("idempotency key %q must come from the workflow id and step", k)
	}
}

// Recorded histories; regenerate the ladder and order ones with
// RECOVERY_RECORD_HISTORY=1 go test ./workflows/recordhistory when a change
// is meant to alter history (and put that change behind
// workflow.GetVersion so that running workflows still replay).
const (
	// recoveryHistory predates the policy decision (workflow.GetVersion
	// keeps it replaying); it is kept, not re-recorded.
	recoveryHistory       = "testdata/recovery_workflow_history.json"
	recoveryPolicyHistory = "testdata/recovery_workflow_policy_history.json"
	// recoveryRemedyHistory acts on the decision: held for approval, then
	// approved through an update, the discount issued, the webhook sent.
	recoveryRemedyHistory = "testdata/recovery_workflow_remedy_history.json"
	// recoveryLadderHistory contacts through the ladder: approved, then an
	// SMS that Twilio could not deliver (a contact signal), then email.
	recoveryLadderHistory = "testdata/recovery_workflow_ladder_history.json"
	orderHistory          = "testdata/order_workflow_history.json"
)

func TestWorkflowsReplayRecordedHistories(t *testing.T) {
	for _, f := range []string{recoveryHistory, recoveryPolicyHistory, recoveryRemedyHistory, recoveryLadderHistory, orderHistory} {
		replayer := worker.NewWorkflowReplayer()
		replayer.RegisterWorkflow(RecoveryWorkflow)
		replayer.RegisterWorkflow(OrderWorkflow)
		if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s no longer replays: %v", f, err)
		}
	}
}

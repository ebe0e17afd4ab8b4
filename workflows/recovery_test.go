package workflows

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/log"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/worker"

	"github.com/recoveryhq/recovery/activities"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
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
	in := recoveryInput("de-DE")
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

// Recorded histories; regenerate them with RECOVERY_RECORD_HISTORY=1 when
// a change is meant to alter history (and put that change behind
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

// TestRecordHistories records the histories against the embedded Temporal
// server with a real worker; it runs only when asked to.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("RECOVERY_RECORD_HISTORY") != "1" {
		t.Skip("set RECOVERY_RECORD_HISTORY=1 to re-record the replay histories")
	}
	c, queue := recordingWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := recoveryInput("en-GB")
	in.Order.Customer.Phone = "+447700900123"
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "record/" + queue, TaskQueue: queue},
		RecoveryWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	for {
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", QueryRemedy)
		var view RemedyView
		if err == nil && v.Get(&view) == nil && view.Stage == StageAwaitingApproval {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: UpdateApprove,
		Args: []any{ApproveRequest{By: Approver{Name: "alice", LimitMajor: 100}}}, WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second) // the SMS goes out
	err = c.SignalWorkflow(ctx, run.GetID(), "", SignalContact, recovery.ContactEvent{IncidentID: in.Incident.ID, Step: 1,
		Channel: recovery.ChannelSMS, Outcome: recovery.OutcomeFailed, Detail: "undelivered"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, c, run.GetID(), run.GetRunID(), recoveryLadderHistory)

	orderID := "rec-" + queue
	evs := []recovery.Event{orderCreated(time.Now().Add(time.Hour)), shipmentCreated(),
		scan("scan-pl", "in_transit", "PL", "", time.Now())}
	for i := range evs {
		evs[i].Data = []byte(strings.Replace(string(evs[i].Data), `"1001"`, `"`+orderID+`"`, 1))
	}
	orun, err := c.SignalWithStartWorkflow(ctx, OrderWorkflowID(orderID), SignalEvents, EventsSignal{Events: evs},
		client.StartWorkflowOptions{TaskQueue: queue}, OrderWorkflow, OrderInput{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	for {
		v, err := c.QueryWorkflow(ctx, orun.GetID(), "", QueryState)
		var sum OrderSummary
		if err == nil && v.Get(&sum) == nil && len(sum.Incidents) == 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // let the child-started event land
	writeHistory(t, c, orun.GetID(), orun.GetRunID(), orderHistory)
	c.TerminateWorkflow(ctx, orun.GetID(), "", "recorded") //nolint:errcheck
}

// recordingWorker starts a worker with the real workflows and in-memory
// activities on a fresh task queue of the embedded server.
func recordingWorker(t *testing.T) (client.Client, string) {
	ts := stacktest.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: ts.Address(), Namespace: ts.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	queue := fmt.Sprintf("record-%d", time.Now().UnixNano())
	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(RecoveryWorkflow)
	w.RegisterWorkflow(OrderWorkflow)
	st := recoverytest.NewMemStore()
	w.RegisterActivity(&activities.Activities{Store: st, Remedies: st, Outbox: st,
		Messenger: &messaging.Capture{Sink: &messaging.MemorySink{}}, Policy: fixedPolicy{},
		// Recorded at any hour: the window is always open.
		Settings: activities.RemedySettings{Windows: recovery.WindowSettings{Default: recovery.ContactWindow{EndMin: 24 * 60}}}})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	return c, queue
}

// writeHistory writes a workflow's history as JSON.
func writeHistory(t *testing.T, c client.Client, id, runID, file string) {
	var hist historypb.History
	it := c.GetWorkflowHistory(context.Background(), id, runID, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		hist.Events = append(hist.Events, ev)
	}
	data, err := protojson.MarshalOptions{Indent: "  "}.Marshal(&hist)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, data, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded %d events to %s", len(hist.Events), file)
}

// fixedPolicy decides the same for every incident: a discount that needs
// approval.
type fixedPolicy struct{}

func (fixedPolicy) Decide(in recovery.DecisionInput) (recovery.RemedyDecision, error) {
	return recovery.RemedyDecision{PolicyVersion: "test", Rule: "all", NeedsApproval: true, Default: recovery.RemedyDiscount,
		Offers:   []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: recovery.Money{Minor: 900, Currency: "EUR"}}},
		Approval: recovery.ApprovalRule{AutoUpToMinor: 0, Role: "ops", EscalateAfter: time.Hour, Deadline: 2 * time.Hour},
		Ladder:   []string{recovery.ChannelSMS, recovery.ChannelEmail}, StepTimeout: time.Hour,
		Trace: []recovery.RuleTrace{{Rule: "all", Matched: true}}}, nil
}

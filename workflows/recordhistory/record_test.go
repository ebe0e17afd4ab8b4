// Package recordhistory records the workflow histories that the workflows
// package replays (workflows/testdata), against the embedded Temporal
// server with a real worker. It runs only when asked to:
//
//	RECOVERY_RECORD_HISTORY=1 go test ./workflows/recordhistory
//
// Re-record when a change is meant to alter history, and put that change
// behind workflow.GetVersion so that running workflows still replay. It
// lives apart from the workflows package so that the workflows tests do
// not link the embedded server (and stay cheap under the race detector).
package recordhistory

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
	"github.com/recoveryhq/recovery/workflows"
)

func TestMain(m *testing.M) { stacktest.Main(m) }

// The histories the workflows package replays; the older ones are kept,
// not re-recorded, so that their GetVersion branches keep replaying.
const (
	// ladderHistory contacts through the ladder: approved through an
	// update, then an SMS that Twilio could not deliver (a contact
	// signal), then email.
	ladderHistory = "../testdata/recovery_workflow_ladder_history.json"
	orderHistory  = "../testdata/order_workflow_history.json"
)

// TestRecordHistories records the histories; it runs only when asked to.
func TestRecordHistories(t *testing.T) {
	if os.Getenv("RECOVERY_RECORD_HISTORY") != "1" {
		t.Skip("a recorder, not a test: set RECOVERY_RECORD_HISTORY=1 to re-record the replay histories")
	}
	c, queue := recordingWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	orderID := "rec-" + queue
	in := workflows.RecoveryInput{
		Incident: recovery.Incident{ID: workflows.IncidentID(orderID, "s-1", recovery.KindMisrouted, 1), OrderID: orderID,
			ShipmentID: "s-1", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen,
			DetectedAt: time.Now(), Evidence: []string{"scan-pl"}, WorkflowID: "incident/" + orderID + "/s-1/misrouted"},
		Order: recovery.OrderData{OrderID: orderID, Currency: "EUR", TotalMinor: 8999,
			Customer: recovery.Customer{Name: "Ada Weber", Email: "ada@example.com", Phone: "+447700900123", Locale: "en-GB"}},
	}
	run, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: "record/" + queue, TaskQueue: queue},
		workflows.RecoveryWorkflow, in)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "awaiting approval", func() bool {
		v, err := c.QueryWorkflow(ctx, run.GetID(), "", workflows.QueryRemedy)
		var view workflows.RemedyView
		return err == nil && v.Get(&view) == nil && view.Stage == workflows.StageAwaitingApproval
	})
	h, err := c.UpdateWorkflow(ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: workflows.UpdateApprove,
		Args:         []any{workflows.ApproveRequest{By: workflows.Approver{Name: "alice", LimitMajor: 100}}},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the SMS step", func() bool { return sent.Load() >= 1 })
	err = c.SignalWorkflow(ctx, run.GetID(), "", workflows.SignalContact, recovery.ContactEvent{IncidentID: in.Incident.ID, Step: 1,
		Channel: recovery.ChannelSMS, Outcome: recovery.OutcomeFailed, Detail: "undelivered"})
	if err != nil {
		t.Fatal(err)
	}
	if err := run.Get(ctx, nil); err != nil {
		t.Fatal(err)
	}
	writeHistory(t, c, run.GetID(), run.GetRunID(), ladderHistory)

	orun, err := c.SignalWithStartWorkflow(ctx, workflows.OrderWorkflowID(orderID), workflows.SignalEvents,
		workflows.EventsSignal{Events: misroute(orderID)}, client.StartWorkflowOptions{TaskQueue: queue},
		workflows.OrderWorkflow, workflows.OrderInput{OrderID: orderID})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "the misroute incident", func() bool {
		v, err := c.QueryWorkflow(ctx, orun.GetID(), "", workflows.QueryState)
		var sum workflows.OrderSummary
		return err == nil && v.Get(&sum) == nil && len(sum.Incidents) == 1
	})
	waitFor(ctx, t, "the child's start in the order's history", func() bool {
		return hasEvent(c, orun.GetID(), enumspb.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED)
	})
	writeHistory(t, c, orun.GetID(), orun.GetRunID(), orderHistory)
	c.TerminateWorkflow(ctx, orun.GetID(), "", "recorded") //nolint:errcheck
}

// misroute is an order from Berlin whose parcel is scanned in Poland.
func misroute(orderID string) []recovery.Event {
	ev := func(id, typ string, data any) recovery.Event {
		raw, _ := json.Marshal(data)
		return recovery.Event{ID: id, Source: "test", Type: typ, Time: time.Now(), Data: raw}
	}
	promise := time.Now().Add(time.Hour)
	return []recovery.Event{
		ev("o1", recovery.TypeOrderCreated, recovery.OrderData{OrderID: orderID, Currency: "EUR", TotalMinor: 8999,
			PromisedDelivery: &promise, Customer: recovery.Customer{Email: "ada@example.com", Locale: "de-DE"},
			ShippingAddress: recovery.Location{PostalCode: "10115", Country: "DE"},
			Lines:           []recovery.OrderLine{{SKU: "LAMP-01", Quantity: 1, UnitPriceMinor: 8999}}}),
		ev("s1", recovery.TypeShipmentCreated, recovery.ShipmentData{OrderID: orderID, ShipmentID: "s-1",
			Origin: &recovery.Location{Country: "DE", PostalCode: "04103"}}),
		ev("scan-pl", recovery.TypeShipmentTracking, recovery.TrackingData{OrderID: orderID, ShipmentID: "s-1",
			Status: "in_transit", Location: &recovery.Location{Country: "PL"}}),
	}
}

// waitFor polls cond until it holds, failing when ctx ends first.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func hasEvent(c client.Client, id string, typ enumspb.EventType) bool {
	it := c.GetWorkflowHistory(context.Background(), id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return false
		}
		if ev.GetEventType() == typ {
			return true
		}
	}
	return false
}

// countingSink keeps captured messages and counts them.
type countingSink struct {
	messaging.MemorySink
	n atomic.Int64
}

func (s *countingSink) SaveCaptured(ctx context.Context, m recovery.Message) (string, error) {
	s.n.Add(1)
	return s.MemorySink.SaveCaptured(ctx, m)
}

func (s *countingSink) Load() int64 { return s.n.Load() }

// sent counts the messages the recording worker captured.
var sent = &countingSink{}

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
	w.RegisterWorkflow(workflows.RecoveryWorkflow)
	w.RegisterWorkflow(workflows.OrderWorkflow)
	st := recoverytest.NewMemStore()
	w.RegisterActivity(&activities.Activities{Store: st, Remedies: st, Outbox: st,
		Messenger: &messaging.Capture{Sink: sent}, Policy: fixedPolicy{},
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
	t.Logf("recorded %d events to %s", len(hist.Events), strings.TrimPrefix(file, "../"))
}

// fixedPolicy decides the same for every incident: a discount that needs
// approval, offered by SMS, then email.
type fixedPolicy struct{}

func (fixedPolicy) Decide(in recovery.DecisionInput) (recovery.RemedyDecision, error) {
	return recovery.RemedyDecision{PolicyVersion: "test", Rule: "all", NeedsApproval: true, Default: recovery.RemedyDiscount,
		Offers:   []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: recovery.Money{Minor: 900, Currency: "EUR"}}},
		Approval: recovery.ApprovalRule{AutoUpToMinor: 0, Role: "ops", EscalateAfter: time.Hour, Deadline: 2 * time.Hour},
		Ladder:   []string{recovery.ChannelSMS, recovery.ChannelEmail}, StepTimeout: time.Hour,
		Trace: []recovery.RuleTrace{{Rule: "all", Matched: true}}}, nil
}

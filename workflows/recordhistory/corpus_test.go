package recordhistory

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
	"github.com/recoveryhq/recovery/workflows"
)

// corpusDir is where the replay corpus lives: one history per path, each
// recorded from a real run on the embedded server, replayed by
// workflows.TestWorkflowsReplayTheCorpus on every test run.
const corpusDir = "../testdata/corpus/"

// corpusGeneration names the files recorded now: "<path>.<generation>.json".
// Each generation of workflow code that records differently (a new
// baseline of versions) gets files of its own beside the older ones,
// which stay to keep their branches replaying.
const corpusGeneration = "baseline-2026-12"

// corpusPolicy decides by the order's name: each path of the corpus asks
// for what it needs.
type corpusPolicy struct{}

func eur(minor int64) recovery.Money { return recovery.Money{Minor: minor, Currency: "EUR"} }

func (corpusPolicy) Decide(in recovery.DecisionInput) (recovery.RemedyDecision, error) {
	d := recovery.RemedyDecision{PolicyVersion: "corpus", Rule: "all", Default: recovery.RemedyDiscount,
		Offers:   []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: eur(900)}},
		Approval: recovery.ApprovalRule{AutoUpToMinor: -1}, Ladder: []string{recovery.ChannelEmail},
		StepTimeout: time.Hour, Trace: []recovery.RuleTrace{{Rule: "all", Matched: true}}}
	order := in.Incident.OrderID
	switch {
	case strings.HasPrefix(order, "choice-"):
		d.CustomerChooses, d.ChoiceTimeout, d.Default = true, time.Hour, recovery.RemedyRefund
		d.Offers = []recovery.RemedyOffer{{Remedy: recovery.RemedyRefund, Value: eur(8999)},
			{Remedy: recovery.RemedyStoreCredit, Value: eur(10000)}}
	case strings.HasPrefix(order, "deadline-"):
		d.NeedsApproval = true
		d.Approval = recovery.ApprovalRule{AutoUpToMinor: 0, Role: "ops", EscalateAfter: 2 * time.Second,
			Deadline: 4 * time.Second, OnDeadline: "apply_default"}
	case strings.HasPrefix(order, "window-"):
		// A window that opens at the next minute in the customer's zone
		// (the shipping country's, Germany's): the workflow waits for it
		// before anything is sent.
		berlin, _ := time.LoadLocation("Europe/Berlin")
		next := time.Now().In(berlin).Add(time.Minute).Truncate(time.Minute)
		end := next.Add(2 * time.Hour)
		if end.Day() != next.Day() { // a window does not cross midnight
			end = time.Date(next.Year(), next.Month(), next.Day(), 23, 59, 0, 0, berlin)
		}
		d.ContactWindow = next.Format("15:04") + "-" + end.Format("15:04")
	case strings.HasPrefix(order, "saga-"):
		d.Offers = append(d.Offers, recovery.RemedyOffer{Remedy: recovery.RemedyStoreCredit, Value: eur(1000)})
	}
	return d, nil
}

// refusingOutbox refuses the remedy webhooks of the saga's orders, as a
// commerce platform answering 4xx does.
type refusingOutbox struct{ next recovery.Outbox }

func (o refusingOutbox) Deliver(ctx context.Context, w recovery.OutboundWebhook) error {
	if w.Type == "remedy.discount" && strings.Contains(string(w.Data), `"order_id":"saga-`) {
		return fmt.Errorf("422 from the platform: %w", recovery.ErrInvalid)
	}
	return o.next.Deliver(ctx, w)
}

// corpus is a worker for the corpus and what it records with.
type corpus struct {
	t     *testing.T
	c     client.Client
	queue string
	st    *recoverytest.MemStore
	ctx   context.Context
	stamp string
}

func newCorpus(t *testing.T) *corpus {
	ts := stacktest.Temporal(t)
	c, err := client.Dial(client.Options{HostPort: ts.Address(), Namespace: ts.Namespace()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	stamp := fmt.Sprint(time.Now().UnixNano() % 1e9)
	queue := "corpus-" + stamp
	st := recoverytest.NewMemStore()
	det := recovery.DefaultDetection()
	det.OrderIdle, det.HealWindow = 3*time.Second, 5*time.Second
	acts := &activities.Activities{Store: st, Remedies: st, Outbox: refusingOutbox{st},
		Messenger: &messaging.Capture{Sink: sent}, Policy: corpusPolicy{}, Detection: det,
		Settings: activities.RemedySettings{WebhookAttempts: 2, WebhookInterval: time.Second,
			Windows:   recovery.WindowSettings{Default: recovery.ContactWindow{EndMin: 24 * 60}},
			Reporting: []string{recovery.ChannelEmail}, ConfirmWait: 2 * time.Second}}
	// The workflows' queue, and each provider's queue for the sends.
	for _, q := range []string{queue, workflows.SendQueue(queue, recovery.ChannelEmail), workflows.SendQueue(queue, recovery.ChannelSMS)} {
		w := worker.New(c, q, worker.Options{})
		workflows.Register(w, acts)
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Stop)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	t.Cleanup(cancel)
	return &corpus{t: t, c: c, queue: queue, st: st, ctx: ctx, stamp: stamp}
}

// incident starts RecoveryWorkflow for an order whose customer the store
// knows.
func (k *corpus) incident(prefix string) (client.WorkflowRun, workflows.RecoveryInput) {
	order := prefix + k.stamp
	k.st.SetOrderContact(order, recovery.Customer{Name: "Ada Weber", Email: "ada@example.com", Locale: "en-GB"},
		recovery.Location{Country: "DE", PostalCode: "10115"})
	in := workflows.RecoveryInput{
		Incident: recovery.Incident{ID: workflows.IncidentID(order, "s-1", recovery.KindMisrouted, 1), OrderID: order,
			ShipmentID: "s-1", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen, DetectedAt: time.Now(),
			Evidence: []string{"scan-pl"}, WorkflowID: "incident/" + order + "/s-1/misrouted"},
		Order: recovery.OrderData{OrderID: order, Currency: "EUR", TotalMinor: 8999,
			Customer:        recovery.Customer{ID: "c-1", Locale: "en-GB"},
			ShippingAddress: recovery.Location{Country: "DE", PostalCode: "10115"},
			Lines:           []recovery.OrderLine{{SKU: "LAMP-01", Quantity: 1, UnitPriceMinor: 8999}}},
		HealWindow: 5 * time.Second, FollowUpOnHeal: true,
	}
	run, err := k.c.ExecuteWorkflow(k.ctx, client.StartWorkflowOptions{ID: in.Incident.WorkflowID, TaskQueue: k.queue},
		workflows.RecoveryWorkflow, in)
	if err != nil {
		k.t.Fatal(err)
	}
	return run, in
}

// stage waits until the incident's workflow reaches a stage.
func (k *corpus) stage(run client.WorkflowRun, want string) {
	waitFor(k.ctx, k.t, want, func() bool {
		v, err := k.c.QueryWorkflow(k.ctx, run.GetID(), "", workflows.QueryRemedy)
		var view workflows.RemedyView
		return err == nil && v.Get(&view) == nil && view.Stage == want
	})
}

// done waits for a run to end and records its history as name.
func (k *corpus) done(run client.WorkflowRun, name string) {
	if err := run.Get(k.ctx, nil); err != nil {
		k.t.Fatalf("%s: %v", name, err)
	}
	writeHistory(k.t, k.c, run.GetID(), run.GetRunID(), corpusDir+name+"."+corpusGeneration+".json")
}

// signal sends events to an order's workflow, as the relay does (the
// store keeps them first).
func (k *corpus) signal(order string, evs ...recovery.Event) client.WorkflowRun {
	k.st.Record(evs...)
	sent := make([]recovery.Event, len(evs))
	for i, e := range evs {
		sent[i] = e.ForWorkflow()
	}
	run, err := k.c.SignalWithStartWorkflow(k.ctx, workflows.OrderWorkflowID(order), workflows.SignalEvents,
		workflows.EventsSignal{Events: sent}, client.StartWorkflowOptions{TaskQueue: k.queue},
		workflows.OrderWorkflow, workflows.OrderInput{OrderID: order})
	if err != nil {
		k.t.Fatal(err)
	}
	return run
}

func event(id, typ string, at time.Time, data any) recovery.Event {
	raw, _ := json.Marshal(data)
	return recovery.Event{ID: id, Source: "corpus", Type: typ, Time: at, Data: raw}
}

func delivered(order string, at time.Time) []recovery.Event {
	return []recovery.Event{
		event(order+"-o", recovery.TypeOrderCreated, at, recovery.OrderData{OrderID: order, Currency: "EUR", TotalMinor: 2500,
			Customer:        recovery.Customer{ID: "c-1", Name: "Ada Weber", Email: "ada@example.com"},
			ShippingAddress: recovery.Location{PostalCode: "10115", Country: "DE"},
			Lines:           []recovery.OrderLine{{SKU: "A", Quantity: 1, UnitPriceMinor: 2500}}}),
		event(order+"-s", recovery.TypeShipmentCreated, at, recovery.ShipmentData{OrderID: order, ShipmentID: "s-1",
			Origin: &recovery.Location{Country: "DE", PostalCode: "04103"}, Lines: []recovery.ShipmentLine{{SKU: "A", Quantity: 1}}}),
		event(order+"-d", recovery.TypeShipmentTracking, at, recovery.TrackingData{OrderID: order, ShipmentID: "s-1",
			Status: "delivered", Location: &recovery.Location{Country: "DE", PostalCode: "10115"}}),
	}
}

// TestRecordCorpus records one history per path the workflows take; it
// runs only when asked to:
//
//	RECOVERY_RECORD_HISTORY=1 go test ./workflows/recordhistory -run Corpus
//
// Record a new file when a path is added; never re-record an existing one
// for a change that alters history: put the change behind
// workflow.GetVersion, keep the old file, and add a new one (see
// docs/workflow-changes.md).
func TestRecordCorpus(t *testing.T) {
	if os.Getenv("RECOVERY_RECORD_HISTORY") != "1" {
		t.Skip("a recorder, not a test: set RECOVERY_RECORD_HISTORY=1 to record the replay corpus")
	}
	k := newCorpus(t)

	// The customer chooses on the page: a store credit instead of the
	// default refund.
	run, in := k.incident("choice-")
	k.stage(run, workflows.StageAwaitingChoice)
	h, err := k.c.UpdateWorkflow(k.ctx, client.UpdateWorkflowOptions{WorkflowID: run.GetID(), UpdateName: workflows.UpdateChoose,
		Args:         []any{workflows.ChooseRequest{Remedy: recovery.RemedyStoreCredit, By: "customer (choice page)"}},
		WaitForStage: client.WorkflowUpdateStageCompleted})
	if err != nil || h.Get(k.ctx, nil) != nil {
		t.Fatalf("choose: %v", err)
	}
	k.done(run, "choice")

	// Nobody approves: escalation after 2s, the deadline's default after 4s.
	run, _ = k.incident("deadline-")
	k.done(run, "escalation_and_deadline")

	// The contact window opens at the next minute.
	run, _ = k.incident("window-")
	k.done(run, "contact_window")

	// Healed after the apology: a follow-up.
	run, in = k.incident("heal-")
	waitFor(k.ctx, t, "the apology", func() bool {
		return len(k.st.Contacts) > 0 && k.st.Contacts[in.Incident.ID+"/1/email"].Status == recovery.ContactSent
	})
	if err := k.c.SignalWorkflow(k.ctx, run.GetID(), "", workflows.SignalHeal,
		workflows.HealSignal{Reason: "delivered to the right address", EventID: "scan-ok"}); err != nil {
		t.Fatal(err)
	}
	k.done(run, "heal_and_follow_up")

	// The platform refuses the discount: the saga voids its code and
	// carries out the store credit instead.
	run, _ = k.incident("saga-")
	k.done(run, "saga_fallback")

	// An order's own timer: the promise passes without a delivery.
	late := "late-" + k.stamp
	promise := time.Now().Add(3 * time.Second)
	orun := k.signal(late, event(late+"-o", recovery.TypeOrderCreated, time.Now(), recovery.OrderData{OrderID: late,
		Currency: "EUR", TotalMinor: 2000, PromisedDelivery: &promise, Customer: recovery.Customer{Email: "late@example.com"},
		ShippingAddress: recovery.Location{PostalCode: "94107", Country: "US"},
		Lines:           []recovery.OrderLine{{SKU: "A", Quantity: 1, UnitPriceMinor: 2000}}}))
	waitFor(k.ctx, t, "the late incident", func() bool {
		v, err := k.c.QueryWorkflow(k.ctx, orun.GetID(), "", workflows.QueryState)
		var sum workflows.OrderSummary
		return err == nil && v.Get(&sum) == nil && len(sum.Incidents) == 1
	})
	// Delivered afterwards: the incident heals, ends, and the order
	// completes once idle.
	k.signal(late, event(late+"-s", recovery.TypeShipmentCreated, time.Now(), recovery.ShipmentData{OrderID: late, ShipmentID: "s-1"}),
		event(late+"-d", recovery.TypeShipmentTracking, time.Now(), recovery.TrackingData{OrderID: late, ShipmentID: "s-1",
			Status: "delivered", Location: &recovery.Location{Country: "US", PostalCode: "94107"}}))
	k.done(orun, "order_timer_heal_and_completion")

	// A happy order completes once idle; a late scan resumes it from its
	// projection and opens a misroute.
	happy := "happy-" + k.stamp
	orun = k.signal(happy, delivered(happy, time.Now())...)
	k.done(orun, "order_completion")
	orun = k.signal(happy, event(happy+"-late", recovery.TypeShipmentTracking, time.Now(), recovery.TrackingData{OrderID: happy,
		ShipmentID: "s-1", Status: "delivered", Location: &recovery.Location{Country: "DE", PostalCode: "80331"}}))
	waitFor(k.ctx, t, "the resumed order's incident", func() bool {
		v, err := k.c.QueryWorkflow(k.ctx, orun.GetID(), "", workflows.QueryState)
		var sum workflows.OrderSummary
		return err == nil && v.Get(&sum) == nil && len(sum.Incidents) == 1
	})
	k.done(orun, "order_resumed_from_projection")

	// Continue-as-new: more signals than one run takes.
	busy := "busy-" + k.stamp
	first := k.signal(busy, delivered(busy, time.Now())[0])
	for i := range 420 {
		k.signal(busy, event(fmt.Sprintf("%s-inv-%d", busy, i), recovery.TypeInventoryChanged, time.Now(),
			recovery.InventoryData{OrderID: busy, SKU: "A", Available: int64(i + 1)}))
	}
	waitFor(k.ctx, t, "the continue-as-new", func() bool {
		d, err := k.c.DescribeWorkflowExecution(k.ctx, first.GetID(), first.GetRunID())
		return err == nil && d.WorkflowExecutionInfo.GetStatus() == enumspb.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW
	})
	writeHistory(t, k.c, first.GetID(), first.GetRunID(), corpusDir+"order_continue_as_new."+corpusGeneration+".json")
	k.c.TerminateWorkflow(k.ctx, first.GetID(), "", "recorded") //nolint:errcheck
}

// TestRecordCorpusUnconfirmed records the path of an apology whose first
// attempt died after its ledger row (seeded "sending"): the step ends
// unconfirmed, the provider reports nothing within the wait, and the
// apology goes out again as step 2 (the change confirm-unconfirmed):
//
//	RECOVERY_RECORD_HISTORY=1 go test ./workflows/recordhistory -run CorpusUnconfirmed
func TestRecordCorpusUnconfirmed(t *testing.T) {
	if os.Getenv("RECOVERY_RECORD_HISTORY") != "1" {
		t.Skip("a recorder, not a test: set RECOVERY_RECORD_HISTORY=1 to record the replay corpus")
	}
	k := newCorpus(t)
	order := "resend-" + k.stamp
	id := workflows.IncidentID(order, "s-1", recovery.KindMisrouted, 1)
	if _, _, err := k.st.BeginContact(k.ctx, recovery.Contact{IncidentID: id, Step: 1, Channel: recovery.ChannelEmail,
		To: "ada@example.com", Status: recovery.ContactSending}); err != nil {
		t.Fatal(err)
	}
	run, _ := k.incident("resend-")
	k.done(run, "unconfirmed_sent_again")
	if c := k.st.Contacts[id+"/2/email"]; c.Status != recovery.ContactSent {
		t.Fatalf("step 2 is %q, want the apology sent again", c.Status)
	}
}

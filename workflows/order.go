package workflows

import (
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// continueAsNewAfter is the history length at which OrderWorkflow starts
// afresh with its state, well before Temporal's limits. A variable so that
// tests can lower it.
var continueAsNewAfter = 2000

// signalsPerRun also bounds a run: each signal adds a few history events.
// A variable so that tests can lower it (the test environment does not
// count history).
var signalsPerRun = 400

// orderRun is one run of OrderWorkflow: its state plus the live late timer.
type orderRun struct {
	ctx        workflow.Context
	st         *OrderState
	lateTimer  workflow.Future
	lateCancel workflow.CancelFunc
	lateFor    time.Time
	signals    int
}

// OrderWorkflow keeps one order's state, folds in the events the relay
// signals, detects what went wrong and starts one RecoveryWorkflow per
// (order, shipment, kind).
func OrderWorkflow(ctx workflow.Context, in OrderInput) error {
	r := &orderRun{ctx: ctx, st: in.State}
	if r.st == nil {
		r.st = newState(in.OrderID)
	}
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (OrderSummary, error) {
		return r.st.summary(), nil
	}); err != nil {
		return err
	}
	sig := workflow.GetSignalChannel(ctx, SignalEvents)
	for {
		r.armLate()
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.AddReceive(sig, func(c workflow.ReceiveChannel, _ bool) {
			var s EventsSignal
			c.Receive(ctx, &s)
			r.signals++
			r.handle(s.Events)
		})
		if r.lateTimer != nil {
			timer := r.lateTimer
			sel.AddFuture(timer, func(f workflow.Future) {
				if timer == r.lateTimer && f.Get(ctx, nil) == nil {
					r.lateFired()
				}
			})
		}
		sel.Select(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		info := workflow.GetInfo(ctx)
		if info.GetContinueAsNewSuggested() || info.GetCurrentHistoryLength() > continueAsNewAfter || r.signals >= signalsPerRun {
			for {
				var s EventsSignal
				if !sig.ReceiveAsync(&s) {
					break
				}
				r.handle(s.Events)
			}
			return workflow.NewContinueAsNewError(ctx, OrderWorkflow, OrderInput{OrderID: r.st.OrderID, State: r.st})
		}
	}
}

// handle applies a batch of events and acts on what they reveal.
func (r *orderRun) handle(evs []recovery.Event) {
	log := workflow.GetLogger(r.ctx)
	orderWasKnown := r.st.Order != nil
	var findings []Finding
	for _, e := range evs {
		shipmentID, scan, ok := r.st.apply(e)
		if !ok {
			log.Debug("duplicate event ignored", "event_id", e.ID)
			continue
		}
		if scan != nil {
			if f, found := DetectMisroute(r.st.Order, r.st.Shipments[shipmentID], *scan); found {
				findings = append(findings, f)
			}
		}
		if e.Type == recovery.TypeShipmentCreated && r.st.Order != nil {
			findings = append(findings, DetectAll(r.st)...) // an origin can reveal earlier scans
		}
	}
	if !orderWasKnown && r.st.Order != nil {
		findings = append(findings, DetectAll(r.st)...)
	}
	if r.st.Cancelled {
		r.cancelLate()
		return
	}
	for _, f := range findings {
		r.open(f)
	}
	r.flushPending()
	if r.st.allDelivered() {
		r.cancelLate()
	}
}

// open starts the incident for a finding unless one was started for its
// (shipment, kind); without the order it waits in Pending.
func (r *orderRun) open(f Finding) {
	key := f.ShipmentID + "\x00" + string(f.Kind)
	if _, done := r.st.Opened[key]; done {
		return
	}
	for _, p := range r.st.Pending {
		if p.ShipmentID == f.ShipmentID && p.Kind == f.Kind {
			return
		}
	}
	if r.st.Order == nil {
		r.st.Pending = append(r.st.Pending, f)
		return
	}
	r.start(f)
}

// flushPending starts the findings that waited for the order.
func (r *orderRun) flushPending() {
	if r.st.Order == nil || len(r.st.Pending) == 0 {
		return
	}
	pending := r.st.Pending
	r.st.Pending = nil
	for _, f := range pending {
		r.open(f)
	}
}

// start launches the child RecoveryWorkflow and waits until it has started.
func (r *orderRun) start(f Finding) {
	ctx := r.ctx
	id := IncidentID(r.st.OrderID, f.ShipmentID, f.Kind)
	r.st.Opened[f.ShipmentID+"\x00"+string(f.Kind)] = id
	wfID := RecoveryWorkflowID(r.st.OrderID, f.ShipmentID, f.Kind)
	in := RecoveryInput{
		Incident: recovery.Incident{ID: id, OrderID: r.st.OrderID, ShipmentID: f.ShipmentID, Kind: f.Kind,
			Status: recovery.IncidentOpen, DetectedAt: workflow.Now(ctx), Evidence: f.Evidence,
			Reason: f.Reason, WorkflowID: wfID},
		Order: *r.st.Order,
	}
	cctx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{
		WorkflowID:            wfID,
		TaskQueue:             TaskQueue,
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	})
	var exec workflow.Execution
	err := workflow.ExecuteChildWorkflow(cctx, RecoveryWorkflow, in).GetChildWorkflowExecution().Get(ctx, &exec)
	switch {
	case err == nil:
		workflow.GetLogger(ctx).Info("incident opened", "incident_id", id, "kind", f.Kind)
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		workflow.GetLogger(ctx).Info("incident already open", "incident_id", id)
	default:
		workflow.GetLogger(ctx).Error("start recovery workflow", "incident_id", id, "error", err)
	}
}

// armLate starts the late timer for the current promise if one is due.
func (r *orderRun) armLate() {
	p := r.st.promise()
	if r.lateTimer != nil && (p == nil || !p.Equal(r.lateFor)) {
		r.cancelLate() // the promise moved
	}
	if r.lateTimer != nil || p == nil || r.st.Cancelled || r.st.allDelivered() {
		return
	}
	if r.st.LateFiredFor != nil && r.st.LateFiredFor.Equal(*p) {
		return
	}
	d := p.Sub(workflow.Now(r.ctx))
	if d < time.Second {
		d = time.Second
	}
	tctx, cancel := workflow.WithCancel(r.ctx)
	r.lateTimer, r.lateCancel, r.lateFor = workflow.NewTimer(tctx, d), cancel, *p
}

func (r *orderRun) cancelLate() {
	if r.lateCancel != nil {
		r.lateCancel()
	}
	r.lateTimer, r.lateCancel = nil, nil
}

// lateFired opens a late incident for every undelivered shipment.
func (r *orderRun) lateFired() {
	fired := r.lateFor
	r.lateTimer, r.lateCancel = nil, nil
	r.st.LateFiredFor = &fired
	if r.st.Cancelled || r.st.allDelivered() || r.st.Order == nil {
		return
	}
	for _, f := range LateFindings(r.st, r.st.PromiseEvent) {
		r.open(f)
	}
}

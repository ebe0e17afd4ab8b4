package workflows

import (
	"encoding/json"
	"sort"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
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

// changeTrackingResolution marks the change that gives a carrier's scan
// to the shop's shipment carrying its tracking number.
const changeTrackingResolution = "tracking-resolution"

// changeOrderCompletes marks the change after which an order's workflow
// completes once the order is finished and idle (saving its projection),
// a fresh run starts from that projection, and Seen is bounded.
const changeOrderCompletes = "order-completes"

// changeOrderEventTime marks the change after which order fields follow
// event time: an older order.updated never rolls a newer value back.
const changeOrderEventTime = "order-event-time"

// orderRun is one run of OrderWorkflow: its state plus the live timer.
type orderRun struct {
	ctx     workflow.Context
	st      *OrderState
	cfg     recovery.DetectionConfig
	timer   workflow.Future
	cancel  workflow.CancelFunc
	timerAt time.Time
	signals int
	// completes is set when the run may complete (changeOrderCompletes).
	// timerIdle marks the live timer as the idle one; idleOver is set
	// when it fired.
	completes, timerIdle, idleOver bool
}

// OrderWorkflow keeps one order's state, folds in the events the relay
// signals, detects what went wrong (from events, and from deadlines that
// pass: the promise, the stall limit, the pickup limit), starts one
// RecoveryWorkflow per (order, shipment, kind) occurrence and tells it when
// its evidence goes away.
func OrderWorkflow(ctx workflow.Context, in OrderInput) error {
	ctx = withBaseline(ctx)
	r := &orderRun{ctx: ctx, st: in.State}
	fresh := r.st == nil
	if fresh {
		r.st = newState(in.OrderID)
	}
	r.st.init()
	r.st.resolveTracking = changed(ctx, changeTrackingResolution)
	r.completes = changed(ctx, changeOrderCompletes)
	r.st.boundSeen = r.completes
	r.st.orderByTime = changed(ctx, changeOrderEventTime)
	if err := workflow.SetQueryHandler(ctx, QueryState, func() (OrderSummary, error) {
		return r.st.summary(), nil
	}); err != nil {
		return err
	}
	if fresh && r.completes {
		if err := r.resume(in.OrderID); err != nil {
			return err
		}
	} else if r.st.Config == nil {
		lctx := workflow.WithLocalActivityOptions(ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
		var a *activities.Activities
		var cfg recovery.DetectionConfig
		if err := workflow.ExecuteLocalActivity(lctx, a.DetectionConfig).Get(ctx, &cfg); err != nil {
			return err
		}
		r.st.Config = &cfg
	}
	r.cfg = *r.st.Config
	sig := workflow.GetSignalChannel(ctx, SignalEvents)
	closes := workflow.GetSignalChannel(ctx, SignalIncidentClosed)
	for {
		r.arm()
		sel := workflow.NewSelector(ctx)
		sel.AddReceive(ctx.Done(), func(workflow.ReceiveChannel, bool) {})
		sel.AddReceive(sig, func(c workflow.ReceiveChannel, _ bool) {
			var s EventsSignal
			c.Receive(ctx, &s)
			r.signals++
			r.st.LastEventAt = workflow.Now(ctx)
			r.handle(s.Events)
		})
		sel.AddReceive(closes, func(c workflow.ReceiveChannel, _ bool) {
			var s IncidentClosed
			c.Receive(ctx, &s)
			r.signals++
			r.closed(s)
		})
		if r.timer != nil {
			timer := r.timer
			sel.AddFuture(timer, func(f workflow.Future) {
				if timer == r.timer && f.Get(ctx, nil) == nil {
					idle := r.timerIdle
					r.timer, r.cancel, r.timerIdle = nil, nil, false
					if idle {
						r.idleOver = true
					} else {
						r.fireDue()
					}
				}
			})
		}
		sel.Select(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if r.idleOver {
			r.idleOver = false
			if done, err := r.finish(sig, closes); done || err != nil {
				return err
			}
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
			for {
				var s IncidentClosed
				if !closes.ReceiveAsync(&s) {
					break
				}
				r.closed(s)
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
		sh := r.st.Shipments[shipmentID]
		switch {
		case scan != nil:
			findings = append(findings, DetectScan(r.st, sh, *scan, r.cfg)...)
		case e.Type == recovery.TypeShipmentCreated && sh != nil && r.st.Order != nil:
			findings = append(findings, DetectAll(r.st, r.cfg)...) // an origin can reveal earlier scans
		case e.Type == recovery.TypeInventoryChanged:
			if f, ok := DetectOutOfStock(r.st); ok {
				findings = append(findings, f)
			}
		}
	}
	if !orderWasKnown && r.st.Order != nil {
		findings = append(findings, DetectAll(r.st, r.cfg)...)
	}
	r.heal()
	if r.st.Cancelled {
		return
	}
	for _, f := range findings {
		r.open(f)
	}
	r.flushPending()
}

// open starts an incident for a finding unless one is open for its
// (shipment, kind), the finding is overtaken by newer evidence, or an
// earlier incident of that key healed on newer evidence. Without the order
// it waits in Pending.
func (r *orderRun) open(f Finding) {
	key := f.ShipmentID + "\x00" + string(f.Kind)
	ref := r.st.Incidents[key]
	if ref != nil && (ref.Open || !f.EvidenceAt.After(ref.ClosedAt)) {
		return
	}
	switch atRisk := r.st.Incidents[f.ShipmentID+"\x00"+string(recovery.KindAtRisk)]; {
	case f.Kind == recovery.KindLate && atRisk != nil && atRisk.Open && r.st.Order != nil:
		r.becameLate(atRisk, f)
		return
	case f.Kind == recovery.KindAtRisk:
		if late := r.st.Incidents[f.ShipmentID+"\x00"+string(recovery.KindLate)]; late != nil && late.Open {
			return // already late: being at risk adds nothing
		}
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
	if stale(r.st, f) {
		return
	}
	r.start(f, ref)
}

// becameLate turns an open at_risk incident into the late one when the
// promise passes undelivered: the customer has already heard from us, so
// no second incident (and no second apology) is opened. The incident
// keeps its workflow; its projection and audit trail say it is late now,
// and from here it heals as a late incident does.
func (r *orderRun) becameLate(ref *IncidentRef, f Finding) {
	delete(r.st.Incidents, ref.ShipmentID+"\x00"+string(recovery.KindAtRisk))
	ref.Kind, ref.EvidenceAt = recovery.KindLate, f.EvidenceAt
	r.st.Incidents[ref.ShipmentID+"\x00"+string(recovery.KindLate)] = ref
	var a *activities.Activities
	ctx := workflow.WithActivityOptions(r.ctx, activityOptions)
	err := workflow.ExecuteActivity(ctx, a.BecameLate, activities.BecameLateInput{IncidentID: ref.ID, Reason: f.Reason}).Get(ctx, nil)
	if err != nil {
		workflow.GetLogger(r.ctx).Error("record an at-risk incident as late", "incident_id", ref.ID, "error", err)
	}
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
func (r *orderRun) start(f Finding, prev *IncidentRef) {
	ctx := r.ctx
	n := 1
	if prev != nil {
		n = prev.N + 1
	}
	id := IncidentID(r.st.OrderID, f.ShipmentID, f.Kind, n)
	wfID := RecoveryWorkflowID(r.st.OrderID, f.ShipmentID, f.Kind, n)
	r.st.Incidents[f.ShipmentID+"\x00"+string(f.Kind)] = &IncidentRef{ID: id, WorkflowID: wfID, Kind: f.Kind,
		ShipmentID: f.ShipmentID, N: n, Open: true, Code: f.Code, EvidenceAt: f.EvidenceAt, Since: f.Since}
	in := RecoveryInput{
		Incident: recovery.Incident{ID: id, OrderID: r.st.OrderID, ShipmentID: f.ShipmentID, Kind: f.Kind,
			Status: recovery.IncidentOpen, DetectedAt: workflow.Now(ctx), Evidence: f.Evidence,
			Reason: f.Reason, WorkflowID: wfID},
		Order:            *r.st.Order,
		Settle:           r.cfg.Settle[f.Kind],
		FollowUpOnHeal:   r.cfg.FollowUpOnHeal,
		HealWindow:       r.cfg.HealWindow,
		Code:             f.Code,
		SearchAttributes: r.cfg.SearchAttributes,
	}
	if sh := r.st.Shipments[f.ShipmentID]; sh != nil {
		in.Carrier = sh.Carrier
		in.Shipment = sh.facts()
	}
	opts := workflow.ChildWorkflowOptions{
		WorkflowID:            wfID,
		TaskQueue:             workflow.GetInfo(ctx).TaskQueueName, // the order's own
		ParentClosePolicy:     enumspb.PARENT_CLOSE_POLICY_ABANDON,
		WorkflowIDReusePolicy: enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
	}
	if in.SearchAttributes && baseline(ctx) { // set with the start, not upserted by the incident
		in.AttributesAtStart = true
		opts.TypedSearchAttributes = temporal.NewSearchAttributes(incidentAttributes(in, StageDeciding)...)
	}
	cctx := workflow.WithChildOptions(ctx, opts)
	var exec workflow.Execution
	err := workflow.ExecuteChildWorkflow(cctx, RecoveryWorkflow, in).GetChildWorkflowExecution().Get(ctx, &exec)
	switch {
	case err == nil:
		workflow.GetLogger(ctx).Info("incident opened", "incident_id", id, "kind", f.Kind)
	case temporal.IsWorkflowExecutionAlreadyStartedError(err):
		workflow.GetLogger(ctx).Info("incident already open", "incident_id", id)
	default:
		workflow.GetLogger(ctx).Error("start recovery workflow", "incident_id", id, "error", err)
		// Not left open for ever: the next evidence may start it again.
		if changed(ctx, changeReportClose) {
			r.st.Incidents[f.ShipmentID+"\x00"+string(f.Kind)].Open = false
		}
	}
}

// closed records that an incident's workflow ended. One that failed no
// longer holds its key: the problem's next evidence opens a new incident.
func (r *orderRun) closed(s IncidentClosed) {
	ref := r.st.Incidents[s.ShipmentID+"\x00"+string(s.Kind)]
	if ref == nil || ref.ID != s.IncidentID {
		ref = nil // an at_risk incident that became late is kept under late
		for _, x := range r.st.Incidents {
			if x.ID == s.IncidentID {
				ref = x
			}
		}
	}
	if ref == nil {
		return
	}
	ref.Ended = true
	if ref.Open && s.Failed {
		ref.Open, ref.ClosedAt = false, workflow.Now(r.ctx)
	}
}

// resume starts a fresh run from the order's projection, if an earlier
// run completed, with the detection limits as they are now.
func (r *orderRun) resume(orderID string) error {
	lctx := workflow.WithLocalActivityOptions(r.ctx, workflow.LocalActivityOptions{StartToCloseTimeout: 10 * time.Second})
	var a *activities.Activities
	var res activities.OrderStartResult
	if err := workflow.ExecuteLocalActivity(lctx, a.OrderStart, orderID).Get(r.ctx, &res); err != nil {
		return err
	}
	if len(res.State) > 0 {
		var prev OrderState
		if err := json.Unmarshal(res.State, &prev); err == nil && prev.OrderID == orderID {
			prev.resolveTracking, prev.boundSeen, prev.orderByTime = r.st.resolveTracking, r.st.boundSeen, r.st.orderByTime
			prev.init()
			r.st = &prev
			workflow.GetLogger(r.ctx).Info("order resumed from its projection", "order_id", orderID)
		}
	}
	r.st.Config = &res.Config
	return nil
}

// drain applies whatever signals are waiting; it reports whether there
// were any.
func (r *orderRun) drain(sig, closes workflow.ReceiveChannel) bool {
	got := false
	for {
		var s EventsSignal
		if !sig.ReceiveAsync(&s) {
			break
		}
		got = true
		r.st.LastEventAt = workflow.Now(r.ctx)
		r.handle(s.Events)
	}
	for {
		var s IncidentClosed
		if !closes.ReceiveAsync(&s) {
			break
		}
		got = true
		r.closed(s)
	}
	return got
}

// finish completes the run when the order is finished and stayed idle:
// its projection is saved first, for the run a later event starts. News
// that arrives meanwhile keeps it going.
func (r *orderRun) finish(sig, closes workflow.ReceiveChannel) (bool, error) {
	if !r.st.quiet() || r.drain(sig, closes) {
		return false, nil
	}
	state, err := json.Marshal(r.st)
	if err != nil {
		return false, err
	}
	var a *activities.Activities
	actx := workflow.WithActivityOptions(r.ctx, activityOptions)
	if err := dbStep(actx, a.SaveOrderState, activities.SaveOrderStateInput{OrderID: r.st.OrderID,
		State: state}).Get(r.ctx, nil); err != nil {
		workflow.GetLogger(r.ctx).Error("save the order's projection; the order stays open", "order_id", r.st.OrderID, "error", err)
		return false, nil
	}
	if r.drain(sig, closes) {
		return false, nil
	}
	workflow.GetLogger(r.ctx).Info("order finished", "order_id", r.st.OrderID)
	return true, nil
}

// heal tells each open incident whose evidence went away, in key order.
func (r *orderRun) heal() {
	now := workflow.Now(r.ctx)
	keys := make([]string, 0, len(r.st.Incidents))
	for k, ref := range r.st.Incidents {
		if ref.Open {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ref := r.st.Incidents[k]
		reason, evidence, at, ok := Healed(r.st, ref, now)
		if !ok {
			continue
		}
		ref.Open, ref.ClosedAt = false, at
		err := workflow.SignalExternalWorkflow(r.ctx, ref.WorkflowID, "", SignalHeal,
			HealSignal{Reason: reason, EventID: evidence, OrderCancelled: r.st.Cancelled}).Get(r.ctx, nil)
		if err != nil { // the incident workflow already finished: nothing left to tell
			workflow.GetLogger(r.ctx).Info("heal not delivered", "incident_id", ref.ID, "error", err)
		}
	}
	if r.st.Cancelled {
		r.st.Pending = nil
	}
}

// arm keeps one timer for the earliest deadline the state implies, or,
// when the order is finished and the run may complete, for the end of its
// idle time.
func (r *orderRun) arm() {
	dues := Dues(r.st, r.cfg)
	var at time.Time
	idle := false
	switch wait, ok := r.cfg.Idle(); {
	case len(dues) > 0:
		at = dues[0].At
	case r.completes && ok && r.st.quiet():
		if r.st.LastEventAt.IsZero() { // carried from before it was kept
			r.st.LastEventAt = workflow.Now(r.ctx)
		}
		at, idle = r.st.LastEventAt.Add(wait), true
	default:
		r.disarm()
		return
	}
	if r.timer != nil && r.timerAt.Equal(at) && r.timerIdle == idle {
		return
	}
	r.disarm()
	d := at.Sub(workflow.Now(r.ctx))
	if d < time.Second {
		d = time.Second
	}
	tctx, cancel := workflow.WithCancel(r.ctx)
	r.timer, r.cancel, r.timerAt, r.timerIdle = workflow.NewTimer(tctx, d), cancel, at, idle
}

func (r *orderRun) disarm() {
	if r.cancel != nil {
		r.cancel()
	}
	r.timer, r.cancel, r.timerIdle = nil, nil, false
}

// fireDue acts on every deadline that has passed.
func (r *orderRun) fireDue() {
	now := workflow.Now(r.ctx)
	for _, d := range Dues(r.st, r.cfg) {
		if d.At.After(now) {
			break
		}
		r.st.Fired[d.Key] = d.At
		if d.Kind == recovery.KindLate {
			r.st.LateFiredFor = &d.At
		}
		for _, f := range FireDue(r.st, r.cfg, d) {
			r.open(f)
		}
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/workflows"
)

// actions counts what a workflow's history costs in Temporal Cloud
// Actions, as Cloud meters them (docs.temporal.io/cloud/actions, and the
// Temporal UI's per-event estimate): a start 1 (SignalWithStart 1 in all),
// each signal 1, each accepted update 1, each activity scheduled 1 and 1
// per retry, the markers of one workflow task 1 (version markers free),
// each timer 1, each child start 2, each search-attribute upsert 1. What
// histories do not hold (queries, activity heartbeats, rejected updates)
// is not counted.
func actions(events []*historypb.HistoryEvent) int {
	n := 0
	markerTasks := map[int64]bool{}
	for _, e := range events {
		switch e.GetEventType() {
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
			enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_TIMER_STARTED,
			enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
			n++
		case enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
			if e.GetEventId() != 2 { // SignalWithStart's signal is part of its start
				n++
			}
		case enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			n += max(0, int(e.GetActivityTaskStartedEventAttributes().GetAttempt())-1)
		case enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
			n += 2
		case enumspb.EVENT_TYPE_MARKER_RECORDED:
			a := e.GetMarkerRecordedEventAttributes()
			if a.GetMarkerName() != "Version" && !markerTasks[a.GetWorkflowTaskCompletedEventId()] {
				markerTasks[a.GetWorkflowTaskCompletedEventId()] = true
				n++
			}
		}
	}
	return n
}

// history reads a workflow's latest run's events.
func history(ctx context.Context, c client.Client, id string) ([]*historypb.HistoryEvent, error) {
	it := c.GetWorkflowHistory(ctx, id, "", false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	var out []*historypb.HistoryEvent
	for it.HasNext() {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// settled reads a workflow's history once it has stopped growing with no
// workflow task pending (the worker may still be busy with an earlier
// phase's orders).
func settled(ctx context.Context, c client.Client, id string) ([]*historypb.HistoryEvent, error) {
	deadline := time.Now().Add(2 * time.Minute)
	last := -1
	for {
		evs, err := history(ctx, c, id)
		idle := len(evs) > 0
		if idle {
			switch evs[len(evs)-1].GetEventType() {
			case enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enumspb.EVENT_TYPE_WORKFLOW_TASK_STARTED,
				enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED,
				enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
				idle = false
			}
		}
		if err == nil && idle && len(evs) == last {
			return evs, nil
		}
		if time.Now().After(deadline) {
			return evs, fmt.Errorf("%s: history still growing after two minutes (%v)", id, err)
		}
		last = len(evs)
		time.Sleep(time.Second)
	}
}

// costPerOrder prints what one order costs in Temporal Actions and history
// events: a correct journey (5 events, delivered) and a misroute whose
// customer gets one apology with an automatic discount, beside the naive
// design of a workflow started per event.
func (b *bench) costPerOrder(ctx context.Context, s *stack, url string, hc *http.Client) error {
	now := time.Now().UTC()
	happy := fmt.Sprintf("bench-cost-happy-%d", now.UnixNano())
	evs := correctOrder(happy, now)
	if err := postBench(ctx, hc, url, evs); err != nil {
		return err
	}
	if err := drained(ctx, s.store); err != nil {
		return err
	}
	hist, err := settled(ctx, s.temporal, workflows.OrderWorkflowID(happy))
	if err != nil {
		return err
	}
	happyActions, happyEvents := actions(hist), len(hist)

	misrouted := fmt.Sprintf("bench-cost-misroute-%d", now.UnixNano())
	var story []recovery.Event
	for _, raw := range demoStory(misrouted, now) {
		var e recovery.Event
		if err := json.Unmarshal(raw, &e); err != nil {
			return err
		}
		e.OrderID = misrouted
		story = append(story, e)
	}
	if err := postBench(ctx, hc, url, story); err != nil {
		return err
	}
	inc, err := contacted(ctx, s.store, misrouted)
	if err != nil {
		return err
	}
	orderHist, err := settled(ctx, s.temporal, workflows.OrderWorkflowID(misrouted))
	if err != nil {
		return err
	}
	incHist, err := settled(ctx, s.temporal, inc.WorkflowID)
	if err != nil {
		return err
	}
	misActions, misEvents := actions(orderHist)+actions(incHist), len(orderHist)+len(incHist)

	costLine(b.out, "cost: correct order (5 events, delivered)", happyActions, happyEvents, 10)
	costLine(b.out, "cost: misroute (1 email, automatic discount)", misActions, misEvents, 40)
	fmt.Fprintf(b.out, "%-46s %4d actions  (a workflow started per event: %d starts before any work)\n",
		"cost: naive design, per correct order", len(evs), len(evs))
	return nil
}

// drained waits until the relay has delivered every event.
func drained(ctx context.Context, st *store.Store) error {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if n, err := st.PendingCount(ctx); err != nil || n == 0 {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the relay still has events pending after 5 minutes")
}

func costLine(w io.Writer, name string, acts, events, target int) {
	verdict := "meets"
	if acts > target {
		verdict = "BELOW"
	}
	fmt.Fprintf(w, "%-46s %4d actions  %4d history events  (target <= %d actions: %s)\n", name, acts, events, target, verdict)
}

// contacted waits for the order's incident to have a sent contact and an
// applied offer.
func contacted(ctx context.Context, st *store.Store, orderID string) (recovery.Incident, error) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		list, err := st.ListIncidents(ctx, recovery.IncidentFilter{OrderID: orderID, Limit: 1})
		if err == nil && len(list) == 1 && list[0].Offer != nil && list[0].Offer.Status == recovery.OfferApplied {
			for _, c := range list[0].Contacts {
				if c.Status == recovery.ContactSent {
					return list[0], nil
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return recovery.Incident{}, fmt.Errorf("order %s: no incident contacted within a minute", orderID)
}

// processed measures end to end until every event of the end-to-end phase
// has been applied by its order's workflow, not merely accepted as a
// signal: the time of each order's last workflow task completed after its
// last signal, from the histories, read once the relay is drained (again
// for an order whose task is still pending).
func (b *bench) processed(ctx context.Context, s *stack, start time.Time) (float64, error) {
	b.mu.Lock()
	orders := append([]string(nil), b.orders...)
	b.mu.Unlock()
	var last time.Time
	seen := func(at time.Time) {
		if at.After(last) {
			last = at
		}
	}
	// The newest orders first, alone, so that reading every history does
	// not weigh on the worker while it still works (they finish last);
	// then every order once.
	if err := b.applied(ctx, s, orders[max(0, len(orders)-10):], seen); err != nil {
		return 0, err
	}
	if err := b.applied(ctx, s, orders, seen); err != nil {
		return 0, err
	}
	total := len(orders) * b.o.perOrder
	rate := float64(total) / last.Sub(start).Seconds()
	fmt.Fprintf(b.out, "%-40s %9.0f events/s  (%d orders x %d events, ingest to applied by the workflow)\n",
		"end to end, processed", rate, len(orders), b.o.perOrder)
	return rate, nil
}

// applied polls the orders' histories until each workflow has applied
// its last signal, and tells seen when it did.
func (b *bench) applied(ctx context.Context, s *stack, pending []string, seen func(time.Time)) error {
	deadline := time.Now().Add(5 * time.Minute)
	for len(pending) > 0 {
		var again []string
		for _, id := range pending {
			evs, err := history(ctx, s.temporal, workflows.OrderWorkflowID(id))
			if err != nil {
				return err
			}
			if at, ok := appliedAt(evs); ok {
				seen(at)
			} else {
				again = append(again, id)
			}
		}
		if len(again) > 0 {
			if time.Now().After(deadline) {
				return fmt.Errorf("%d orders still hold unapplied events after 5 minutes", len(again))
			}
			time.Sleep(200 * time.Millisecond)
		}
		pending = again
	}
	return nil
}

// appliedAt is when the workflow finished the task that handled its last
// signal (false: that task has not completed yet).
func appliedAt(evs []*historypb.HistoryEvent) (time.Time, bool) {
	lastSignal := int64(-1)
	for _, e := range evs {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED {
			lastSignal = e.GetEventId()
		}
	}
	for _, e := range evs {
		if e.GetEventType() == enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED && e.GetEventId() > lastSignal && lastSignal > 0 {
			return e.GetEventTime().AsTime(), true
		}
	}
	return time.Time{}, false
}

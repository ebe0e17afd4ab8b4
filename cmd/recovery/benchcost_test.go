package main

import (
	"testing"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// TestActionsAsTemporalCloudCountsThem: a history's Actions by Cloud's
// rules, event by event.
func TestActionsAsTemporalCloudCountsThem(t *testing.T) {
	ev := func(id int64, typ enumspb.EventType) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: typ}
	}
	marker := func(id, task int64, name string) *historypb.HistoryEvent {
		e := ev(id, enumspb.EVENT_TYPE_MARKER_RECORDED)
		e.Attributes = &historypb.HistoryEvent_MarkerRecordedEventAttributes{MarkerRecordedEventAttributes: &historypb.MarkerRecordedEventAttributes{
			MarkerName: name, WorkflowTaskCompletedEventId: task}}
		return e
	}
	retried := ev(20, enumspb.EVENT_TYPE_ACTIVITY_TASK_STARTED)
	retried.Attributes = &historypb.HistoryEvent_ActivityTaskStartedEventAttributes{ActivityTaskStartedEventAttributes: &historypb.ActivityTaskStartedEventAttributes{Attempt: 3}}
	hist := []*historypb.HistoryEvent{
		ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),  // 1
		ev(2, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), // 0: SignalWithStart's own
		ev(3, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED),
		ev(5, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED),
		marker(6, 5, "LocalActivity"), // 1 for the task's markers
		marker(7, 5, "LocalActivity"),
		marker(8, 5, "Version"),                                // free
		marker(9, 12, "Version"),                               // free, alone in its task
		ev(10, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED), // 1
		ev(11, enumspb.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),     // 1
		retried,                                  // 2 retries
		ev(21, enumspb.EVENT_TYPE_TIMER_STARTED), // 1
		ev(22, enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED), // 2
		ev(23, enumspb.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES),        // 1
		ev(24, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED),       // 1
		ev(25, enumspb.EVENT_TYPE_ACTIVITY_TASK_COMPLETED),                  // 0
		ev(26, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),             // 0
	}
	if got := actions(hist); got != 11 {
		t.Fatalf("actions = %d, want 11", got)
	}
}

// TestAppliedAtIsTheTaskAfterTheLastSignal: an order's events are applied
// when a workflow task completes after its last signal, not before.
func TestAppliedAtIsTheTaskAfterTheLastSignal(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	ev := func(id int64, typ enumspb.EventType, s int) *historypb.HistoryEvent {
		return &historypb.HistoryEvent{EventId: id, EventType: typ, EventTime: timestamppb.New(t0.Add(time.Duration(s) * time.Second))}
	}
	hist := []*historypb.HistoryEvent{
		ev(1, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED, 0),
		ev(2, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 0),
		ev(5, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 1),
		ev(6, enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED, 2),
		ev(7, enumspb.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, 2),
	}
	if _, ok := appliedAt(hist); ok {
		t.Fatal("applied before the task after the last signal completed")
	}
	hist = append(hist, ev(9, enumspb.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, 3), ev(10, enumspb.EVENT_TYPE_TIMER_STARTED, 3))
	if at, ok := appliedAt(hist); !ok || !at.Equal(t0.Add(3*time.Second)) {
		t.Fatalf("applied at %v, %v; want 3 s in", at, ok)
	}
}

package workflows

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
)

// corpusGeneration is the newest generation of corpus files: each path
// needs one recorded by today's code (see workflows/recordhistory), whose
// workflows start with the newest baseline of versions.
const corpusGeneration = changeBaseline

// corpusPaths names what each history of the replay corpus must show: the
// path it stands for. The corpus is recorded from real runs on the
// embedded server (workflows/recordhistory, TestRecordCorpus); a file is
// never re-recorded for a change that alters history (see
// docs/workflow-changes.md).
var corpusPaths = map[string]func(h history) error{
	"choice": func(h history) error {
		return h.need(h.update("choose"), "an accepted choose update")
	},
	"escalation_and_deadline": func(h history) error {
		return h.need(h.activity("Escalate") > 0 && h.count(enumspb.EVENT_TYPE_TIMER_FIRED) >= 2,
			"an escalation and the deadline's timer")
	},
	"contact_window": func(h history) error {
		return h.need(h.firstTimerBefore("SendApology"), "a wait for the contact window before the apology")
	},
	"unconfirmed_sent_again": func(h history) error {
		return h.need(h.activity("SendApology") >= 2 && h.count(enumspb.EVENT_TYPE_TIMER_FIRED) >= 1,
			"the unconfirmed apology, the wait for the provider's news, and the apology sent again")
	},
	"heal_and_follow_up": func(h history) error {
		return h.need(h.signal(SignalHeal) && h.activity("SendFollowUp") > 0, "a heal signal and a follow-up")
	},
	"saga_fallback": func(h history) error {
		return h.need(h.activity("CarryOut") >= 2 && h.activity("VoidCode") > 0, "a refused remedy, its code voided, another carried out")
	},
	"order_timer_heal_and_completion": func(h history) error {
		return h.need(h.count(enumspb.EVENT_TYPE_TIMER_FIRED) > 0 && h.count(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) > 0 &&
			h.signal(SignalIncidentClosed) && h.completed(), "a deadline's incident, its end reported, the order completed")
	},
	"order_completion": func(h history) error {
		return h.need(h.activity("SaveOrderState") > 0 && h.completed(), "the projection saved and the order completed")
	},
	"order_resumed_from_projection": func(h history) error {
		return h.need(h.count(enumspb.EVENT_TYPE_MARKER_RECORDED) > 0 &&
			h.count(enumspb.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED) > 0, "a run resumed from its projection opening an incident")
	},
	"order_continue_as_new": func(h history) error {
		return h.need(h.count(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW) == 1, "a continue-as-new")
	},
}

// history is a recorded history's events.
type history []*historypb.HistoryEvent

func (h history) need(ok bool, what string) error {
	if !ok {
		return fmt.Errorf("it shows no %s", what)
	}
	return nil
}

func (h history) count(t enumspb.EventType) int {
	n := 0
	for _, e := range h {
		if e.GetEventType() == t {
			n++
		}
	}
	return n
}

// activity counts the activities of a type the history ran, local ones
// (their markers) included.
func (h history) activity(name string) int {
	n := 0
	for _, e := range h {
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == name {
			n++
		}
		if m := e.GetMarkerRecordedEventAttributes(); m.GetMarkerName() == "LocalActivity" {
			var d struct{ ActivityType string }
			for _, p := range m.GetDetails()["data"].GetPayloads() {
				if json.Unmarshal(p.GetData(), &d) == nil && d.ActivityType == name {
					n++
				}
			}
		}
	}
	return n
}

func (h history) update(name string) bool {
	return slices.ContainsFunc(h, func(e *historypb.HistoryEvent) bool {
		a := e.GetWorkflowExecutionUpdateAcceptedEventAttributes()
		return a != nil && a.GetAcceptedRequest().GetInput().GetName() == name
	})
}

func (h history) signal(name string) bool {
	return slices.ContainsFunc(h, func(e *historypb.HistoryEvent) bool {
		return e.GetWorkflowExecutionSignaledEventAttributes().GetSignalName() == name
	})
}

func (h history) completed() bool {
	return h.count(enumspb.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED) == 1
}

// firstTimerBefore reports whether a timer fired before the first
// activity of a type was scheduled.
func (h history) firstTimerBefore(activity string) bool {
	for _, e := range h {
		if e.GetEventType() == enumspb.EVENT_TYPE_TIMER_FIRED {
			return true
		}
		if a := e.GetActivityTaskScheduledEventAttributes(); a != nil && a.GetActivityType().GetName() == activity {
			return false
		}
	}
	return false
}

// Every history of the corpus replays with today's code, and together they
// cover every path the workflows take.
func TestWorkflowsReplayTheCorpus(t *testing.T) {
	files, err := filepath.Glob("testdata/corpus/*.json")
	if err != nil {
		t.Fatal(err)
	}
	seen, current := map[string]bool{}, map[string]bool{}
	for _, f := range files {
		// "<path>.json" (the first recordings) or "<path>.<generation>.json".
		name, gen, _ := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".json"), ".")
		seen[name] = true
		current[name] = current[name] || gen == corpusGeneration
		replayer := worker.NewWorkflowReplayer()
		replayer.RegisterWorkflow(RecoveryWorkflow)
		replayer.RegisterWorkflow(OrderWorkflow)
		if err := replayer.ReplayWorkflowHistoryFromJSONFile(nil, f); err != nil {
			t.Errorf("%s no longer replays: %v", f, err)
		}
		check, ok := corpusPaths[name]
		if !ok {
			t.Errorf("%s: say what path it stands for in corpusPaths", f)
			continue
		}
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var hist historypb.History
		if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(raw, &hist); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if err := check(hist.Events); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for name := range corpusPaths {
		if !seen[name] || !current[name] {
			t.Errorf("the corpus has no history of %s recorded by today's code (%s): record it (RECOVERY_RECORD_HISTORY=1 go test ./workflows/recordhistory -run Corpus)",
				name, corpusGeneration)
		}
	}
}

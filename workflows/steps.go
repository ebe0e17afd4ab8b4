package workflows

import (
	"time"

	"go.temporal.io/sdk/workflow"
)

// changeBaseline marks workflows started with every change before it in
// place, and one more: the short database steps (an incident's record,
// plan, save, issue a code, close; an order's saved projection when it
// finishes) run as local activities (dbStep). The audit trail stays an
// activity: its rows are keyed by the activity's id, which a local
// activity retried after a timer does not keep.
//
// Such a workflow records this one version marker instead of one per
// change: the SDK upserts a search attribute with each marker, which
// costs an action and a visibility write each. Its local steps run in the
// workflow task that asks for them, so a handled incident takes three
// workflow tasks instead of nine, and their markers cost one action per
// task instead of one per step. What reaches outside (a webhook, a
// message) stays an activity with its own task queue, timeouts and
// retries. Histories recorded before it ask for each change as before.
const changeBaseline = "baseline-2026-12"

// baselineKey is the context value that says the workflow started with
// changeBaseline.
type baselineKey struct{}

// withBaseline asks, once, at the start of a workflow, whether it runs
// with changeBaseline.
func withBaseline(ctx workflow.Context) workflow.Context {
	return workflow.WithValue(ctx, baselineKey{}, workflow.GetVersion(ctx, changeBaseline, workflow.DefaultVersion, 1) >= 1)
}

func baseline(ctx workflow.Context) bool {
	on, _ := ctx.Value(baselineKey{}).(bool)
	return on
}

// inBaseline2026 lists the changes changeBaseline folds in. A change made
// after it is not among them: under the baseline it is asked for with
// GetVersion like any other, until a later baseline folds it in (with a
// corpus generation of its own).
var inBaseline2026 = map[string]bool{
	changeDecisionRace: true, changeEngineValues: true, changeContactLadder: true, changeConfirmUnconfirmed: true,
	changeSendQueues: true, changeNoPersonalData: true, changeTrackingResolution: true, changeOrderCompletes: true,
	changeOrderEventTime: true, changePolicyDecision: true, changeReportClose: true, changeReportEveryClose: true,
	changeQuietCancel: true, changeRemedySaga: true, changeCancelUnknown: true, changeBudgetRelease: true,
	changeSearchAttributes: true,
}

// changed reports whether the workflow runs with a change: always when the
// workflow started under changeBaseline and the baseline folds the change
// in, else as the change's version marker says (recorded now, when the
// workflow is new).
func changed(ctx workflow.Context, changeID string) bool {
	if baseline(ctx) && inBaseline2026[changeID] {
		return true
	}
	return workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) >= 1
}

// localStepOptions bound a local database step: each attempt 5 s (a step
// takes milliseconds; a longer one would hold the workflow task past its
// 10 s timeout), retried with backoff for up to a day as activities are.
// The SDK retries in the worker while the wait is shorter than the
// workflow task's timeout, and past that on a timer.
var localStepOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout:    5 * time.Second,
	ScheduleToCloseTimeout: activityOptions.ScheduleToCloseTimeout,
	RetryPolicy:            activityOptions.RetryPolicy,
}

// dbStep runs one of an incident's database steps: a local activity under
// changeBaseline, else an activity with ctx's options.
func dbStep(ctx workflow.Context, activity any, args ...any) workflow.Future {
	if baseline(ctx) {
		return workflow.ExecuteLocalActivity(workflow.WithLocalActivityOptions(ctx, localStepOptions), activity, args...)
	}
	return workflow.ExecuteActivity(ctx, activity, args...)
}

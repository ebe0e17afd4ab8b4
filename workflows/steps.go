package workflows

import (
	"go.temporal.io/sdk/workflow"
)

// changeBaseline marks workflows started with every change before it in
// place, and one more: the short database steps (an incident's record,
// plan, save, audit, issue a code, close; an order's saved projection
// when it finishes) run as local activities (dbStep).
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
	return inBaseline(ctx, workflow.GetVersion(ctx, changeBaseline, workflow.DefaultVersion, 1) >= 1)
}

// inBaseline marks ctx as running with changeBaseline, or not: handlers
// run on the workflow's root context, which lacks the mark.
func inBaseline(ctx workflow.Context, on bool) workflow.Context {
	return workflow.WithValue(ctx, baselineKey{}, on)
}

func baseline(ctx workflow.Context) bool {
	on, _ := ctx.Value(baselineKey{}).(bool)
	return on
}

// changed reports whether the workflow runs with a change: always under
// changeBaseline, else as its version marker says (recorded now, when the
// workflow is new).
func changed(ctx workflow.Context, changeID string) bool {
	return baseline(ctx) || workflow.GetVersion(ctx, changeID, workflow.DefaultVersion, 1) >= 1
}

// localStepOptions bound a local database step as activityOptions bound
// an activity: each attempt 30 s, retried with backoff for up to a day
// (past a minute the SDK waits on a timer between attempts).
var localStepOptions = workflow.LocalActivityOptions{
	StartToCloseTimeout:    activityOptions.StartToCloseTimeout,
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

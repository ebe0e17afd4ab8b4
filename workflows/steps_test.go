package workflows

import (
	"testing"
)

// Every change that existed when changeBaseline was made is folded into
// it; a change made later must not be (changed asks GetVersion for it, so
// running baseline workflows keep replaying), and must be listed here by
// whoever makes the next baseline.
func TestTheBaselineFoldsInEveryEarlierChange(t *testing.T) {
	earlier := []string{changeDecisionRace, changeEngineValues, changeContactLadder, changeConfirmUnconfirmed,
		changeSendQueues, changeNoPersonalData, changeTrackingResolution, changeOrderCompletes, changeOrderEventTime,
		changePolicyDecision, changeReportClose, changeReportEveryClose, changeQuietCancel, changeRemedySaga,
		changeCancelUnknown, changeBudgetRelease, changeSearchAttributes}
	for _, id := range earlier {
		if !inBaseline2026[id] {
			t.Errorf("%s predates %s but is not folded into it", id, changeBaseline)
		}
	}
	if len(inBaseline2026) != len(earlier) {
		t.Errorf("the baseline folds in %d changes, %d predate it", len(inBaseline2026), len(earlier))
	}
	if inBaseline2026["a-change-made-later"] {
		t.Error("a later change is folded in")
	}
}

package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// awaitChoice prepares the options (reserving substitutes), tells the
// customer, and waits for the choice or the timeout (then the default,
// the first option). It returns the candidates in the order to try: the
// choice first; asked reports that the customer was asked (fewer than two
// options left: nothing to choose), healed that the incident closed
// meanwhile.
func (st *remedyState) awaitChoice(ctx workflow.Context, in RecoveryInput, res *RecoveryResult, steps *ladderSteps,
	candidates []recovery.Offer, timeout time.Duration) (_ []recovery.Offer, asked, healed bool, _ error) {
	var a *activities.Activities
	inc := st.inc
	for i, o := range candidates {
		if o.Remedy != recovery.RemedySubstitute {
			st.options = append(st.options, o)
			continue
		}
		sub, err := findSubstitute(ctx, in, st.candidates[i])
		if err != nil {
			var appErr *temporal.ApplicationError
			if errors.As(err, &appErr) && appErr.Type() == "no-substitute" {
				continue // not offered
			}
			return nil, false, false, err
		}
		o.SubstituteSKU, o.SubstituteName = sub.SubstituteSKU, sub.SubstituteName
		st.options = append(st.options, o)
	}
	if len(st.options) < 2 {
		return st.options, false, false, nil // nothing to choose between
	}
	st.stage = StageAwaitingChoice
	st.publish(ctx)
	offered := st.options[0]
	offered.Status, offered.Options = recovery.OfferOffered, st.options
	if err := saveOffer(ctx, inc.ID, offered, recovery.IncidentAwaitingChoice, ""); err != nil {
		return nil, false, false, err
	}
	ask := activities.SendApologyInput{Incident: inc, Offer: st.options[0],
		Options: st.options, ChoiceWithin: timeout}
	start := workflow.Now(ctx)
	var c recovery.Contact
	if steps.ladder {
		first, reached, _, err := st.reach(ctx, steps, ask, true)
		if err != nil {
			return nil, false, false, err
		}
		c, steps.reached = first, reached
	} else {
		var err error
		if c, err = steps.send(ctx, ask); err != nil {
			return nil, false, false, err
		}
	}
	res.Contact = c
	ok := awaitUntil(ctx, start, timeout, func() bool {
		return st.chosen != "" || (st.heal != nil && st.stage == StageAwaitingChoice)
	})
	if !ok && st.handlerWins(ctx, StageAwaitingChoice) {
		if err := workflow.Await(ctx, func() bool { return st.chosen != "" }); err != nil {
			return nil, false, false, err
		}
		ok = true
	}
	if st.chosen == "" && st.heal != nil {
		st.stage = StageHealed
		for _, o := range st.options {
			if o.SubstituteSKU != "" {
				if err := releaseSubstitute(ctx, inc.ID, o.SubstituteSKU); err != nil {
					return nil, true, true, err
				}
			}
		}
		res.Healed = st.heal.Reason
		if c.Step != 0 && followUpWanted(ctx, in, *st.heal) {
			var f recovery.Contact
			var err error
			if steps.ladder {
				f, err = st.followUpWritten(ctx, steps, in, recovery.Offer{}, steps.reached, st.heal.Reason)
			} else {
				f, err = steps.followUp(ctx, in, recovery.Offer{}, c, st.heal.Reason)
			}
			if err != nil {
				return nil, true, true, err
			}
			res.FollowUp = &f
		}
		return nil, true, true, closeHealed(ctx, inc.ID, *st.heal)
	}
	if !ok {
		st.stage, st.chosen = StageApplying, st.options[0].Remedy
		err := workflow.ExecuteActivity(ctx, a.Audit, recovery.AuditEntry{IncidentID: inc.ID, Actor: "system", Action: "choose",
			Note: fmt.Sprintf("no choice after %s: the default", timeout), After: mustJSON(st.chosen)}).Get(ctx, nil)
		if err != nil {
			return nil, false, false, err
		}
	}
	i := slices.IndexFunc(st.options, func(o recovery.Offer) bool { return o.Remedy == st.chosen })
	out := append([]recovery.Offer{st.options[i]}, slices.Delete(slices.Clone(st.options), i, i+1)...)
	return out, true, false, nil
}

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

// changeContactLadder marks the workflow change that contacts the
// customer through the policy's ladder of channels, inside the contact
// window, advanced by provider callbacks (SignalContact) and timeouts.
const changeContactLadder = "contact-ladder"

// SignalContact carries a recovery.ContactEvent about one ladder step to
// the incident's RecoveryWorkflow.
const SignalContact = "contact"

// sendOptions are activityOptions with one attempt at sending bounded
// below the provider clients' own timeouts plus the ledger writes, so that
// an attempt whose worker died is retried (and found in the ledger) soon.
var sendOptions = func() workflow.ActivityOptions {
	o := activityOptions
	o.StartToCloseTimeout = 20 * time.Second
	return o
}()

// listen keeps the latest news of each step; a response is never
// overwritten by a later delivery report. A request for a person is
// passed to ops, once per step.
func (l *ladderSteps) listen(ctx workflow.Context, inc recovery.Incident) {
	l.events = map[int]recovery.ContactEvent{}
	ch := workflow.GetSignalChannel(ctx, SignalContact)
	asked := map[int]bool{}
	workflow.Go(ctx, func(ctx workflow.Context) {
		var a *activities.Activities
		for {
			var ev recovery.ContactEvent
			ch.Receive(ctx, &ev)
			if ev.Detail == recovery.DetailPersonRequested && !asked[ev.Step] {
				asked[ev.Step] = true
				in := activities.PersonRequestInput{IncidentID: inc.ID, OrderID: inc.OrderID, Channel: ev.Channel,
					Step: ev.Step, Detail: ev.Detail}
				workflow.Go(ctx, func(ctx workflow.Context) {
					if err := workflow.ExecuteActivity(ctx, a.RequestPerson, in).Get(ctx, nil); err != nil {
						workflow.GetLogger(ctx).Error("ops not told of a request for a person", "incident_id", inc.ID, "err", err)
					}
				})
			}
			if old, ok := l.events[ev.Step]; ok && old.Outcome == recovery.OutcomeResponded {
				continue
			}
			l.events[ev.Step] = ev
		}
	})
}

// responded reports whether the customer answered any step.
func (l *ladderSteps) responded() bool {
	for _, ev := range l.events {
		if ev.Outcome == recovery.OutcomeResponded {
			return true
		}
	}
	return false
}

// waitWindow sleeps until the contact window opens; with stopOnHeal it
// reports whether the incident healed meanwhile (then nobody may be
// contacted).
func (st *remedyState) waitWindow(ctx workflow.Context, l *ladderSteps, stopOnHeal bool) (healed bool) {
	for {
		if stopOnHeal && st.heal != nil {
			return true
		}
		now := workflow.Now(ctx)
		open := l.plan.Window.Next(now)
		if !open.After(now) {
			return false
		}
		workflow.GetLogger(ctx).Info("outside the contact window; waiting", "incident_id", st.inc.ID,
			"window", l.plan.Window.String(), "until", open)
		_, _ = workflow.AwaitWithTimeout(ctx, open.Sub(now), func() bool { return stopOnHeal && st.heal != nil })
	}
}

// sendStep sends one step inside the window (see inWindow).
func (st *remedyState) sendStep(ctx workflow.Context, l *ladderSteps, in activities.SendApologyInput,
	stopOnHeal bool) (recovery.Contact, bool, error) {
	var a *activities.Activities
	in.Step, in.IdempotencyKey = l.step()
	in.Window = l.plan.Window
	c, healed, err := st.inWindow(ctx, l, in.Channel, stopOnHeal, func(ctx workflow.Context) workflow.Future {
		return workflow.ExecuteActivity(ctx, a.SendApology, in)
	})
	if err != nil {
		return c, false, fmt.Errorf("send %s: %w", in.Channel, err)
	}
	return c, healed, nil
}

// inWindow runs one send activity on a channel inside the contact window,
// on that channel's provider's task queue. The activity checks the window
// again at the moment of sending; if it closed meanwhile the send waits
// for the next opening. With stopOnHeal, healed reports a heal during a
// wait (nothing was sent).
func (st *remedyState) inWindow(ctx workflow.Context, l *ladderSteps, channel string, stopOnHeal bool,
	send func(workflow.Context) workflow.Future) (c recovery.Contact, healed bool, err error) {
	opts := sendOptions
	if l.sendQueue != nil {
		opts.TaskQueue = l.sendQueue(channel)
	}
	sctx := workflow.WithActivityOptions(ctx, opts)
	for {
		if st.waitWindow(ctx, l, stopOnHeal) {
			return c, true, nil
		}
		err := send(sctx).Get(ctx, &c)
		var appErr *temporal.ApplicationError
		if errors.As(err, &appErr) && appErr.Type() == activities.ErrTypeOutsideWindow {
			continue
		}
		return c, false, err
	}
}

// reach runs the contact ladder for one message: each channel of the
// policy's ladder in turn until one reaches the customer. A step that is
// skipped (opt-out, no address) or fails (bounce, no answer, voicemail)
// moves on at once; one without news moves on after the step timeout,
// except that a written message with no bad news counts as arrived when
// nothing waits for an answer. When the customer must choose
// (awaiting), only an answer stops the ladder. It returns the first step
// that went out and the step that reached the customer.
func (st *remedyState) reach(ctx workflow.Context, l *ladderSteps, msg activities.SendApologyInput, awaiting bool) (
	first, reached recovery.Contact, healed bool, err error) {
	channels := l.channels()
	answered := func() bool { return st.chosen != "" || l.responded() }
	var sent []recovery.Contact
	for i, ch := range channels {
		if awaiting && answered() {
			break
		}
		m := msg
		m.Channel = ch
		c, healed, err := st.sendStep(ctx, l, m, true)
		if err == nil && !healed && c.Status == recovery.ContactUnconfirmed && slices.Contains(l.plan.Reporting, ch) &&
			changed(ctx, changeConfirmUnconfirmed) {
			c, healed, err = st.confirmOrResend(ctx, l, m, c)
		}
		if err != nil || healed {
			return first, reached, healed, err
		}
		if !c.WentOut() {
			continue
		}
		if first.Step == 0 {
			first = c
		}
		last := i == len(channels)-1
		if last && !awaiting {
			return first, c, false, nil // nothing left to advance to
		}
		news := func() bool {
			ev := l.events[c.Step]
			return st.heal != nil || ev.Ends() || (awaiting && answered()) || (!awaiting && ev.Reached())
		}
		got, _ := workflow.AwaitWithTimeout(ctx, l.plan.StepTimeout, news)
		ev := l.events[c.Step]
		sent = append(sent, c)
		switch {
		case awaiting && answered():
			return first, l.best(sent), false, nil
		case ev.Ends():
			continue
		case !awaiting && (ev.Reached() || (!got && ch != recovery.ChannelVoice)):
			return first, c, false, nil
		case st.heal != nil && !awaiting:
			// The message went out; the caller's heal handling follows.
			return first, c, false, nil
		case st.heal != nil:
			return first, l.best(sent), true, nil
		}
	}
	return first, l.best(sent), false, nil
}

// changeConfirmUnconfirmed marks the workflow change that sends an
// unconfirmed step again when its provider, which reports every message
// it takes, says nothing of it.
const changeConfirmUnconfirmed = "confirm-unconfirmed"

// confirmOrResend waits for news of an unconfirmed step c (an attempt
// died between writing the ledger row and hearing the provider's answer:
// the message may or may not have gone out). Its provider reports every
// message it takes, so news within the plan's ConfirmWait (or a heal)
// settles it; silence means the provider never took it, and the step is
// sent again, once, as a step of its own, so that the customer hears from
// us rather than nothing.
func (st *remedyState) confirmOrResend(ctx workflow.Context, l *ladderSteps, m activities.SendApologyInput,
	c recovery.Contact) (recovery.Contact, bool, error) {
	wait := l.plan.ConfirmWait
	if wait <= 0 {
		wait = 15 * time.Minute
	}
	got, _ := workflow.AwaitWithTimeout(ctx, wait, func() bool {
		_, news := l.events[c.Step]
		return news || st.heal != nil
	})
	if got {
		return c, false, nil
	}
	workflow.GetLogger(ctx).Warn("no news of an unconfirmed step from a provider that reports every message: sending it again",
		"incident_id", st.inc.ID, "step", c.Step, "channel", c.Channel)
	return st.sendStep(ctx, l, m, true)
}

// best is the sent step that reached the customer: the one they answered,
// else the first that arrived, else the last sent.
func (l *ladderSteps) best(sent []recovery.Contact) recovery.Contact {
	for _, c := range sent {
		if l.events[c.Step].Outcome == recovery.OutcomeResponded {
			return c
		}
	}
	for _, c := range sent {
		if l.events[c.Step].Reached() {
			return c
		}
	}
	if len(sent) == 0 {
		return recovery.Contact{}
	}
	return sent[len(sent)-1]
}

// channels is the policy's ladder, email when it names none.
func (l *ladderSteps) channels() []string {
	if len(l.plan.Decision.Ladder) == 0 {
		return []string{recovery.ChannelEmail}
	}
	return l.plan.Decision.Ladder
}

// written picks the channel for a written follow-up (a confirmation, an
// "all is well" note): the one that reached the customer unless that was
// a call, else the ladder's first written channel, else email.
func (l *ladderSteps) written(reached recovery.Contact) []string {
	var out []string
	if reached.Channel == recovery.ChannelSMS || reached.Channel == recovery.ChannelEmail {
		out = append(out, reached.Channel)
	}
	for _, ch := range append(slices.Clone(l.channels()), recovery.ChannelEmail, recovery.ChannelSMS) {
		if ch != recovery.ChannelVoice && !slices.Contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out
}

// inWriting tries the written channels (l.written) in turn until a send
// goes out; send may return the zero Contact for a channel it did not try.
func (l *ladderSteps) inWriting(reached recovery.Contact, send func(channel string) (recovery.Contact, error)) (recovery.Contact, error) {
	var c recovery.Contact
	for _, ch := range l.written(reached) {
		got, err := send(ch)
		if err != nil {
			return got, err
		}
		if got.Status == "" {
			continue // not tried
		}
		if c = got; c.WentOut() {
			return c, nil
		}
	}
	return c, nil
}

// sendWritten sends a written message (a confirmation) by the first
// written channel that takes it. It answers the customer: it goes out even
// if the incident healed meanwhile.
func (st *remedyState) sendWritten(ctx workflow.Context, l *ladderSteps, msg activities.SendApologyInput,
	reached recovery.Contact) (recovery.Contact, error) {
	return l.inWriting(reached, func(ch string) (recovery.Contact, error) {
		m := msg
		m.Channel = ch
		c, _, err := st.sendStep(ctx, l, m, false)
		return c, err
	})
}

// followUpWritten tells a customer who got an apology that the problem
// went away, in writing, inside the window.
func (st *remedyState) followUpWritten(ctx workflow.Context, l *ladderSteps, in RecoveryInput, o recovery.Offer,
	reached recovery.Contact, healed string) (recovery.Contact, error) {
	var a *activities.Activities
	// Versioned: the workflow no longer knows the customer's addresses, so
	// each written channel is tried and the activity skips one without an
	// address. Older histories looked the address up here and scheduled
	// nothing for a channel without one.
	resolveInActivity := changed(ctx, changeNoPersonalData)
	return l.inWriting(reached, func(ch string) (recovery.Contact, error) {
		to := ""
		if !resolveInActivity {
			if to = recovery.NormalizeAddress(ch, in.Order.Customer.Address(ch)); to == "" {
				return recovery.Contact{}, nil
			}
		}
		step, key := l.step()
		f := activities.SendFollowUpInput{Incident: in.Incident, Offer: o, Channel: ch, To: to,
			Healed: healed, Step: step, IdempotencyKey: key, Window: l.plan.Window}
		c, _, err := st.inWindow(ctx, l, ch, false, func(ctx workflow.Context) workflow.Future {
			return workflow.ExecuteActivity(ctx, a.SendFollowUp, f)
		})
		if err != nil {
			return c, fmt.Errorf("send follow-up: %w", err)
		}
		return c, nil
	})
}

// awaitUntil waits for cond until start+d; it reports whether cond held.
func awaitUntil(ctx workflow.Context, start time.Time, d time.Duration, cond func() bool) bool {
	left := d - workflow.Now(ctx).Sub(start)
	if left <= 0 {
		return cond()
	}
	ok, _ := workflow.AwaitWithTimeout(ctx, left, cond)
	return ok
}

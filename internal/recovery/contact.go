package recovery

import (
	"context"
	"errors"
	"strings"
	"time"
)

// More contact statuses: a step skipped before any provider request (the
// customer opted out of the channel, or has no address for it), and a
// step whose provider request may or may not have been accepted (an
// attempt died around it); an unconfirmed step is never sent again.
const (
	ContactSkipped     = "skipped"
	ContactUnconfirmed = "unconfirmed"
)

// WentOut reports whether a step went to the provider (or may have):
// not skipped, not refused.
func (c Contact) WentOut() bool {
	return c.Status != ContactSkipped && c.Status != ContactFailed
}

// ErrUnsent marks a provider error that proves the message was not
// accepted (the provider answered and refused, or was never reached): a
// retry may send it. Any other send error leaves the step unconfirmed.
var ErrUnsent = errors.New("not sent")

// Contact outcomes: what a provider callback or the customer says about
// one step of the ladder.
const (
	// OutcomeDelivered: the message arrived, or a person took the call.
	OutcomeDelivered = "delivered"
	// OutcomeOpened: the email was opened or its link followed.
	OutcomeOpened = "opened"
	// OutcomeFailed: undelivered, bounced, busy, no answer, refused.
	OutcomeFailed = "failed"
	// OutcomeVoicemail: a machine answered; a short voicemail was left.
	OutcomeVoicemail = "voicemail"
	// OutcomeResponded: the customer answered (a digit, a reply, a visit
	// to the choice page, asking for a person).
	OutcomeResponded = "responded"
)

// DetailPersonRequested is the detail of a response in which the customer
// asked for a person (0 on a call); the workflow tells ops.
const DetailPersonRequested = "asked for a person"

// ContactEvent is news about one ladder step, from a provider callback or
// the customer; the web layer turns verified webhooks into them and the
// incident's workflow advances its ladder on them.
type ContactEvent struct {
	IncidentID string `json:"incident_id"`
	Step       int    `json:"step"`
	Channel    string `json:"channel"`
	Outcome    string `json:"outcome"`
	// Detail is the provider's own word, e.g. "no-answer" or "bounce".
	Detail     string `json:"detail,omitempty"`
	ProviderID string `json:"provider_id,omitempty"`
}

// Ends reports whether the outcome ends the step without reaching the
// customer: the ladder moves on at once.
func (e ContactEvent) Ends() bool {
	return e.Outcome == OutcomeFailed || e.Outcome == OutcomeVoicemail
}

// Reached reports whether the outcome shows the customer got the message.
func (e ContactEvent) Reached() bool {
	return e.Outcome == OutcomeDelivered || e.Outcome == OutcomeOpened || e.Outcome == OutcomeResponded
}

// ContactNotifier passes contact events to the incident's workflow.
type ContactNotifier interface {
	NotifyContact(ctx context.Context, ev ContactEvent) error
}

// Consent keeps opt-outs per channel and address. An opt-out holds across
// every incident from the moment it is stored.
type Consent interface {
	// OptOut stores an opt-out; added reports whether it is new.
	OptOut(ctx context.Context, channel, address, source string) (added bool, err error)
	// OptIn removes one; removed reports whether there was one.
	OptIn(ctx context.Context, channel, address string) (removed bool, err error)
	// OptedOut reports whether the address opted out of the channel.
	OptedOut(ctx context.Context, channel, address string) (bool, error)
}

// Survey answers: the customer's one-word verdict on the recovery.
const (
	SurveyOW  = "ow"
	SurveyHOW = "how"
	SurveyWOW = "wow"
)

// ParseSurvey reads OW, HOW or WOW in any case.
func ParseSurvey(s string) (string, bool) {
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case SurveyOW, SurveyHOW, SurveyWOW:
		return v, true
	}
	return "", false
}

// Survey is a customer's answer, stored with the incident.
type Survey struct {
	Answer string    `json:"answer"`
	Via    string    `json:"via"`
	At     time.Time `json:"at"`
	// Comment is what a customer who answered WOW told us more (the
	// customer's own words; the wow wall shows them).
	Comment string `json:"comment,omitempty"`
}

// Address returns where a channel reaches the customer.
func (c Customer) Address(channel string) string {
	switch channel {
	case ChannelEmail:
		return strings.TrimSpace(c.Email)
	case ChannelSMS, ChannelVoice:
		return strings.TrimSpace(c.Phone)
	}
	return ""
}

// NormalizeAddress puts an address in the form opt-outs and the ledger
// compare: an email lower-cased, a phone number with only its leading +
// and digits.
func NormalizeAddress(channel, addr string) string {
	addr = strings.TrimSpace(addr)
	if channel == ChannelEmail {
		return strings.ToLower(addr)
	}
	var b strings.Builder
	for i, r := range addr {
		if (r >= '0' && r <= '9') || (r == '+' && i == 0) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ContactRef names the latest ladder step that reached an address, and
// where its incident stands, for replies that name no incident (an SMS).
type ContactRef struct {
	IncidentID     string
	WorkflowID     string
	Step           int
	IncidentStatus string
	Locale         string
}

// CapturedMessage is a message the capture adapter kept instead of
// sending (dev and tests), as the dev page lists it.
type CapturedMessage struct {
	ID        int64
	Channel   string
	To        string
	Subject   string
	Text      string
	HTML      string
	Key       string
	CreatedAt time.Time
}

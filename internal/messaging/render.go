// Package messaging turns incidents into messages and delivers them: the
// apology templates per locale, and the adapters behind
// recovery.Messenger (for now the capture adapter used by dev and tests).
package messaging

import (
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Languages lists the languages with a built-in apology template; the
// first is the fallback.
var Languages = []string{"en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "da"}

// ApologyData is what an apology says.
type ApologyData struct {
	Name    string
	OrderID string
	Kind    recovery.Kind
	Offer   recovery.Offer
	// Options, when set, are the remedies the customer chooses from, the
	// default first; ChoiceWithin says how long they have (e.g. "48 hours").
	Options []recovery.Offer
	Within  time.Duration
	// ChoiceWithin is Within in words; Render fills it.
	ChoiceWithin string
	// Amount is the offer's value formatted for the language; Render fills
	// it, and Choices and ChoicesSMS (one sentence per option).
	Amount     string
	Choices    []string
	ChoicesSMS []string
	// Link is the signed choice page of the incident, Unsubscribe the
	// signed link that ends email to the address (email only).
	Link, Unsubscribe string
	// Brand names the shop the order is from, and SupportPhone and
	// SupportEmail how its customers reach a person ("": none set; for
	// templates in RECOVERY_TEMPLATES_DIR).
	Brand, SupportPhone, SupportEmail string
}

// FollowUpData is what an "all is well again" note says.
type FollowUpData struct {
	Name    string
	OrderID string
	Kind    recovery.Kind
	Offer   recovery.Offer
	// Healed is the engine's plain reason, e.g. "delivered"; the template
	// turns it into the customer's language.
	Healed string
	// Resolution is Healed in the language; RenderFollowUp fills it.
	Resolution string
	// Brand names the shop the order is from ("": none set).
	Brand string
}

// RenderFollowUp writes, with the built-in templates, the note that tells
// a customer who received an apology that the problem went away.
func RenderFollowUp(locale string, d FollowUpData) (Rendered, error) {
	return builtin.RenderFollowUp(locale, d)
}

// Rendered is an apology in one language, for each channel.
type Rendered struct {
	Locale  string
	Subject string
	Text    string
	HTML    string
	SMS     string
	// Voice is what a call says (with its digits), Voicemail what it
	// leaves on a machine; apologies only.
	Voice, Voicemail string
}

// Language returns the built-in template language for a locale such as
// "de-DE", falling back to English.
func Language(locale string) string { return builtin.Language(locale) }

// Render writes the apology in the customer's language, with the built-in
// templates.
func Render(locale string, d ApologyData) (Rendered, error) { return builtin.Render(locale, d) }

// Phrase renders one of a language's short phrases (SMS replies, what a
// call says after a digit) with the built-in templates, falling back to
// English.
func Phrase(locale, name string, data any) string { return builtin.Phrase(locale, name, data) }

// RenderConfirmation thanks the customer for a choice and says what
// happens now, with the built-in templates.
func RenderConfirmation(locale string, d ApologyData) (Rendered, error) {
	return builtin.RenderConfirmation(locale, d)
}

// execute runs one of the built-in templates (tests).
func execute(lang, name string, data any) (string, error) { return builtin.execute(lang, name, data) }

// OptionLine says one remedy the way the option lists of messages do,
// e.g. "A refund of €89.99" (built-in templates).
func OptionLine(locale string, o recovery.Offer) string { return builtin.OptionLine(locale, o) }

// OfferSentence says what was done for the customer, as the apology does
// ("We are sending you a replacement at no cost to you.").
func OfferSentence(locale string, o recovery.Offer) string { return builtin.OfferSentence(locale, o) }

// ProblemPhrase says what went wrong, as the apology does ("your parcel
// was sent the wrong way").
func ProblemPhrase(locale string, kind recovery.Kind) string {
	return builtin.ProblemPhrase(locale, kind)
}

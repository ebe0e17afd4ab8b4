package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go/helpers/eventwebhook"
	twclient "github.com/twilio/twilio-go/client"
	"github.com/twilio/twilio-go/twiml"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// TwilioWebhooks verifies Twilio's webhooks with twilio-go's request
// validator: an HMAC of the full public URL and the form fields under the
// account's auth token.
type TwilioWebhooks struct {
	AuthToken string
	// PublicURL is the engine's address as Twilio calls it; the signed URL
	// is PublicURL plus the request's path and query.
	PublicURL string
}

// SendGridWebhooks verifies SendGrid's signed Event Webhook (ECDSA P-256
// over the timestamp and the body) with sendgrid-go's eventwebhook helper.
type SendGridWebhooks struct {
	PublicKey *ecdsa.PublicKey
	// MaxAge bounds the signed timestamp's age (0: 10 minutes).
	MaxAge time.Duration
}

// ParseSendGridKey reads the verification key SendGrid shows for a signed
// Event Webhook (base64 DER).
func ParseSendGridKey(b64 string) (*ecdsa.PublicKey, error) {
	der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(b64))
	if err != nil {
		return nil, fmt.Errorf("the SendGrid verification key is not base64: %w", err)
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("the SendGrid verification key: %w", err)
	}
	ec, ok := k.(*ecdsa.PublicKey)
	if !ok {
		return nil, errors.New("the SendGrid verification key is not an ECDSA key")
	}
	return ec, nil
}

// twilioForm reads and verifies a Twilio webhook; it answers the request
// itself (404 not configured, 401 unsigned or tampered) when ok is false.
func (s *Server) twilioForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	if s.Twilio.AuthToken == "" || s.Customers == nil {
		writeProblem(w, http.StatusNotFound, "provider-not-configured", "Twilio not configured",
			"Set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and RECOVERY_PUBLIC_URL to receive Twilio webhooks.")
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		writeProblem(w, http.StatusBadRequest, "bad-form", "Form not readable", "Twilio webhooks are form-encoded.")
		return nil, false
	}
	params := map[string]string{}
	for k, v := range r.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	v := twclient.NewRequestValidator(s.Twilio.AuthToken)
	full := strings.TrimSuffix(s.Twilio.PublicURL, "/") + r.URL.RequestURI()
	if sig := r.Header.Get("X-Twilio-Signature"); sig == "" || !v.Validate(full, params, sig) {
		s.Logger.Info("twilio signature rejected", "path", r.URL.Path)
		writeProblem(w, http.StatusUnauthorized, "bad-signature", "Signature not valid",
			"The request's X-Twilio-Signature did not verify; nothing was changed.")
		return nil, false
	}
	return r.PostForm, true
}

// stepOf reads the ladder step a callback URL names.
func stepOf(q url.Values) (recovery.ContactEvent, bool) {
	step, err := strconv.Atoi(q.Get("step"))
	ev := recovery.ContactEvent{IncidentID: q.Get("incident"), Step: step, Channel: q.Get("channel")}
	return ev, err == nil && step > 0 && ev.IncidentID != "" &&
		(ev.Channel == recovery.ChannelSMS || ev.Channel == recovery.ChannelVoice)
}

// twilioStatus takes a message's or a call's status callback and moves
// the ladder: delivered or answered by a person reaches the customer;
// undelivered, busy, no answer or a machine moves on.
func (s *Server) twilioStatus(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	ev, ok := stepOf(r.URL.Query())
	if !ok {
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Unknown step", "The callback URL names no ladder step.")
		return
	}
	if ev.Channel == recovery.ChannelSMS {
		ev.ProviderID, ev.Detail = form.Get("MessageSid"), form.Get("MessageStatus")
		switch ev.Detail {
		case "delivered", "read":
			ev.Outcome = recovery.OutcomeDelivered
		case "undelivered", "failed":
			ev.Outcome = recovery.OutcomeFailed
		}
	} else {
		ev.ProviderID, ev.Detail = form.Get("CallSid"), form.Get("CallStatus")
		switch ev.Detail {
		case "completed":
			ev.Outcome = recovery.OutcomeDelivered
			if by := form.Get("AnsweredBy"); strings.HasPrefix(by, "machine") || by == "fax" {
				ev.Outcome, ev.Detail = recovery.OutcomeVoicemail, "completed by "+by
			}
		case "busy", "no-answer", "failed", "canceled":
			ev.Outcome = recovery.OutcomeFailed
		}
	}
	if ev.Outcome == "" { // queued, sent, ringing…: nothing to act on
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.notify(w, r.Context(), ev)
}

// notify records a contact event and passes it to the workflow; a step
// that does not exist is 404, anything else that fails 503 so that the
// provider retries.
func (s *Server) notify(w http.ResponseWriter, ctx context.Context, ev recovery.ContactEvent) {
	if err := s.Customers.NotifyContact(ctx, ev); err != nil {
		if errors.Is(err, recovery.ErrNotFound) {
			writeProblem(w, http.StatusNotFound, "not-found", "Unknown step", "No such contact step.")
			return
		}
		s.Logger.Warn("contact event not passed on", "incident_id", ev.IncidentID, "step", ev.Step, "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Try again", "The event could not be recorded yet.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// voiceLanguage is the <Say> language of a template language.
var voiceLanguage = map[string]string{"en": "en-GB", "de": "de-DE", "fr": "fr-FR", "es": "es-ES"}

func writeTwiML(w http.ResponseWriter, verbs ...twiml.Element) {
	doc, err := twiml.Voice(verbs)
	if err != nil {
		doc = `<?xml version="1.0" encoding="UTF-8"?><Response><Hangup/></Response>`
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, doc) //nolint:errcheck
}

// callStep finds the incident and the voice step a call is about.
func (s *Server) callStep(ctx context.Context, ev recovery.ContactEvent) (recovery.Incident, recovery.Contact, bool) {
	inc, err := s.Incidents.GetIncident(ctx, ev.IncidentID)
	if err != nil {
		return inc, recovery.Contact{}, false
	}
	for _, c := range inc.Contacts {
		if c.Step == ev.Step && c.Channel == recovery.ChannelVoice {
			return inc, c, true
		}
	}
	return inc, recovery.Contact{}, false
}

func (s *Server) twilioCallback(kind string, ev recovery.ContactEvent) string {
	return messaging.TwilioCallbackURL(s.Twilio.PublicURL, kind, ev.IncidentID, ev.Step, recovery.ChannelVoice)
}

// callRequest reads a verified Twilio request about a call and finds its
// incident and voice step; when there is none it answers <Hangup/>
// itself, and ok is false.
func (s *Server) callRequest(w http.ResponseWriter, r *http.Request) (form url.Values, inc recovery.Incident,
	c recovery.Contact, ev recovery.ContactEvent, ok bool) {
	if form, ok = s.twilioForm(w, r); !ok {
		return
	}
	if ev, ok = stepOf(r.URL.Query()); ok {
		inc, c, ok = s.callStep(r.Context(), ev)
	}
	if !ok {
		writeTwiML(w, &twiml.VoiceHangup{})
	}
	return
}

// twilioVoice answers a placed call with TwiML: to a machine, a short
// voicemail (the status callback then moves the ladder on); to a person,
// the apology and the offer with <Gather> for 1, 2… to choose and 0 for a
// person.
func (s *Server) twilioVoice(w http.ResponseWriter, r *http.Request) {
	form, inc, c, ev, ok := s.callRequest(w, r)
	if !ok {
		return
	}
	if inc.ClosedAt != nil {
		writeTwiML(w, &twiml.VoiceHangup{})
		return
	}
	lang := s.Templates.Language(c.Locale)
	say := func(text string) *twiml.VoiceSay {
		return &twiml.VoiceSay{Message: text, Language: voiceLanguage[lang]}
	}
	if by := form.Get("AnsweredBy"); strings.HasPrefix(by, "machine") || by == "fax" {
		writeTwiML(w, say(s.Templates.Phrase(lang, "voicemail", messaging.ApologyData{OrderID: inc.OrderID, Kind: inc.Kind})),
			&twiml.VoiceHangup{})
		return
	}
	writeTwiML(w,
		&twiml.VoiceGather{Input: "dtmf", NumDigits: "1", Timeout: "8", Action: s.twilioCallback("gather", ev), Method: "POST",
			Language: voiceLanguage[lang], InnerElements: []twiml.Element{say(c.Body)}},
		say(s.Templates.Phrase(lang, "voice_bye", nil)))
}

// twilioGather takes the digit pressed: 1, 2… choose a remedy, 0 puts the
// customer through to a person; anything else repeats the message.
func (s *Server) twilioGather(w http.ResponseWriter, r *http.Request) {
	form, inc, c, ev, ok := s.callRequest(w, r)
	if !ok {
		return
	}
	writeTwiML(w, s.pressed(r.Context(), inc, c, ev, form.Get("Digits"))...)
}

// pressed acts on a digit and says what happened (the dev page presses
// digits through it too).
func (s *Server) pressed(ctx context.Context, inc recovery.Incident, c recovery.Contact, ev recovery.ContactEvent,
	digits string) []twiml.Element {
	lang := s.Templates.Language(c.Locale)
	say := func(name string, data any) *twiml.VoiceSay {
		return &twiml.VoiceSay{Message: s.Templates.Phrase(lang, name, data), Language: voiceLanguage[lang]}
	}
	ev.Outcome, ev.Detail = recovery.OutcomeResponded, "pressed "+digits
	if digits == "0" {
		ev.Detail = recovery.DetailPersonRequested
		s.tell(ctx, ev)
		if phone := s.opsFor(ctx, inc).Phone; phone != "" {
			return []twiml.Element{say("voice_person", nil), &twiml.VoiceDial{Number: phone}}
		}
		return []twiml.Element{say("voice_callback", nil), &twiml.VoiceHangup{}}
	}
	n, err := strconv.Atoi(digits)
	var options []recovery.Offer
	if inc.Offer != nil {
		options = inc.Offer.Options
	}
	switch {
	case err == nil && len(options) == 0 && n == 1:
		s.tell(ctx, ev) // heard it; nothing to choose
		return []twiml.Element{say("voice_bye", nil), &twiml.VoiceHangup{}}
	case err == nil && n >= 1 && n <= len(options) && inc.Status == recovery.IncidentAwaitingChoice:
		_, aerr := s.Remedies.Act(ctx, inc.WorkflowID, recovery.RemedyAction{Action: recovery.ActionChoose,
			Remedy: options[n-1].Remedy, By: recovery.Approver{Name: "customer (phone)"}})
		if aerr != nil {
			s.Logger.Warn("choice by phone refused", "incident_id", inc.ID, "err", aerr)
			return []twiml.Element{say("voice_bye", nil), &twiml.VoiceHangup{}}
		}
		s.tell(ctx, ev)
		return []twiml.Element{say("voice_thanks", nil), &twiml.VoiceHangup{}}
	}
	return []twiml.Element{say("voice_again", nil),
		&twiml.VoiceRedirect{Url: s.twilioCallback("voice", ev), Method: "POST"}}
}

// tell passes a customer's answer on; a failure is logged, since the
// customer has already been answered.
func (s *Server) tell(ctx context.Context, ev recovery.ContactEvent) {
	if err := s.Customers.NotifyContact(ctx, ev); err != nil {
		s.Logger.Warn("contact event not passed on", "incident_id", ev.IncidentID, "step", ev.Step, "err", err)
	}
}

// SMS keywords: Twilio's standard opt-out and opt-in words, and help in
// the four languages.
var (
	optOutWords = map[string]bool{"STOP": true, "STOPALL": true, "STOP ALL": true, "UNSUBSCRIBE": true, "CANCEL": true,
		"END": true, "QUIT": true, "OPTOUT": true, "OPT OUT": true, "REVOKE": true}
	optInWords = map[string]bool{"START": true, "UNSTOP": true, "YES": true}
	helpWords  = map[string]bool{"HELP": true, "INFO": true, "HILFE": true, "AIDE": true, "AYUDA": true}
)

// twilioSMS takes an SMS reply: STOP and the other opt-out words end all
// SMS to the number at once (confirmed once), START opts back in, HELP
// says how to reach a person, a number (or YES, the first option) chooses
// a remedy, OW, HOW or WOW answers the survey.
func (s *Server) twilioSMS(w http.ResponseWriter, r *http.Request) {
	form, ok := s.twilioForm(w, r)
	if !ok {
		return
	}
	reply := s.inboundSMS(r.Context(), form.Get("From"), form.Get("Body"))
	var verbs []twiml.Element
	if reply != "" {
		verbs = append(verbs, &twiml.MessagingMessage{Body: reply})
	}
	doc, err := twiml.Messages(verbs)
	if err != nil {
		doc = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	fmt.Fprint(w, doc) //nolint:errcheck
}

// inboundSMS acts on an SMS from a number and returns the reply, if any
// (the dev page replies through it too).
func (s *Server) inboundSMS(ctx context.Context, from, body string) string {
	word := strings.Join(strings.Fields(strings.ToUpper(body)), " ")
	ref, refErr := s.Customers.LatestContactTo(ctx, recovery.ChannelSMS, from)
	locale := ref.Locale
	out, err := s.Customers.OptedOut(ctx, recovery.ChannelSMS, from)
	if err != nil {
		s.Logger.Warn("consent not readable", "err", err)
	}
	switch {
	case optOutWords[word]:
		added, err := s.Customers.OptOut(ctx, recovery.ChannelSMS, from, "sms "+word)
		if err != nil {
			s.Logger.Error("opt-out not stored", "err", err)
			return ""
		}
		if refErr == nil {
			s.tell(ctx, recovery.ContactEvent{IncidentID: ref.IncidentID, Step: ref.Step, Channel: recovery.ChannelSMS,
				Outcome: recovery.OutcomeResponded, Detail: "opted out"})
		}
		if !added {
			return "" // confirmed once already
		}
		return s.Templates.Phrase(locale, "sms_stop", nil)
	case optInWords[word] && (out || word != "YES"):
		if _, err := s.Customers.OptIn(ctx, recovery.ChannelSMS, from); err != nil {
			s.Logger.Error("opt-in not stored", "err", err)
			return ""
		}
		return s.Templates.Phrase(locale, "sms_start", nil)
	case helpWords[word]:
		return s.Templates.Phrase(locale, "sms_help", s.opsOfIncident(ctx, ref.IncidentID, refErr).Phone)
	case out:
		return "" // an opted-out number gets no texts beyond help
	}
	if refErr != nil {
		return s.Templates.Phrase(locale, "sms_help", s.Ops.Phone)
	}
	ev := recovery.ContactEvent{IncidentID: ref.IncidentID, Step: ref.Step, Channel: recovery.ChannelSMS,
		Outcome: recovery.OutcomeResponded, Detail: "replied"}
	if answer, ok := recovery.ParseSurvey(word); ok {
		if err := s.Customers.SaveSurvey(ctx, ref.IncidentID, recovery.Survey{Answer: answer, Via: "sms", At: time.Now().UTC()}); err != nil {
			s.Logger.Error("survey not stored", "incident_id", ref.IncidentID, "err", err)
			return ""
		}
		if answer == recovery.SurveyWOW {
			return s.Templates.Phrase(locale, "survey_more", nil) // thanks, and: tell us more
		}
		return s.Templates.Phrase(locale, "survey_thanks", nil)
	}
	if reply, ok := s.surveyMore(ctx, ref.IncidentID, body, word); ok {
		return s.Templates.Phrase(locale, reply, nil)
	}
	n, err := strconv.Atoi(word)
	if word == "YES" {
		n, err = 1, nil
	}
	if err != nil || n < 1 || ref.IncidentStatus != recovery.IncidentAwaitingChoice {
		s.tell(ctx, ev)
		return s.Templates.Phrase(locale, "sms_unknown", nil)
	}
	inc, err := s.Incidents.GetIncident(ctx, ref.IncidentID)
	if err != nil || inc.Offer == nil || n > len(inc.Offer.Options) {
		return s.Templates.Phrase(locale, "sms_unknown", nil)
	}
	if _, err := s.Remedies.Act(ctx, inc.WorkflowID, recovery.RemedyAction{Action: recovery.ActionChoose,
		Remedy: inc.Offer.Options[n-1].Remedy, By: recovery.Approver{Name: "customer (sms)"}}); err != nil {
		s.Logger.Warn("choice by sms refused", "incident_id", inc.ID, "err", err)
		return s.Templates.Phrase(locale, "sms_unknown", nil)
	}
	ev.Detail = "chose " + string(inc.Offer.Options[n-1].Remedy)
	s.tell(ctx, ev)
	return "" // the confirmation follows from the workflow
}

// opsFor is how an incident's customer reaches a person: the order's
// brand's support contacts, else the deployment's.
func (s *Server) opsFor(ctx context.Context, inc recovery.Incident) OpsContact {
	if b := s.brandOf(ctx, inc); b != nil && b.Support.Phone != "" {
		return OpsContact{Phone: b.Support.Phone, Email: b.Support.Email}
	}
	return s.Ops
}

// opsOfIncident is opsFor of an incident known by id (the deployment's
// contacts when there is none, or it cannot be read).
func (s *Server) opsOfIncident(ctx context.Context, id string, refErr error) OpsContact {
	if refErr != nil || s.Brands == nil {
		return s.Ops
	}
	inc, err := s.Incidents.GetIncident(ctx, id)
	if err != nil {
		return s.Ops
	}
	return s.opsFor(ctx, inc)
}

// surveyMoreWithin is how long after a WOW by SMS a free-text reply is
// taken as the customer telling us more.
const surveyMoreWithin = 24 * time.Hour

// surveyMore keeps a free-text SMS as what the customer tells us more,
// when it follows their WOW by SMS within a day and they have not told us
// more yet.
func (s *Server) surveyMore(ctx context.Context, incidentID, body, word string) (string, bool) {
	if _, err := strconv.Atoi(word); err == nil || word == "YES" || s.Incidents == nil {
		return "", false // a choice, not words
	}
	inc, err := s.Incidents.GetIncident(ctx, incidentID)
	if err != nil || inc.Survey == nil || inc.Survey.Answer != recovery.SurveyWOW || inc.Survey.Via != "sms" ||
		inc.Survey.Comment != "" || time.Since(inc.Survey.At) > surveyMoreWithin {
		return "", false
	}
	more := customerWords(body)
	if r := []rune(more); len(r) > store.MaxSurveyComment {
		more = string(r[:store.MaxSurveyComment])
	}
	if err := s.Customers.SaveSurveyComment(ctx, incidentID, more); err != nil {
		s.Logger.Error("survey comment not stored", "incident_id", incidentID, "err_kind", errKind(err))
		return "", false
	}
	return "survey_more_thanks", true
}

// sendgridEvent is one event of SendGrid's Event Webhook; custom
// arguments come back as top-level fields.
type sendgridEvent struct {
	Email      string          `json:"email"`
	Event      string          `json:"event"`
	MessageID  string          `json:"sg_message_id"`
	IncidentID string          `json:"incident_id"`
	Step       json.RawMessage `json:"step"`
}

// sendgridEvents takes SendGrid's signed Event Webhook: delivered,
// opened and clicked reach the customer; bounced and dropped move the
// ladder on; unsubscribes and spam reports opt the address out.
func (s *Server) sendgridEvents(w http.ResponseWriter, r *http.Request) {
	if s.SendGrid.PublicKey == nil || s.Customers == nil {
		writeProblem(w, http.StatusNotFound, "provider-not-configured", "SendGrid events not configured",
			"Set SENDGRID_WEBHOOK_PUBLIC_KEY to receive SendGrid's signed Event Webhook.")
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	sig, ts := r.Header.Get(eventwebhook.VerificationHTTPHeader), r.Header.Get(eventwebhook.TimestampHTTPHeader)
	valid, err := eventwebhook.VerifySignature(s.SendGrid.PublicKey, body, sig, ts)
	maxAge := s.SendGrid.MaxAge
	if maxAge <= 0 {
		maxAge = 10 * time.Minute
	}
	sec, tsErr := strconv.ParseInt(ts, 10, 64)
	if err != nil || !valid || tsErr != nil || time.Since(time.Unix(sec, 0)).Abs() > maxAge {
		s.Logger.Info("sendgrid signature rejected")
		writeProblem(w, http.StatusUnauthorized, "bad-signature", "Signature not valid",
			"The Event Webhook signature or its timestamp did not verify; nothing was changed.")
		return
	}
	var events []sendgridEvent
	if err := json.Unmarshal(body, &events); err != nil {
		writeProblem(w, http.StatusBadRequest, "bad-json", "Events not readable", "The body must be a JSON array of events.")
		return
	}
	for _, e := range events {
		switch e.Event {
		case "unsubscribe", "group_unsubscribe", "spamreport":
			if _, err := s.Customers.OptOut(r.Context(), recovery.ChannelEmail, e.Email, "sendgrid "+e.Event); err != nil {
				writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Try again", "The opt-out could not be stored yet.")
				return
			}
			continue
		}
		ev := recovery.ContactEvent{IncidentID: e.IncidentID, Channel: recovery.ChannelEmail, Detail: e.Event, ProviderID: e.MessageID}
		step := strings.Trim(string(e.Step), `"`)
		ev.Step, _ = strconv.Atoi(step)
		switch e.Event {
		case "delivered":
			ev.Outcome = recovery.OutcomeDelivered
		case "open", "click":
			ev.Outcome = recovery.OutcomeOpened
		case "bounce", "dropped":
			ev.Outcome = recovery.OutcomeFailed
		}
		if ev.Outcome == "" || ev.IncidentID == "" || ev.Step < 1 {
			continue // processed, deferred, or mail the engine did not send
		}
		if err := s.Customers.NotifyContact(r.Context(), ev); err != nil && !errors.Is(err, recovery.ErrNotFound) {
			s.Logger.Warn("contact event not passed on", "incident_id", ev.IncidentID, "step", ev.Step, "err", err)
			writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Try again", "The events could not be recorded yet.")
			return
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

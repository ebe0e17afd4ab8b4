package messaging

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sendgrid/sendgrid-go"
	"github.com/sendgrid/sendgrid-go/helpers/mail"
	twclient "github.com/twilio/twilio-go/client"
	twapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Router sends each message through its channel's provider, and through
// Fallback (the capture adapter) when a channel has none configured.
type Router struct {
	SMS, Email, Voice recovery.Messenger
	Fallback          recovery.Messenger
}

// via is the messenger that takes a channel's messages: its provider,
// else the fallback; nil when there is neither.
func (r Router) via(channel string) recovery.Messenger {
	var m recovery.Messenger
	switch channel {
	case recovery.ChannelSMS:
		m = r.SMS
	case recovery.ChannelEmail:
		m = r.Email
	case recovery.ChannelVoice:
		m = r.Voice
	}
	if m == nil {
		m = r.Fallback
	}
	return m
}

// Send delivers m by its channel.
func (r Router) Send(ctx context.Context, m recovery.Message) (string, error) {
	via := r.via(m.Channel)
	if via == nil {
		return "", fmt.Errorf("no provider for %s: %w", m.Channel, recovery.ErrInvalid)
	}
	return via.Send(ctx, m)
}

// ProviderName names what takes a channel's messages, for metrics:
// "twilio", "sendgrid", "capture" or "none".
func (r Router) ProviderName(channel string) string {
	via := r.via(channel)
	switch {
	case via == nil:
		return "none"
	case isCapture(via):
		return "capture"
	case channel == recovery.ChannelEmail:
		return "sendgrid"
	}
	return "twilio"
}

func isCapture(m recovery.Messenger) bool {
	_, ok := m.(*Capture)
	return ok
}

// Sends reports whether a channel has a provider (or the fallback).
func (r Router) Sends(channel string) bool { return r.via(channel) != nil }

// TwilioConfig configures the Twilio adapter (TWILIO_* variables).
type TwilioConfig struct {
	AccountSID, AuthToken string
	// From is the sending number (E.164) or a Messaging Service SID (MG…).
	From string
	// CallerID is the number calls come from; From when unset (a
	// Messaging Service cannot place calls).
	CallerID string
	// PublicURL is where Twilio reaches the engine's webhooks: status
	// callbacks, the call's TwiML and its digits. Without it messages go
	// without status callbacks and calls cannot be placed.
	PublicURL string
	// APIBase replaces https://api.twilio.com (local stubs in tests).
	APIBase string
}

// Twilio sends SMS through twilio-go's Messages API.
type Twilio struct {
	cfg TwilioConfig
	api *twapi.ApiService
}

// NewTwilio returns the adapter; requests go to cfg.APIBase when set.
func NewTwilio(cfg TwilioConfig) *Twilio {
	hc := &http.Client{Timeout: 15 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if cfg.APIBase != "" {
		hc.Transport = rebase(cfg.APIBase)
	}
	c := &twclient.Client{Credentials: twclient.NewCredentials(cfg.AccountSID, cfg.AuthToken), HTTPClient: hc}
	c.SetAccountSid(cfg.AccountSID)
	return &Twilio{cfg: cfg, api: twapi.NewApiService(twclient.NewRequestHandler(c))}
}

// Send sends an SMS, or places a call, and returns Twilio's SID. Twilio's
// 4xx answers (an invalid number, an unsubscribed recipient) are permanent
// and wrapped in recovery.ErrInvalid; other answers mean Twilio did not
// take the message (recovery.ErrUnsent); a request that got no answer may
// have been taken.
func (t *Twilio) Send(_ context.Context, m recovery.Message) (string, error) {
	switch m.Channel {
	case recovery.ChannelSMS:
		return t.sms(m)
	case recovery.ChannelVoice:
		return t.call(m)
	}
	return "", fmt.Errorf("twilio sends sms and calls, not %s: %w", m.Channel, recovery.ErrInvalid)
}

// Callback returns the URL of one of the Twilio webhooks for a ladder
// step: status, voice (the call's TwiML) or gather (its digits).
func (t *Twilio) Callback(kind string, m recovery.Message) string {
	return TwilioCallbackURL(t.cfg.PublicURL, kind, m.IncidentID, m.Step, m.Channel)
}

// TwilioCallbackURL is the engine's Twilio webhook of a kind for one
// ladder step, under publicURL; the step rides in the query, which
// Twilio's signature covers.
func TwilioCallbackURL(publicURL, kind, incidentID string, step int, channel string) string {
	q := url.Values{"incident": {incidentID}, "step": {fmt.Sprint(step)}, "channel": {channel}}
	return strings.TrimSuffix(publicURL, "/") + "/v1/webhooks/twilio/" + kind + "?" + q.Encode()
}

func (t *Twilio) sms(m recovery.Message) (string, error) {
	p := &twapi.CreateMessageParams{}
	p.SetTo(m.To)
	p.SetBody(m.Text)
	if strings.HasPrefix(t.cfg.From, "MG") {
		p.SetMessagingServiceSid(t.cfg.From)
	} else {
		p.SetFrom(t.cfg.From)
	}
	if t.cfg.PublicURL != "" && m.IncidentID != "" {
		p.SetStatusCallback(t.Callback("status", m))
	}
	msg, err := t.api.CreateMessage(p)
	if err != nil {
		return "", twilioErr("message", err)
	}
	if msg.Sid == nil {
		return "", errors.New("twilio: the answer has no message sid")
	}
	return *msg.Sid, nil
}

// call places the call; Twilio fetches what to say from the voice
// webhook, after answering-machine detection has waited for the beep, and
// reports the call's end to the status webhook.
func (t *Twilio) call(m recovery.Message) (string, error) {
	if t.cfg.PublicURL == "" || m.IncidentID == "" {
		return "", fmt.Errorf("twilio calls need RECOVERY_PUBLIC_URL: %w", recovery.ErrInvalid)
	}
	from := t.cfg.CallerID
	if from == "" {
		from = t.cfg.From
	}
	p := &twapi.CreateCallParams{}
	p.SetTo(m.To)
	p.SetFrom(from)
	p.SetUrl(t.Callback("voice", m))
	p.SetMethod("POST")
	p.SetStatusCallback(t.Callback("status", m))
	p.SetStatusCallbackMethod("POST")
	p.SetStatusCallbackEvent([]string{"completed"})
	p.SetMachineDetection("DetectMessageEnd")
	p.SetTimeout(30)
	call, err := t.api.CreateCall(p)
	if err != nil {
		return "", twilioErr("call", err)
	}
	if call.Sid == nil {
		return "", errors.New("twilio: the answer has no call sid")
	}
	return *call.Sid, nil
}

func twilioErr(what string, err error) error {
	var restErr *twclient.TwilioRestError
	if errors.As(err, &restErr) {
		if restErr.Status >= 400 && restErr.Status < 500 && restErr.Status != 429 {
			return fmt.Errorf("twilio refused the %s (error %d): %w", what, restErr.Code, recovery.ErrInvalid)
		}
		return fmt.Errorf("twilio answered %d to the %s: %w", restErr.Status, what, recovery.ErrUnsent)
	}
	return fmt.Errorf("twilio: %w", err)
}

// SendGridConfig configures the SendGrid adapter (SENDGRID_* variables).
type SendGridConfig struct {
	APIKey         string
	From, FromName string
	// APIBase replaces https://api.sendgrid.com (local stubs in tests).
	APIBase string
}

// SendGrid sends email through sendgrid-go's v3 Mail Send.
type SendGrid struct{ cfg SendGridConfig }

// NewSendGrid returns the adapter.
func NewSendGrid(cfg SendGridConfig) *SendGrid {
	if cfg.APIBase == "" {
		cfg.APIBase = "https://api.sendgrid.com"
	}
	return &SendGrid{cfg: cfg}
}

// Send sends one email with text and HTML bodies; the idempotency key goes
// along as a custom argument, so that event webhooks name the ladder step.
// It returns SendGrid's X-Message-Id.
func (s *SendGrid) Send(ctx context.Context, m recovery.Message) (string, error) {
	if m.Channel != recovery.ChannelEmail {
		return "", fmt.Errorf("sendgrid sends email, not %s: %w", m.Channel, recovery.ErrInvalid)
	}
	from, fromName := s.cfg.From, s.cfg.FromName
	if m.From != "" {
		from, fromName = m.From, m.FromName
	}
	msg := mail.NewSingleEmail(mail.NewEmail(fromName, from), m.Subject, mail.NewEmail("", m.To), m.Text, m.HTML)
	if m.IncidentID != "" {
		// Event webhooks carry custom arguments back: they name the step.
		msg.SetCustomArg("incident_id", m.IncidentID)
		msg.SetCustomArg("step", fmt.Sprint(m.Step))
	}
	if m.IdempotencyKey != "" {
		msg.SetCustomArg("recovery_key", m.IdempotencyKey)
	}
	if m.ReplyTo != "" {
		msg.SetReplyTo(mail.NewEmail(fromName, m.ReplyTo))
	}
	if m.Unsubscribe != "" {
		msg.SetHeader("List-Unsubscribe", "<"+m.Unsubscribe+">")
		msg.SetHeader("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	req := sendgrid.GetRequest(s.cfg.APIKey, "/v3/mail/send", s.cfg.APIBase)
	req.Method = "POST"
	req.Body = mail.GetRequestBody(msg)
	resp, err := sendgrid.MakeRequestWithContext(ctx, req)
	if err != nil {
		return "", fmt.Errorf("sendgrid: %w", err)
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != 429:
		return "", fmt.Errorf("sendgrid refused the email with %d: %w", resp.StatusCode, recovery.ErrInvalid)
	default:
		return "", fmt.Errorf("sendgrid answered %d: %w", resp.StatusCode, recovery.ErrUnsent)
	}
	for k, v := range resp.Headers {
		if http.CanonicalHeaderKey(k) == "X-Message-Id" && len(v) > 0 {
			return v[0], nil
		}
	}
	return "", errors.New("sendgrid: the answer has no X-Message-Id")
}

// rebase sends every request to base instead of the provider's host.
type rebase string

func (b rebase) RoundTrip(r *http.Request) (*http.Response, error) {
	u, err := url.Parse(string(b))
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.URL.Scheme, r.URL.Host, r.Host = u.Scheme, u.Host, u.Host
	return http.DefaultTransport.RoundTrip(r)
}

// Package web is the HTTP adapter: the ingest API, the JSON read API and the
// health endpoints. Handlers are methods on Server, whose dependencies are
// interfaces wired by cmd.
package web

import (
	"context"
	"crypto/subtle"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Inbox commits events durably; see store.Inbox.
type Inbox interface {
	Submit(ctx context.Context, evs []recovery.Event) ([]bool, error)
}

// IncidentReader reads the incident projections.
type IncidentReader interface {
	ListIncidents(ctx context.Context, f recovery.IncidentFilter) ([]recovery.Incident, error)
	GetIncident(ctx context.Context, id string) (recovery.Incident, error)
}

// Check is one readiness check; it returns nil when its part is ready.
// An optional check is shown but does not decide readiness: the API of a
// process that also relays keeps taking events while Temporal is away.
// Details, when set, adds figures (such as the relay's backlog).
type Check struct {
	Name     string
	Ready    func(ctx context.Context) error
	Optional bool
	Details  func(ctx context.Context) (any, error)
}

// publicError is an error whose text may be shown on the health page.
type publicError interface{ Public() string }

// Server holds the handlers' dependencies.
type Server struct {
	Inbox     Inbox
	Incidents IncidentReader
	// APIKeys are the accepted bearer tokens.
	APIKeys []string
	// WebhookSecrets holds each integration's signing secrets (one, or two
	// during rotation): "events" for Standard Webhooks on /v1/events, and
	// one entry per provider webhook.
	WebhookSecrets map[string][]string
	// Tracking finds the order behind a carrier's tracking number.
	Tracking TrackingResolver
	// Remedies drives approvals and choices; Approvers may approve.
	Remedies  Remedies
	Approvers []Approver
	// Codes redeems issued codes.
	Codes Codes
	// Events lists and requeues what the relay quarantined; nil: those
	// endpoints answer 404.
	Events EventQueue
	// Checks decide /readyz.
	Checks []Check
	Logger *slog.Logger

	// The customer side (DESIGN §7): signed links, consent, contact
	// events from providers, the survey.
	Customers Customers
	// Links signs and checks the choice page and unsubscribe links; nil
	// serves no customer pages.
	Links *links.Signer
	// Twilio verifies Twilio's webhooks; SendGrid SendGrid's event
	// webhook. Either unset: that provider's webhooks answer 404.
	Twilio   TwilioWebhooks
	SendGrid SendGridWebhooks
	// Ops is how customers reach a person (shown on the choice page, said
	// on calls, sent in SMS help).
	Ops OpsContact
	// Dev, when set, serves the dev page of captured messages with
	// controls to act as the customer.
	Dev DevMessages
	// RateLimit bounds each caller's requests (zero: none).
	RateLimit RateLimit
	limiters  limiters
}

// Customers is what the customer-facing handlers need from the store and
// the workflows.
type Customers interface {
	recovery.Consent
	recovery.ContactNotifier
	// LatestContactTo finds the step an SMS reply answers.
	LatestContactTo(ctx context.Context, channel, address string) (recovery.ContactRef, error)
	// SaveSurvey stores the customer's OW, HOW or WOW.
	SaveSurvey(ctx context.Context, incidentID string, sv recovery.Survey) error
}

// OpsContact is how a customer reaches a person.
type OpsContact struct {
	Phone string // E.164; calls are put through to it on 0
	Email string
}

// Handler returns the routed handler with logging and panic recovery.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("POST /v1/events", s.postEvents)               // an API key or a Standard Webhooks signature: checked inside
	mux.HandleFunc("POST /v1/webhooks/{provider}", s.postWebhook) // verified with the provider's own scheme
	if s.Events != nil {
		mux.Handle("GET /v1/events", s.authOrApprover(http.HandlerFunc(s.listEvents)))
		mux.Handle("POST /v1/events/requeue", s.authOrApprover(http.HandlerFunc(s.requeueEvents)))
	}
	mux.Handle("GET /v1/incidents", s.auth(http.HandlerFunc(s.listIncidents)))
	mux.Handle("GET /v1/incidents/{id}", s.auth(http.HandlerFunc(s.getIncident)))
	// Approvals: an approver's key, checked inside.
	mux.HandleFunc("POST /v1/incidents/{id}/approve", s.remedyAction(recovery.ActionApprove))
	mux.HandleFunc("POST /v1/incidents/{id}/reject", s.remedyAction(recovery.ActionReject))
	mux.HandleFunc("POST /v1/incidents/{id}/offer", s.remedyAction(recovery.ActionOffer))
	mux.Handle("POST /v1/incidents/{id}/choice", s.authOrApprover(http.HandlerFunc(s.postChoice)))
	mux.Handle("POST /v1/codes/{code}/redeem", s.auth(http.HandlerFunc(s.redeemCode)))
	// Provider webhooks about contacts, each verified with its provider's
	// scheme inside.
	mux.HandleFunc("POST /v1/webhooks/twilio/status", s.twilioStatus)
	mux.HandleFunc("POST /v1/webhooks/twilio/voice", s.twilioVoice)
	mux.HandleFunc("POST /v1/webhooks/twilio/gather", s.twilioGather)
	mux.HandleFunc("POST /v1/webhooks/twilio/sms", s.twilioSMS)
	mux.HandleFunc("POST /v1/webhooks/sendgrid/events", s.sendgridEvents)
	// Customer pages behind signed links.
	mux.HandleFunc("GET /r/{token}", s.choicePage)
	mux.HandleFunc("POST /r/{token}", s.postChoicePage)
	mux.HandleFunc("POST /r/{token}/survey", s.postSurveyPage)
	mux.HandleFunc("GET /r/{token}/survey", s.choicePage) // the address after answering, reopened
	mux.HandleFunc("GET /u/{token}", s.unsubscribePage)
	mux.HandleFunc("POST /u/{token}", s.postUnsubscribe)
	if s.Dev != nil {
		mux.HandleFunc("GET /dev/messages", s.devMessages)
		mux.HandleFunc("POST /dev/messages/act", s.devAct)
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not-found", "Not found", "No such endpoint: "+r.Method+" "+r.URL.Path)
	})
	return s.logRequests(s.limit(mux))
}

// auth accepts a request that carries one of the API keys as a bearer token.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.bearerOK(r) {
			s.unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// authOrApprover accepts an API key or an approver's key.
func (s *Server) authOrApprover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := s.approver(r); !ok && !s.bearerOK(r) {
			s.unauthorized(w)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearerOK reports whether the request carries one of the API keys.
func (s *Server) bearerOK(r *http.Request) bool {
	token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && s.validKey(strings.TrimSpace(token))
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="recovery"`)
	writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized",
		"Send 'Authorization: Bearer <api key>'.")
}

func (s *Server) validKey(token string) bool {
	ok := 0
	for _, k := range s.APIKeys {
		if k != "" {
			ok |= subtle.ConstantTimeCompare([]byte(token), []byte(k))
		}
	}
	return ok == 1
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when every required check passes, and names each
// check's state either way: "ok", or what is wrong in words that carry no
// host, user or SQL (the detail goes to the log). Details add figures.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	status, checks, details := http.StatusOK, map[string]string{}, map[string]any{}
	for _, c := range s.Checks {
		if c.Details != nil {
			if d, err := c.Details(ctx); err == nil {
				details[c.Name] = d
			}
		}
		err := c.Ready(ctx)
		if err == nil {
			checks[c.Name] = "ok"
			continue
		}
		if !c.Optional {
			status = http.StatusServiceUnavailable
		}
		checks[c.Name] = "unavailable"
		if pe, ok := err.(publicError); ok {
			checks[c.Name] = pe.Public()
		}
		s.Logger.Warn("not ready", "check", c.Name, "err", err)
	}
	out := map[string]any{"ready": status == http.StatusOK, "checks": checks}
	if len(details) > 0 {
		out["details"] = details
	}
	writeJSON(w, status, out)
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// logRequests logs method, path, status and duration (never bodies or query
// values, which may carry personal data) and turns panics into 500s.
func (s *Server) logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("handler panic", "method", r.Method, "path", redactPath(r.URL.Path), "panic", p)
				writeError(sw, errPanic)
			}
			if sw.status >= 500 || s.Logger.Enabled(r.Context(), slog.LevelDebug) {
				s.Logger.Info("http", "method", r.Method, "path", redactPath(r.URL.Path), "status", sw.status,
					"duration", time.Since(start))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// redactPath hides the token of a customer link: it names the incident or
// the customer's address.
func redactPath(p string) string {
	for _, prefix := range []string{"/r/", "/u/"} {
		if rest, ok := strings.CutPrefix(p, prefix); ok {
			_, tail, _ := strings.Cut(rest, "/")
			if tail != "" {
				tail = "/" + tail
			}
			return prefix + "…" + tail
		}
	}
	return p
}

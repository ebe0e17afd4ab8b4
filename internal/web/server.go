// Package web is the HTTP adapter: the ingest API, the JSON read API and the
// health endpoints. Handlers are methods on Server, whose dependencies are
// interfaces wired by cmd.
package web

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/brands"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/metrics"
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
	// Credentials are the accepted bearer tokens, each with its name and
	// rights (see internal/auth and docs/credentials.md).
	Credentials []auth.Credential
	// EventSigners are the Standard Webhooks secrets of POST /v1/events,
	// each bound to the event sources it may write.
	EventSigners []auth.Signer
	// WebhookSecrets holds each provider webhook's signing secrets (one,
	// or two during rotation), by provider.
	WebhookSecrets map[string][]string
	// Tracking finds the order behind a carrier's tracking number.
	Tracking TrackingResolver
	// Remedies drives approvals and choices.
	Remedies Remedies
	// Inbound takes customers' email replies (SendGrid Inbound Parse).
	Inbound InboundReplies
	// Codes redeems issued codes.
	Codes Codes
	// Privacy exports and erases customers' data; nil: those endpoints
	// answer 404.
	Privacy Privacy
	// Replays remembers signed deliveries (webhook-id) for the signature's
	// tolerance, so that one sent again is answered without effect; nil:
	// (source, id) alone dedupes.
	Replays Replays
	// Events lists and requeues what the relay quarantined; nil: those
	// endpoints answer 404.
	Events EventQueue
	// Insights reads what GET /v1/insights computes (nil: 404).
	Insights InsightSource
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
	// Templates are the messages' words (RECOVERY_TEMPLATES_DIR over the
	// built-ins; nil: the built-ins), for what the customer pages, calls
	// and SMS replies say.
	Templates *messaging.Templates
	// Brands are the shops this deployment speaks for: an order's brand
	// gives its page its name, logo, colours and contacts (nil: none).
	Brands *brands.Set
	// Ops is how customers reach a person (shown on the choice page, said
	// on calls, sent in SMS help).
	Ops OpsContact
	// Dev, when set, serves the dev page of captured messages with
	// controls to act as the customer.
	Dev DevMessages
	// Metrics records requests and events (nil: none).
	Metrics *metrics.Metrics
	// RateLimit bounds each caller's requests (zero: none).
	RateLimit RateLimit
	limiters  limiters
	// PublicURL is where customers and providers reach the engine; when
	// it is https every answer carries Strict-Transport-Security.
	PublicURL string
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
	// SaveSurveyComment keeps what a customer who answered WOW told us
	// more (recovery.ErrConflict: the answer is not WOW).
	SaveSurveyComment(ctx context.Context, incidentID, comment string) error
}

// OpsContact is how a customer reaches a person.
type OpsContact struct {
	Phone string // E.164; calls are put through to it on 0
	Email string
}

// Handler returns the routed handler with logging, panic recovery, the
// callers' credentials and rate limits.
func (s *Server) Handler() http.Handler {
	h, _ := s.build()
	return h
}

// HealthHandler serves only /healthz and /readyz, for a process without
// the API (a relay or a worker): its own checks decide.
func (s *Server) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "no-api", "No API here",
			"This process serves only /healthz and /readyz: it runs no API (it is a relay or a worker).")
	})
	return mux
}

// build routes every endpoint, each with its declared access, and returns
// the handler with the routes it registered.
func (s *Server) build() (http.Handler, []Route) {
	rt := &router{s: s, mux: http.NewServeMux()}
	rt.handle("GET /healthz", public(PublicHealth), s.healthz)
	rt.handle("GET /readyz", public(PublicHealth), s.readyz)
	rt.handle("GET /openapi.json", public(PublicDocs), s.openAPI)
	// An ingest key for the events' sources, or a Standard Webhooks
	// signature bound to them (verified inside).
	rt.handle("POST /v1/events", Access{Right: auth.Ingest, Signed: true}, s.postEvents)
	rt.handle("POST /v1/webhooks/{provider}", public(PublicSignature), s.postWebhook)
	if s.Events != nil {
		rt.handle("GET /v1/events", need(auth.Read), s.listEvents)
		rt.handle("POST /v1/events/requeue", need(auth.Approve), s.requeueEvents) // ops: approvers and admins
	}
	rt.handle("GET /v1/incidents", need(auth.Read), s.listIncidents)
	rt.handle("GET /v1/insights", need(auth.Read), s.getInsights)
	rt.handle("GET /v1/incidents/{id}", need(auth.Read), s.getIncident)
	rt.handle("POST /v1/incidents/{id}/approve", need(auth.Approve), s.remedyAction(recovery.ActionApprove))
	rt.handle("POST /v1/incidents/{id}/reject", need(auth.Approve), s.remedyAction(recovery.ActionReject))
	rt.handle("POST /v1/incidents/{id}/offer", need(auth.Approve), s.remedyAction(recovery.ActionOffer))
	rt.handle("POST /v1/incidents/{id}/choice", need(auth.Choose), s.postChoice)
	rt.handle("POST /v1/codes/{code}/redeem", need(auth.Redeem), s.redeemCode)
	if s.Privacy != nil {
		rt.handle("GET /v1/customers/{id}/export", need(auth.Erase), s.exportCustomer)
		rt.handle("POST /v1/customers/{id}/erase", need(auth.Erase), s.eraseCustomer)
	}
	// Provider webhooks about contacts, each verified with its provider's
	// scheme inside.
	rt.handle("POST /v1/webhooks/twilio/status", public(PublicSignature), s.twilioStatus)
	rt.handle("POST /v1/webhooks/twilio/voice", public(PublicSignature), s.twilioVoice)
	rt.handle("POST /v1/webhooks/twilio/gather", public(PublicSignature), s.twilioGather)
	rt.handle("POST /v1/webhooks/twilio/sms", public(PublicSignature), s.twilioSMS)
	rt.handle("POST /v1/webhooks/sendgrid/events", public(PublicSignature), s.sendgridEvents)
	rt.handle("POST /v1/webhooks/sendgrid/inbound/{secret}", public(PublicSignature), s.postInbound)
	// Customer pages behind signed links.
	rt.handle("GET /r/{token}", public(PublicLink), s.choicePage)
	rt.handle("POST /r/{token}", public(PublicLink), s.postChoicePage)
	rt.handle("POST /r/{token}/survey", public(PublicLink), s.postSurveyPage)
	rt.handle("GET /r/{token}/survey", public(PublicLink), s.choicePage) // the address after answering, reopened
	rt.handle("POST /r/{token}/survey/more", public(PublicLink), s.postSurveyMore)
	rt.handle("GET /u/{token}", public(PublicLink), s.unsubscribePage)
	rt.handle("POST /u/{token}", public(PublicLink), s.postUnsubscribe)
	if s.Dev != nil {
		rt.handle("GET /dev/messages", public(PublicDev), s.devMessages)
		rt.handle("POST /dev/messages/act", public(PublicDev), s.devAct) // same-origin only (handle)
	}
	rt.handle("/", public(PublicNotFound), func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, http.StatusNotFound, "not-found", "Not found", "No such endpoint: "+r.Method+" "+r.URL.Path)
	})
	keys := auth.NewSet(s.Credentials)
	return s.secureHeaders(s.logRequests(identify(keys, s.limit(rt.mux)))), rt.routes
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
	// route is the pattern of the route that answered (for metrics).
	route string
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
				s.Logger.ErrorContext(r.Context(), "handler panic", "method", r.Method, "path", redactPath(r.URL.Path), "panic", p)
				writeError(sw, errPanic)
			}
			route := sw.route // the router's pattern, never the path: paths name incidents and tokens
			if route == "" {
				route = "unmatched"
			}
			s.Metrics.Request(route, r.Method, sw.status, time.Since(start))
			if sw.status >= 500 || s.Logger.Enabled(r.Context(), slog.LevelDebug) {
				s.Logger.InfoContext(r.Context(), "http", "method", r.Method, "path", redactPath(r.URL.Path), "status", sw.status,
					"duration", time.Since(start))
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// redactPath hides the token of a customer link (it names the incident or
// the customer's address) and the inbound webhook's secret.
func redactPath(p string) string {
	for _, prefix := range []string{"/r/", "/u/", "/v1/webhooks/sendgrid/inbound/"} {
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

package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// routeRules is who may call each route, declared here on its own: the
// matrix test fails for a route the server registers that is missing here
// (declare it), for one listed here that the server no longer registers,
// and for any route whose answers do not follow its rule.
var routeRules = map[string]Access{
	"GET /healthz":                                public(PublicHealth),
	"GET /readyz":                                 public(PublicHealth),
	"GET /openapi.json":                           public(PublicDocs),
	"POST /v1/events":                             {Right: auth.Ingest, Signed: true},
	"POST /v1/webhooks/{provider}":                public(PublicSignature),
	"GET /v1/events":                              need(auth.Read),
	"POST /v1/events/requeue":                     need(auth.Approve),
	"GET /v1/incidents":                           need(auth.Read),
	"GET /v1/insights":                            need(auth.Read),
	"GET /v1/incidents/{id}":                      need(auth.Read),
	"POST /v1/incidents/{id}/approve":             need(auth.Approve),
	"POST /v1/incidents/{id}/reject":              need(auth.Approve),
	"POST /v1/incidents/{id}/offer":               need(auth.Approve),
	"POST /v1/incidents/{id}/choice":              need(auth.Choose),
	"POST /v1/codes/{code}/redeem":                need(auth.Redeem),
	"GET /v1/customers/{id}/export":               need(auth.Erase),
	"POST /v1/customers/{id}/erase":               need(auth.Erase),
	"POST /v1/webhooks/twilio/status":             public(PublicSignature),
	"POST /v1/webhooks/twilio/voice":              public(PublicSignature),
	"POST /v1/webhooks/twilio/gather":             public(PublicSignature),
	"POST /v1/webhooks/twilio/sms":                public(PublicSignature),
	"POST /v1/webhooks/sendgrid/events":           public(PublicSignature),
	"POST /v1/webhooks/sendgrid/inbound/{secret}": public(PublicSignature), // the secret path segment, checked inside
	"GET /r/{token}":                              public(PublicLink),
	"POST /r/{token}":                             public(PublicLink),
	"POST /r/{token}/survey":                      public(PublicLink),
	"GET /r/{token}/survey":                       public(PublicLink),
	"POST /r/{token}/survey/more":                 public(PublicLink),
	"GET /u/{token}":                              public(PublicLink),
	"POST /u/{token}":                             public(PublicLink),
	"GET /dev/messages":                           public(PublicDev),
	"POST /dev/messages/act":                      public(PublicDev),
	"/":                                           public(PublicNotFound),
}

// effectiveRights is what a key configured with one right may do, written
// out here rather than asked of auth: admin everything, approve also read.
var effectiveRights = map[auth.Right][]auth.Right{
	auth.Ingest:  {auth.Ingest},
	auth.Read:    {auth.Read},
	auth.Redeem:  {auth.Redeem},
	auth.Choose:  {auth.Choose},
	auth.Approve: {auth.Approve, auth.Read},
	auth.Erase:   {auth.Erase},
	auth.Admin:   {auth.Ingest, auth.Read, auth.Redeem, auth.Choose, auth.Approve, auth.Erase, auth.Admin},
}

// routeBodies are requests a route accepts, so that a right key gets past
// validation where it can.
var routeBodies = map[string]string{
	"POST /v1/events":                 goodEvent,
	"GET /v1/events":                  "?status=dead",
	"POST /v1/events/requeue":         `{"all_dead":true}`,
	"POST /v1/incidents/{id}/approve": `{"note":"ok"}`,
	"POST /v1/incidents/{id}/reject":  `{"reason":"not ours"}`,
	"POST /v1/incidents/{id}/offer":   `{"offers":[{"remedy":"discount","value_minor":100}]}`,
	"POST /v1/incidents/{id}/choice":  `{"remedy":"refund"}`,
	"POST /v1/codes/{code}/redeem":    `{"order_id":"1001"}`,
}

type okPrivacy struct{}

func (okPrivacy) ExportCustomer(_ context.Context, who recovery.CustomerRef) (recovery.CustomerExport, error) {
	return recovery.CustomerExport{Customer: who}, nil
}

func (okPrivacy) EraseCustomer(context.Context, recovery.CustomerRef, string) (recovery.ErasureReport, error) {
	return recovery.ErasureReport{}, nil
}

type okCodes struct{}

func (okCodes) RedeemCode(_ context.Context, code, orderID string, at time.Time) (recovery.IssuedCode, error) {
	return recovery.IssuedCode{Code: code}, nil
}

const matrixSecret = "matrix-signing-secret"

// matrixServer is a server with every optional part set, so that every
// route is registered, and one key per right.
func matrixServer() *Server {
	held := recovery.Incident{ID: "inc-1", OrderID: "1001", WorkflowID: "incident/1001/s/late", Status: recovery.IncidentAwaitingApproval,
		Offer: &recovery.Offer{Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR", Status: recovery.OfferPending}}
	s := &Server{Inbox: &memInbox{seen: map[recovery.EventKey]bool{}}, Incidents: memIncidents{list: []recovery.Incident{held}},
		Remedies: &memRemedies{}, Codes: okCodes{}, Events: &queue{}, Customers: newMemCustomers(), Privacy: okPrivacy{},
		Links:          &links.Signer{Secret: []byte("matrix-links"), Base: "http://example.com"},
		Twilio:         TwilioWebhooks{AuthToken: twilioToken, PublicURL: "https://recovery.example"},
		SendGrid:       SendGridWebhooks{},
		Dev:            memCaptured{},
		WebhookSecrets: map[string][]string{"easypost": {"ep-secret"}},
		EventSigners:   []auth.Signer{{Name: "hooks", Secrets: []string{matrixSecret}, Sources: []string{"*"}}},
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil))}
	for _, r := range auth.Rights {
		c := auth.Credential{Name: "only-" + string(r), Key: "only-" + string(r) + "-key-0123456789", Rights: []auth.Right{r}}
		switch r {
		case auth.Ingest:
			c.Sources = []string{auth.AnySource}
		case auth.Approve:
			c.Limits = auth.Limits{Default: auth.NoLimit}
		}
		s.Credentials = append(s.Credentials, c)
	}
	return s
}

// caller is one kind of credential a request may carry.
type caller struct {
	name   string
	right  auth.Right // the one right of its key; "" for none
	header func(r *http.Request, body string)
}

func matrixCallers() []caller {
	out := []caller{
		{name: "no credential", header: func(*http.Request, string) {}},
		{name: "a wrong key", header: func(r *http.Request, _ string) {
			r.Header.Set("Authorization", "Bearer wrong-key-0123456789")
		}},
		{name: "a non-bearer scheme", header: func(r *http.Request, _ string) {
			r.Header.Set("Authorization", "Basic "+"b25seS1yZWFkLWtleS0wMTIzNDU2Nzg5Og==")
		}},
		{name: "a valid signature", header: func(r *http.Request, body string) {
			now := time.Now()
			sig, _ := ingest.SignStandardWebhook(matrixSecret, "msg-1", now, []byte(body))
			r.Header.Set("webhook-id", "msg-1")
			r.Header.Set("webhook-timestamp", fmt.Sprint(now.Unix()))
			r.Header.Set("webhook-signature", sig)
		}},
	}
	for _, right := range auth.Rights {
		key := "only-" + string(right) + "-key-0123456789"
		out = append(out, caller{name: "a key with only " + string(right), right: right, header: func(r *http.Request, _ string) {
			r.Header.Set("Authorization", "Bearer "+key)
		}})
	}
	return out
}

// exampleRequest builds a request for a route pattern: its method (GET
// for a pattern without one), its path with each wildcard filled in, and
// the body the route expects.
func exampleRequest(pattern string) (*http.Request, string) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = http.MethodGet, "/no/such/endpoint"
	}
	path = strings.NewReplacer("{id}", "inc-1", "{code}", "SORRY-1", "{provider}", "easypost", "{token}", "not-a-token").Replace(path)
	body := routeBodies[pattern]
	if q, ok := strings.CutPrefix(body, "?"); ok {
		path, body = path+"?"+q, ""
	}
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return req, body
}

// TestRouteMatrix tries every route the real handler registers with every
// kind of credential: none or a wrong one is 401 on a protected route, a
// valid key without the route's right 403, a key with it neither; a public
// route answers the same whoever calls.
func TestRouteMatrix(t *testing.T) {
	for _, r := range auth.Rights {
		if _, ok := effectiveRights[r]; !ok {
			t.Fatalf("right %q is missing from effectiveRights: say what a key with only it may do", r)
		}
	}
	s := matrixServer()
	h, routes := s.build()
	var registered []string
	for _, rt := range routes {
		registered = append(registered, rt.Pattern)
		want, ok := routeRules[rt.Pattern]
		switch {
		case !ok:
			t.Errorf("route %q (%s) has no rule in routeRules: declare who may call it", rt.Pattern, rt.Access)
		case want != rt.Access:
			t.Errorf("route %q is registered as %s, but routeRules says %s", rt.Pattern, rt.Access, want)
		}
	}
	for pattern := range routeRules {
		if !slices.Contains(registered, pattern) {
			t.Errorf("routeRules names %q, which the server does not register", pattern)
		}
	}
	if t.Failed() {
		t.FailNow()
	}
	callers := matrixCallers()
	for _, rt := range routes {
		t.Run(rt.Pattern, func(t *testing.T) {
			if method, _, _ := strings.Cut(rt.Pattern, " "); rt.Access.Public == PublicDev && method != http.MethodGet {
				req, _ := exampleRequest(rt.Pattern)
				req.Header.Set("Sec-Fetch-Site", "cross-site")
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusForbidden {
					t.Errorf("a cross-site %s: %d, want 403 (dev pages take POSTs from their own origin only)", rt.Pattern, rec.Code)
				}
			}
			publicStatus := 0
			for _, c := range callers {
				req, body := exampleRequest(rt.Pattern)
				c.header(req, body)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				got := rec.Code
				a := rt.Access
				if a.Public != "" {
					if publicStatus == 0 {
						publicStatus = got
					} else if got != publicStatus {
						t.Errorf("public route with %s: %d, but %d with no credential: a public route must not depend on the caller's key",
							c.name, got, publicStatus)
					}
					continue
				}
				var want string // "401", "403" or "allowed"
				switch {
				case c.right != "" && slices.Contains(effectiveRights[c.right], a.Right):
					want = "allowed"
				case c.right != "":
					want = "403"
				case c.name == "a valid signature" && a.Signed:
					want = "allowed"
				default:
					want = "401"
				}
				switch want {
				case "allowed":
					if got == http.StatusUnauthorized || got == http.StatusForbidden {
						t.Errorf("%s: %d %s, want it let through (route needs %s)", c.name, got, rec.Body, a)
					}
				case "401", "403":
					if fmt.Sprint(got) != want {
						t.Errorf("%s: %d %s, want %s (route needs %s)", c.name, got, rec.Body, want, a)
					} else if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
						t.Errorf("%s: %s answered as %q, want application/problem+json", c.name, want, ct)
					}
				}
			}
		})
	}
}

// A route registered without declaring who may call it stops the server
// from being built.
func TestRouteWithoutAccessIsRefused(t *testing.T) {
	for _, a := range []Access{{}, {Right: auth.Read, Public: PublicHealth}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("access %+v: registered", a)
				}
			}()
			rt := &router{s: &Server{}, mux: http.NewServeMux()}
			rt.handle("GET /new", a, func(http.ResponseWriter, *http.Request) {})
		}()
	}
}

package console

import (
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/recoveryhq/recovery/internal/insights"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/web"
)

// Accounts keeps the console's local accounts and their login attempts.
type Accounts interface {
	ConsoleUser(ctx context.Context, name string) (store.ConsoleUser, error)
	PutConsoleUser(ctx context.Context, u store.ConsoleUser) error
	// PutOIDCUser keeps the account of someone the identity provider
	// signed in (store.ErrAccountTaken: the name is someone else's).
	PutOIDCUser(ctx context.Context, u store.ConsoleUser) (store.ConsoleUser, error)
	RecordLogin(ctx context.Context, name, remote string, ok bool) error
	FailedLogins(ctx context.Context, name string, since time.Time) (int, error)
}

// Orders finds the orders of a customer named exactly (the shop's id, an
// email address, a phone number).
type Orders interface {
	OrdersOf(ctx context.Context, who recovery.CustomerRef, limit int) ([]string, error)
}

// OrderContacts reads an order's customer and address.
type OrderContacts interface {
	OrderContact(ctx context.Context, orderID string) (recovery.OrderContact, error)
}

// Requests records how a customer's request for a person was handled.
type Requests interface {
	MarkPersonRequestHandled(ctx context.Context, incidentID string, step int, by, note string) error
}

// Login limits: after MaxFailures failed attempts at a name within
// FailureWindow, the name is refused until the window has passed, right
// password or not.
const (
	MaxFailures   = 5
	FailureWindow = 15 * time.Minute
)

// Session timeouts: idle, and absolute.
const (
	IdleTimeout = 30 * time.Minute
	Lifetime    = 12 * time.Hour
)

// Server serves the console under /console/. It reads incidents and acts
// on them through the interfaces the API uses (web.IncidentReader,
// web.Remedies); who acts, and up to what value, comes from the session's
// account, never from a form.
type Server struct {
	Accounts  Accounts
	Sessions  scs.Store // a scs.CtxStore gets the requests' contexts
	Incidents web.IncidentReader
	Remedies  web.Remedies
	Logger    *slog.Logger
	// Insecure lets the session cookie travel over plain HTTP: only for
	// dev on loopback.
	Insecure bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Orders finds a customer's orders for the search (nil: no search by
	// customer).
	Orders Orders
	// Requests records that someone saw to a customer's request for a
	// person.
	Requests Requests
	// Timeline reads an order's events for an incident's page (nil: the
	// page shows the incident's own story only).
	Timeline OrderEvents
	// Carriers names the carriers of the queue's shipments, for its
	// column and filter (nil: neither).
	Carriers Carriers
	// Contacts reads an order's customer for the incident's header (nil:
	// not shown).
	Contacts OrderContacts
	// Steps reads what was done to carry out a remedy and what was undone
	// (nil: the timeline leaves them out).
	Steps RemedySteps
	// Events is the relay's queue: the events it quarantined, shown under
	// Needs attention and put back from there (nil: not shown).
	Events web.EventQueue
	// Views keeps each person's saved views of the queue (nil: none).
	Views Views
	// Insights reads what the insights page computes (nil: none).
	Insights web.InsightSource
	// Wall keeps the WOW moments and their stars (nil: no wall).
	Wall Wall
	// Policies: the active remedy policy, for its page and dry-runs.
	Policies Policies
	// RefreshEvery is how often an open queue refreshes its counts (0: 30s).
	RefreshEvery time.Duration
	// TemporalUI is the Temporal Web UI's address, for a link from each
	// incident to its workflow ("": no link); Namespace its namespace.
	TemporalUI, Namespace string

	// OIDC signs people in through an identity provider (nil: local
	// accounts only).
	OIDC *OIDC
	// NoPasswords turns local passwords off: only the identity provider
	// signs people in.
	NoPasswords bool

	sm *scs.SessionManager
}

// WithStore takes every part of the console that Postgres keeps from one
// store: accounts, sessions, incidents, orders, requests for a person,
// order events, remedy steps, carriers, the relay's queue and saved
// views. The remedies (the workflows) and the policies are set apart.
func (s *Server) WithStore(st *store.Store) *Server {
	s.Accounts, s.Sessions, s.Incidents, s.Orders, s.Requests = st, st.Sessions(), st, st, st
	s.Timeline, s.Steps, s.Carriers, s.Events, s.Views, s.Contacts, s.Insights, s.Wall = st, st, st, st, st, st, st, st
	return s
}

//go:embed templates/*.html assets/*
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"money": func(minor int64, currency string) string {
		return recovery.Money{Minor: minor, Currency: currency}.String()
	},
	"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
	"list": func(s ...string) []string { return s },
	// viewHref is a saved view's link: the whole attribute from one value,
	// so that its query keeps its = and &.
	"viewHref": func(query string) string { return "/console/?" + query },
	// tabHref is a tab's link, keeping the filters.
	"tabHref": func(tab, filter string) string {
		if filter != "" {
			filter = "&" + filter
		}
		return "/console/?tab=" + tab + filter
	},
	"stages":      func() []string { return stages },
	"stageName":   func(s string) string { return strings.ReplaceAll(s, "_", " ") },
	"ages":        func() any { return ages },
	"chartHeight": chartHeight,
	"chart": func(id string, bs []bar) any {
		return struct {
			ID   string
			Bars []bar
		}{id, bs}
	},
	"groups": func(r insights.Report) []insights.Group {
		if len(r.Groups) == 0 {
			return []insights.Group{r.Total}
		}
		return append([]insights.Group{r.Total}, r.Groups...)
	},
	"dist": seconds,
}).ParseFS(files, "templates/*.html"))

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Handler returns the console, every form protected against cross-origin
// requests (net/http.CrossOriginProtection).
func (s *Server) Handler() http.Handler {
	s.sm = scs.New()
	s.sm.Store = s.Sessions
	s.sm.IdleTimeout, s.sm.Lifetime = IdleTimeout, Lifetime
	s.sm.Cookie.Name = "recovery_console"
	s.sm.Cookie.Path = "/console"
	s.sm.Cookie.HttpOnly = true
	s.sm.Cookie.SameSite = http.SameSiteLaxMode
	s.sm.Cookie.Secure = !s.Insecure
	s.sm.ErrorFunc = func(w http.ResponseWriter, r *http.Request, err error) {
		s.Logger.Error("console session", "err", err)
		http.Error(w, "The console cannot reach its sessions; try again.", http.StatusServiceUnavailable)
	}

	mux := http.NewServeMux()
	mux.Handle("GET /console/assets/", http.StripPrefix("/console/", http.FileServerFS(files)))
	mux.HandleFunc("GET /console/login", s.loginPage)
	mux.HandleFunc("POST /console/login", s.login)
	mux.HandleFunc("POST /console/logout", s.logout)
	if s.OIDC != nil {
		mux.HandleFunc("GET /console/oidc/start", s.oidcStart)
		mux.HandleFunc("GET /console/oidc/callback", s.oidcCallback)
	}
	mux.HandleFunc("GET /console/{$}", s.signedIn(s.queue))
	mux.HandleFunc("GET /console/incidents/{id}", s.signedIn(s.incident))
	mux.HandleFunc("POST /console/incidents/{id}/approve", s.signedIn(s.decide(recovery.ActionApprove)))
	mux.HandleFunc("POST /console/incidents/{id}/reject", s.signedIn(s.decide(recovery.ActionReject)))
	mux.HandleFunc("POST /console/incidents/{id}/offer", s.signedIn(s.decide(recovery.ActionOffer)))
	mux.HandleFunc("POST /console/bulk", s.signedIn(s.bulk))
	mux.HandleFunc("POST /console/incidents/{id}/handled", s.signedIn(s.handled))
	mux.HandleFunc("GET /console/search", s.signedIn(s.search))
	mux.HandleFunc("GET /console/counts", s.signedIn(s.counts))
	if s.Views != nil {
		mux.HandleFunc("POST /console/views", s.signedIn(s.saveView))
		mux.HandleFunc("POST /console/views/delete", s.signedIn(s.deleteView))
	}
	mux.HandleFunc("POST /console/events/requeue", s.signedIn(s.requeue))
	mux.HandleFunc("GET /console/policy", s.signedIn(s.policyPage))
	mux.HandleFunc("GET /console/insights", s.signedIn(s.insightsPage))
	mux.HandleFunc("GET /console/insights.csv", s.signedIn(s.insightsPage))
	mux.HandleFunc("GET /console/wall", s.signedIn(s.wallPage))
	mux.HandleFunc("POST /console/wall/{id}/star", s.signedIn(s.star))
	mux.HandleFunc("POST /console/policy/check", s.signedIn(s.checkPolicy))
	mux.HandleFunc("/console/", func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusNotFound, "message", view{Title: "Not found", Message: "There is no such page in the console."})
	})
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.render(w, http.StatusForbidden, "message", view{Title: "Refused",
			Message: "This form was sent from another site, so nothing was done. Use the console itself."})
	}))
	return s.headers(cop.Handler(s.sm.LoadAndSave(mux)))
}

// headers: no framing, no sniffing, no caching of pages that show
// customers, and a content security policy without inline scripts.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// view is what a page template gets.
type view struct {
	Title    string
	User     *store.ConsoleUser
	Message  string
	Error    string
	Name     string
	Incident *recovery.Incident
	CanAct   bool
	// The queue: its rows, tabs and filters.
	Rows        []row
	Tabs        []tabCount
	Tab         string
	Filter      queueFilter
	Kinds       []recovery.Kind
	WorkflowURL string
	// Editing an offer: the remedies allowed, the account\'s limit.
	Remedies   []recovery.Remedy
	LimitMajor string
	// Results of a bulk action.
	Results []outcome
	// The search: its terms and page.
	Search   searchTerms
	Page     int
	NextPage int
	// Passwords: the sign-in page has the password form; SSO names the
	// identity provider it offers ("": none).
	Passwords bool
	SSO       string
	// CanHandle: the account may mark requests for a person handled.
	CanHandle bool
	// RefreshMillis: how often the queue page refreshes its counts.
	RefreshMillis int64
	// Insights: the insights page; Wall: the wow wall.
	Insights *insightsView
	Wall     *wallView
	// Policy: the policy page.
	Policy *policyView
	// Dead: the quarantined events, under Needs attention.
	Dead []recovery.DeadEvent
	// Header: an incident's customer, order value and deadlines.
	Header *incidentHeader
	// Story: an incident\'s timeline.
	Story []entry
	// Saved: the person\'s saved views; Query: the queue as shown.
	Saved   []store.ConsoleView
	Query   string
	ViewsOn bool
}

func (s *Server) render(w http.ResponseWriter, status int, name string, v view) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if err := pages.ExecuteTemplate(w, name, v); err != nil {
		s.Logger.Error("console page", "page", name, "err", err)
	}
}

const sessionUser = "user"

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "login", s.loginView(""))
}

// loginView is the sign-in page: the password form unless passwords are
// off, the identity provider's button when there is one.
func (s *Server) loginView(errMsg string) view {
	v := view{Title: "Sign in", Error: errMsg, Passwords: !s.NoPasswords}
	if s.OIDC != nil {
		v.SSO = cmp.Or(s.OIDC.Label, "single sign-on")
	}
	return v
}

// login checks a name and password: the same work for an unknown name as
// for a wrong password, every attempt audited, and a name with too many
// recent failures refused until they age out.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 8<<10)
	name, pw := strings.TrimSpace(r.PostFormValue("name")), r.PostFormValue("password")
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	fail := func(status int, msg string) {
		v := s.loginView(msg)
		v.Name = name
		s.render(w, status, "login", v)
	}
	if s.NoPasswords {
		fail(http.StatusForbidden, "Passwords are turned off here: sign in through the identity provider.")
		return
	}
	if name == "" || pw == "" || len(name) > 64 {
		fail(http.StatusBadRequest, "Give your name and your password.")
		return
	}
	ctx := r.Context()
	failures, err := s.Accounts.FailedLogins(ctx, name, s.now().Add(-FailureWindow))
	if err != nil {
		s.Logger.Error("console login", "err", err)
		fail(http.StatusServiceUnavailable, "Signing in is not possible right now; try again.")
		return
	}
	if failures >= MaxFailures {
		_ = s.Accounts.RecordLogin(ctx, name, remote, false)
		s.Logger.Warn("console login refused: too many failures", "name", name, "remote", remote)
		fail(http.StatusTooManyRequests, fmt.Sprintf("Too many failed attempts for this name: wait %d minutes, or ask an admin.",
			int(FailureWindow.Minutes())))
		return
	}
	u, err := s.Accounts.ConsoleUser(ctx, name)
	ok, rehash := false, false
	switch {
	case err == nil && u.DisabledAt == nil:
		ok, rehash, _ = VerifyPassword(pw, u.PasswordHash)
	case err == nil || errors.Is(err, recovery.ErrNotFound):
		VerifyNobody(pw)
	default:
		s.Logger.Error("console login", "err", err)
		fail(http.StatusServiceUnavailable, "Signing in is not possible right now; try again.")
		return
	}
	_ = s.Accounts.RecordLogin(ctx, name, remote, ok)
	if !ok {
		s.Logger.Info("console login failed", "name", name, "remote", remote)
		fail(http.StatusUnauthorized, "That name and password do not match an enabled account.")
		return
	}
	if rehash {
		if h, err := HashPassword(pw, DefaultParams); err == nil {
			u.PasswordHash = h
			_ = s.Accounts.PutConsoleUser(ctx, u)
		}
	}
	// A new token at login: a session fixed before it is worth nothing.
	if err := s.sm.RenewToken(ctx); err != nil {
		s.Logger.Error("console login", "err", err)
		fail(http.StatusServiceUnavailable, "Signing in is not possible right now; try again.")
		return
	}
	s.sm.Put(ctx, sessionUser, u.Name)
	s.Logger.Info("console login", "name", name, "remote", remote)
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	_ = s.sm.Destroy(r.Context())
	http.Redirect(w, r, "/console/login", http.StatusSeeOther)
}

// signedIn passes the session's account, still enabled, to h; anyone else
// goes to the login page.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, store.ConsoleUser)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		name := s.sm.GetString(r.Context(), sessionUser)
		if name == "" {
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		u, err := s.Accounts.ConsoleUser(r.Context(), name)
		if err != nil || u.DisabledAt != nil {
			_ = s.sm.Destroy(r.Context())
			http.Redirect(w, r, "/console/login", http.StatusSeeOther)
			return
		}
		h(w, r, u)
	}
}

// tabs are the queue's views of what needs a person.
var tabs = []struct{ Key, Title string }{
	{"approval", "Awaiting approval"},
	{"escalated", "Escalated"},
	{"attention", "Needs attention"},
	{"person", "Asked for a person"},
}

// row is one incident in a queue, with its approval deadlines when it
// waits for one.
type row struct {
	recovery.Incident
	Escalates, Due *time.Time
	Escalated      bool
	// Carrier is the shipment's carrier, when an event named it.
	Carrier string
}

// tabCount is a tab with its count, for the navigation.
type tabCount struct {
	Key, Title string
	Count      int
	Current    bool
}

// queue shows one tab of what needs a person: offers awaiting approval
// (the nearest deadline first, escalated ones marked), incidents that need
// attention (a remedy failed), and customers who asked for a person. It
// filters by kind, stage, carrier, currency and age.
func (s *Server) queue(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	ctx := r.Context()
	tab := r.URL.Query().Get("tab")
	if tab == "" {
		tab = "approval"
	}
	f := parseFilter(r.URL.Query())
	lists, err := s.lists(ctx, f)
	if err != nil {
		s.Logger.Error("console queue", "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", view{Title: "Unavailable", User: &u,
			Message: "The queue cannot be read right now; try again."})
		return
	}
	rows := lists[tab]
	sortRows(rows)
	v := view{User: &u, Rows: rows, CanAct: u.Role != "viewer", Tab: tab, Filter: f, Kinds: recovery.Kinds,
		RefreshMillis: s.refreshEvery().Milliseconds()}
	for _, t := range tabs {
		v.Tabs = append(v.Tabs, tabCount{Key: t.Key, Title: t.Title, Count: len(lists[t.Key]), Current: t.Key == tab})
		if t.Key == tab {
			v.Title = t.Title
		}
	}
	if v.Title == "" {
		s.render(w, http.StatusNotFound, "message", view{Title: "Not found", User: &u, Message: "There is no such tab."})
		return
	}
	if s.Views != nil {
		if v.Saved, err = s.Views.ConsoleViews(ctx, u.Name); err != nil {
			s.Logger.Error("console views", "err", err)
		}
		v.Query, v.ViewsOn = viewQuery(r.URL.Query()), true
	}
	if tab == "attention" && s.Events != nil {
		if v.Dead, err = s.Events.DeadEvents(ctx, 0, 100); err != nil {
			s.Logger.Error("console quarantined events", "err", err)
		}
	}
	s.render(w, http.StatusOK, "queue", v)
}

// requeue puts every quarantined event back in the relay's queue (as
// `recovery events retry --dead` does), for an approver or an admin.
func (s *Server) requeue(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	if u.Role == "viewer" || s.Events == nil {
		s.render(w, http.StatusForbidden, "message", view{Title: "Not yours to do", User: &u,
			Message: "A viewer reads; an approver or an admin puts events back."})
		return
	}
	n, err := s.Events.Requeue(r.Context(), nil)
	if err != nil {
		s.Logger.Error("console requeue", "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", view{Title: "Unavailable", User: &u, Message: "Try again in a moment."})
		return
	}
	s.Logger.Info("console: quarantined events requeued", "count", n, "by", u.Name)
	s.render(w, http.StatusOK, "message", view{Title: "Put back", User: &u,
		Message: fmt.Sprintf("%d event(s) are back in the relay's queue; one that still cannot be delivered returns here.", n)})
}

// lists reads every tab's incidents, filtered.
func (s *Server) lists(ctx context.Context, f queueFilter) (map[string][]row, error) {
	return waiting(ctx, s.Incidents, s.Carriers, s.now(), f)
}

// counts answers the queue page's script, which refreshes the tabs'
// counts while the page is open: {"approval": 2, "attention": 0, ...}.
func (s *Server) counts(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	// The counts need carriers only to filter by one (no column here): the
	// open queue pages ask every RefreshEvery.
	f := parseFilter(r.URL.Query())
	var carriers Carriers
	if f.Carrier != "" {
		carriers = s.Carriers
	}
	lists, err := waiting(r.Context(), s.Incidents, carriers, s.now(), f)
	if err != nil {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	out := map[string]int{}
	for _, t := range tabs {
		out[t.Key] = len(lists[t.Key])
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out) //nolint:errcheck
}

// refreshEvery is how often an open queue page refreshes its counts.
func (s *Server) refreshEvery() time.Duration {
	if s.RefreshEvery > 0 {
		return s.RefreshEvery
	}
	return 30 * time.Second
}

// withDeadlines adds when an offer awaiting approval escalates and when
// its deadline falls (from the offer's creation and the policy's rule).
func withDeadlines(inc recovery.Incident, now time.Time) row {
	r := row{Incident: inc}
	if inc.Offer == nil || inc.Decision == nil || inc.Offer.CreatedAt.IsZero() {
		return r
	}
	if d := inc.Decision.Approval.EscalateAfter; d > 0 {
		t := inc.Offer.CreatedAt.Add(d)
		r.Escalates, r.Escalated = &t, !now.Before(t)
	}
	if d := inc.Decision.Approval.Deadline; d > 0 {
		t := inc.Offer.CreatedAt.Add(d)
		r.Due = &t
	}
	return r
}

// sortRows puts the nearest deadline first, then the oldest detection.
func sortRows(rows []row) {
	slices.SortStableFunc(rows, func(a, b row) int {
		switch {
		case a.Due != nil && b.Due != nil:
			return a.Due.Compare(*b.Due)
		case a.Due != nil:
			return -1
		case b.Due != nil:
			return 1
		}
		return a.DetectedAt.Compare(b.DetectedAt)
	})
}

// askedForPerson reports whether the customer asked for a person on any
// contact step (pressed 0, replied HELP, asked on the page) of an
// incident that is still open.
func askedForPerson(inc recovery.Incident) bool {
	if inc.ClosedAt != nil {
		return false
	}
	for _, c := range inc.Contacts {
		if c.Detail == recovery.DetailPersonRequested && c.HandledAt == nil {
			return true
		}
	}
	return false
}

// handled records that the account saw to the customer's request for a
// person on one contact step, with a note saying what was done.
func (s *Server) handled(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	inc, err := s.Incidents.GetIncident(r.Context(), r.PathValue("id"))
	if err != nil {
		s.render(w, http.StatusNotFound, "message", view{Title: "Not found", User: &u, Message: "There is no such incident."})
		return
	}
	if u.Role == "viewer" || s.Requests == nil {
		s.render(w, http.StatusForbidden, "message", view{Title: "Not yours to do", User: &u,
			Message: "A viewer reads; an approver or an admin sees to the customer."})
		return
	}
	step, err := strconv.Atoi(r.PostFormValue("step"))
	note := strings.TrimSpace(r.PostFormValue("note"))
	switch {
	case err != nil || step < 1:
		s.render(w, http.StatusUnprocessableEntity, "incident", s.incidentView(u, inc, "Name the contact step."))
		return
	case note == "":
		s.render(w, http.StatusUnprocessableEntity, "incident", s.incidentView(u, inc, "Say what you did for the customer."))
		return
	}
	if err := s.Requests.MarkPersonRequestHandled(r.Context(), inc.ID, step, "console:"+u.Name, note); err != nil {
		status, msg := http.StatusServiceUnavailable, "It could not be recorded right now; try again."
		if errors.Is(err, recovery.ErrNotFound) {
			status, msg = http.StatusConflict, "That request for a person was already seen to."
		}
		s.render(w, status, "incident", s.incidentView(u, inc, msg))
		return
	}
	s.Logger.Info("console: request for a person handled", "incident_id", inc.ID, "step", step, "by", u.Name)
	http.Redirect(w, r, "/console/incidents/"+url.PathEscape(inc.ID), http.StatusSeeOther)
}

func (s *Server) incident(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	inc, err := s.Incidents.GetIncident(r.Context(), r.PathValue("id"))
	if errors.Is(err, recovery.ErrNotFound) {
		s.render(w, http.StatusNotFound, "message", view{Title: "Not found", User: &u, Message: "There is no such incident."})
		return
	}
	if err != nil {
		s.Logger.Error("console incident", "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", view{Title: "Unavailable", User: &u,
			Message: "The incident cannot be read right now; try again."})
		return
	}
	v := s.incidentView(u, inc, "")
	var events []recovery.Event
	if s.Timeline != nil {
		if events, err = s.Timeline.OrderEvents(r.Context(), inc.OrderID, 500); err != nil {
			s.Logger.Error("console timeline", "err", err)
		}
	}
	var steps []store.RemedyStep
	if s.Steps != nil {
		if steps, err = s.Steps.RemedySteps(r.Context(), inc.ID); err != nil {
			s.Logger.Error("console remedy steps", "err", err)
		}
	}
	v.Story = timeline(inc, events, steps)
	v.Header = s.header(r.Context(), inc, events)
	s.render(w, http.StatusOK, "incident", v)
}

// incidentHeader is what the top of an incident's page says besides the
// incident itself: who the customer is, what the order is worth, and when
// an offer waiting for approval escalates and must be decided.
type incidentHeader struct {
	Customer   string
	OrderValue string
	Deadlines  row
}

// header reads the customer (from the order's events, as the activities
// do) and the order's value, and works out the approval deadlines.
func (s *Server) header(ctx context.Context, inc recovery.Incident, events []recovery.Event) *incidentHeader {
	h := &incidentHeader{Deadlines: withDeadlines(inc, s.now())}
	if s.Contacts != nil {
		if oc, err := s.Contacts.OrderContact(ctx, inc.OrderID); err == nil {
			c := oc.Customer
			h.Customer = strings.TrimSpace(strings.Join(slices.DeleteFunc([]string{c.Name, c.Email, c.Phone},
				func(s string) bool { return s == "" }), ", "))
		} else if !errors.Is(err, recovery.ErrNotFound) {
			s.Logger.Error("console customer", "err", err)
		}
	}
	for _, e := range events {
		var d recovery.OrderData
		if e.Type == recovery.TypeOrderCreated && json.Unmarshal(e.Data, &d) == nil && d.Currency != "" {
			h.OrderValue = recovery.Money{Minor: d.TotalMinor, Currency: d.Currency}.String()
		}
	}
	return h
}

// incidentView is an incident's page: what the account may do with it,
// the remedies the policy allows for an edited offer and the account's
// limit in its currency, and the link to its workflow.
func (s *Server) incidentView(u store.ConsoleUser, inc recovery.Incident, errMsg string) view {
	v := view{Title: "Incident " + inc.ID, User: &u, Incident: &inc, Error: errMsg,
		CanAct:    u.Role != "viewer" && inc.Status == recovery.IncidentAwaitingApproval,
		CanHandle: u.Role != "viewer" && s.Requests != nil}
	if v.CanAct && inc.Offer != nil {
		v.Remedies = allowedRemedies(inc)
		if by, ok := approver(u, inc.Offer.Currency); ok && by.LimitMajor >= 0 {
			v.LimitMajor = fmt.Sprint(by.LimitMajor)
		}
	}
	if s.TemporalUI != "" && inc.WorkflowID != "" {
		v.WorkflowURL = strings.TrimSuffix(s.TemporalUI, "/") + "/namespaces/" + url.PathEscape(s.Namespace) +
			"/workflows/" + url.PathEscape(inc.WorkflowID)
	}
	return v
}

// allowedRemedies are the remedies the policy's decision offered (an
// edited offer stays among them), else the offer's own.
func allowedRemedies(inc recovery.Incident) []recovery.Remedy {
	var out []recovery.Remedy
	if inc.Decision != nil {
		for _, o := range inc.Decision.Offers {
			if !slices.Contains(out, o.Remedy) {
				out = append(out, o.Remedy)
			}
		}
	}
	if len(out) == 0 && inc.Offer != nil {
		out = append(out, inc.Offer.Remedy)
	}
	return out
}

// editedOffer reads an edited offer: a remedy the policy allows and a
// value in the offer's currency within the approver's limit (checked
// again by the workflow). It returns what is wrong in words otherwise.
func editedOffer(inc recovery.Incident, by recovery.Approver, remedy, value string) (recovery.RemedyOffer, string) {
	if inc.Offer == nil {
		return recovery.RemedyOffer{}, "This incident has no offer to change."
	}
	if !slices.Contains(allowedRemedies(inc), recovery.Remedy(remedy)) {
		return recovery.RemedyOffer{}, "Choose one of the remedies the policy allows."
	}
	cur := inc.Offer.Currency
	minor, ok := parseAmount(value, recovery.MinorDigits(cur))
	if !ok || minor <= 0 {
		return recovery.RemedyOffer{}, fmt.Sprintf("The value is an amount in %s such as 25.00.", cur)
	}
	if minor > by.LimitMinor(cur) {
		return recovery.RemedyOffer{}, fmt.Sprintf("That is over your limit of %d %s.", by.LimitMajor, cur)
	}
	return recovery.RemedyOffer{Remedy: recovery.Remedy(remedy), Value: recovery.Money{Minor: minor, Currency: cur}}, ""
}

// parseAmount reads "25", "25.5" or "25.50" (a comma for the point too)
// in minor units with digits decimals.
func parseAmount(s string, digits int) (int64, bool) {
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", ".")
	whole, frac, _ := strings.Cut(s, ".")
	if whole == "" || len(whole) > 12 || len(frac) > digits {
		return 0, false
	}
	for _, part := range []string{whole, frac} {
		for _, r := range part {
			if r < '0' || r > '9' {
				return 0, false
			}
		}
	}
	frac += strings.Repeat("0", digits-len(frac))
	var n int64
	for _, r := range whole + frac {
		n = n*10 + int64(r-'0')
	}
	return n, true
}

// approver is the account as the remedy workflow knows approvers: its
// limit in the incident's currency (admins: none).
func approver(u store.ConsoleUser, currency string) (recovery.Approver, bool) {
	switch u.Role {
	case "admin":
		return recovery.Approver{Name: "console:" + u.Name, LimitMajor: -1}, true
	case "approver":
		limit, ok := u.Limits[currency]
		if !ok {
			limit = u.Limits["default"]
		}
		return recovery.Approver{Name: "console:" + u.Name, LimitMajor: limit}, true
	}
	return recovery.Approver{}, false
}

// decide approves or rejects an incident's offer as the session's account.
func (s *Server) decide(action string) func(http.ResponseWriter, *http.Request, store.ConsoleUser) {
	return func(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
		r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
		ctx := r.Context()
		inc, err := s.Incidents.GetIncident(ctx, r.PathValue("id"))
		if err != nil {
			s.render(w, http.StatusNotFound, "message", view{Title: "Not found", User: &u, Message: "There is no such incident."})
			return
		}
		currency := ""
		if inc.Offer != nil {
			currency = inc.Offer.Currency
		}
		by, ok := approver(u, currency)
		if !ok {
			s.render(w, http.StatusForbidden, "message", view{Title: "Not yours to decide", User: &u,
				Message: "A viewer reads the queue; an approver or an admin decides."})
			return
		}
		a := recovery.RemedyAction{Action: action, By: by, Note: strings.TrimSpace(r.PostFormValue("note")),
			Reason: strings.TrimSpace(r.PostFormValue("reason"))}
		invalid := func(msg string) {
			s.render(w, http.StatusUnprocessableEntity, "incident", s.incidentView(u, inc, msg))
		}
		if action == recovery.ActionReject && a.Reason == "" {
			invalid("A rejection needs a reason.")
			return
		}
		// Over the limit is refused here, as bulk approvals and edited
		// offers are, before anything reaches the workflow (which checks
		// again).
		if action == recovery.ActionApprove && inc.Offer != nil && inc.Offer.ValueMinor > by.LimitMinor(currency) {
			s.render(w, http.StatusForbidden, "incident", s.incidentView(u, inc, fmt.Sprintf(
				"The offer, %s, is over your limit of %d %s: change it to a value within your limit, or leave it to someone whose limit covers it.",
				inc.Offer.Money(), by.LimitMajor, currency)))
			return
		}
		if action == recovery.ActionOffer {
			offer, msg := editedOffer(inc, by, r.PostFormValue("remedy"), r.PostFormValue("value"))
			if msg != "" {
				invalid(msg)
				return
			}
			a.Offers = []recovery.RemedyOffer{offer}
		}
		if inc.WorkflowID == "" || inc.ClosedAt != nil || inc.Status != recovery.IncidentAwaitingApproval {
			s.render(w, http.StatusConflict, "incident", view{Title: "Incident " + inc.ID, User: &u, Incident: &inc,
				Error: "This incident no longer waits for approval (" + inc.Status + ")."})
			return
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if _, err := s.Remedies.Act(actx, inc.WorkflowID, a); err != nil {
			s.Logger.Warn("console action refused", "incident_id", inc.ID, "action", action, "by", by.Name, "err", err)
			msg := "The workflow refused it: " + publicText(err)
			s.render(w, http.StatusConflict, "incident", s.incidentView(u, inc, msg))
			return
		}
		s.Logger.Info("console action", "incident_id", inc.ID, "action", action, "by", by.Name)
		http.Redirect(w, r, "/console/", http.StatusSeeOther)
	}
}

// MaxBulk bounds the incidents one bulk action takes.
const MaxBulk = 100

// outcome is what a bulk action did with one incident.
type outcome struct {
	ID, Result string
	OK         bool
}

// bulk approves or rejects several incidents at once, each checked on
// its own (still awaiting approval, within the account's limit in its
// currency) and each its own action on its workflow; it shows what
// happened to each.
func (s *Server) bulk(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		s.render(w, http.StatusBadRequest, "message", view{Title: "Refused", User: &u, Message: "The form could not be read."})
		return
	}
	action, ids := r.PostForm.Get("action"), r.PostForm["id"]
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	msg := ""
	switch {
	case u.Role == "viewer":
		s.render(w, http.StatusForbidden, "message", view{Title: "Not yours to decide", User: &u,
			Message: "A viewer reads the queue; an approver or an admin decides."})
		return
	case action != recovery.ActionApprove && action != recovery.ActionReject:
		msg = "Choose to approve or to reject."
	case len(ids) == 0:
		msg = "Select the incidents first."
	case len(ids) > MaxBulk:
		msg = fmt.Sprintf("At most %d incidents at once.", MaxBulk)
	case action == recovery.ActionReject && reason == "":
		msg = "Rejecting needs a reason."
	}
	if msg != "" {
		s.render(w, http.StatusUnprocessableEntity, "message", view{Title: "Nothing done", User: &u, Message: msg})
		return
	}
	var results []outcome
	for _, id := range ids {
		results = append(results, s.bulkOne(r.Context(), u, id, action, reason))
	}
	s.render(w, http.StatusOK, "bulk", view{Title: "Done", User: &u, Results: results})
}

func (s *Server) bulkOne(ctx context.Context, u store.ConsoleUser, id, action, reason string) outcome {
	inc, err := s.Incidents.GetIncident(ctx, id)
	switch {
	case err != nil:
		return outcome{ID: id, Result: "not found"}
	case inc.Status != recovery.IncidentAwaitingApproval || inc.WorkflowID == "" || inc.Offer == nil:
		return outcome{ID: id, Result: "no longer waits for approval (" + inc.Status + ")"}
	}
	by, _ := approver(u, inc.Offer.Currency)
	if action == recovery.ActionApprove && inc.Offer.ValueMinor > by.LimitMinor(inc.Offer.Currency) {
		return outcome{ID: id, Result: fmt.Sprintf("over your limit of %d %s", by.LimitMajor, inc.Offer.Currency)}
	}
	actx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := s.Remedies.Act(actx, inc.WorkflowID, recovery.RemedyAction{Action: action, By: by, Reason: reason,
		Note: "bulk"}); err != nil {
		s.Logger.Warn("console bulk action refused", "incident_id", id, "action", action, "by", by.Name, "err", err)
		return outcome{ID: id, Result: "refused: " + publicText(err)}
	}
	s.Logger.Info("console action", "incident_id", id, "action", action, "by", by.Name, "bulk", true)
	done := map[string]string{recovery.ActionApprove: "approved", recovery.ActionReject: "rejected"}[action]
	return outcome{ID: id, Result: done, OK: true}
}

// publicText is what an error may show a signed-in person: the domain's
// refusals say why (over the limit, not your role); anything else does not.
func publicText(err error) string {
	var pe interface{ Public() string }
	if errors.As(err, &pe) {
		return pe.Public()
	}
	if errors.Is(err, recovery.ErrForbidden) || errors.Is(err, recovery.ErrConflict) || errors.Is(err, recovery.ErrInvalid) {
		return err.Error()
	}
	return "try again in a moment."
}

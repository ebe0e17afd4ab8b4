package console

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/recoveryhq/recovery/internal/policy"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// memAccounts keeps accounts and login attempts in memory.
type memAccounts struct {
	mu     sync.Mutex
	users  map[string]store.ConsoleUser
	logins []login
}

type login struct {
	name string
	ok   bool
	at   time.Time
}

func (m *memAccounts) ConsoleUser(_ context.Context, name string) (store.ConsoleUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[name]
	if !ok {
		return u, recovery.ErrNotFound
	}
	return u, nil
}

func (m *memAccounts) PutConsoleUser(_ context.Context, u store.ConsoleUser) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.Name] = u
	return nil
}

// PutOIDCUser keeps an identity provider's account as the store does:
// never over a local account or another subject's, never enabling a
// disabled one.
func (m *memAccounts) PutOIDCUser(_ context.Context, u store.ConsoleUser) (store.ConsoleUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old, ok := m.users[u.Name]
	if ok && (old.Source != "oidc" || old.Subject != u.Subject) {
		return u, store.ErrAccountTaken
	}
	u.Source, u.DisabledAt = "oidc", old.DisabledAt
	m.users[u.Name] = u
	return u, nil
}

func (m *memAccounts) RecordLogin(_ context.Context, name, _ string, ok bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.logins = append(m.logins, login{name, ok, time.Now()})
	return nil
}

func (m *memAccounts) FailedLogins(_ context.Context, name string, since time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, l := range m.logins {
		if l.name == name && !l.ok && !l.at.Before(since) {
			n++
		}
	}
	return n, nil
}

// memIncidents serves one incident awaiting approval; memRemedies
// records the actions the console takes.
type memIncidents struct{ inc recovery.Incident }

func (m memIncidents) ListIncidents(_ context.Context, f recovery.IncidentFilter) ([]recovery.Incident, error) {
	if f.Status != "" && f.Status != m.inc.Status {
		return nil, nil
	}
	return []recovery.Incident{m.inc}, nil
}

func (m memIncidents) GetIncident(_ context.Context, id string) (recovery.Incident, error) {
	if id != m.inc.ID {
		return recovery.Incident{}, recovery.ErrNotFound
	}
	return m.inc, nil
}

// memCarriers names shipments' carriers ("order/shipment").
type memCarriers map[string]string

func (m memCarriers) Carriers(context.Context, []string) (map[string]string, error) { return m, nil }

type memRemedies struct {
	mu   sync.Mutex
	acts []recovery.RemedyAction
}

func (m *memRemedies) Act(_ context.Context, _ string, a recovery.RemedyAction) (recovery.RemedyView, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.acts = append(m.acts, a)
	return recovery.RemedyView{}, nil
}

const testPassword = "a long passphrase for the console"

type consoleTest struct {
	t        *testing.T
	srv      *httptest.Server
	accounts *memAccounts
	remedies *memRemedies
}

func newConsole(t *testing.T, insecure bool, opts ...func(s *Server, base string)) *consoleTest {
	t.Helper()
	hash, err := HashPassword(testPassword, DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	acc := &memAccounts{users: map[string]store.ConsoleUser{
		"mara": {Name: "mara", PasswordHash: hash, Role: "approver", Limits: map[string]int64{"EUR": 100, "default": 0}},
		"vic":  {Name: "vic", PasswordHash: hash, Role: "viewer"},
	}}
	rem := &memRemedies{}
	inc := recovery.Incident{ID: "inc-1", OrderID: "1001", Kind: recovery.KindLost, Status: recovery.IncidentAwaitingApproval,
		WorkflowID: "incident/1001/s-1/lost", DetectedAt: time.Now().Add(-time.Hour),
		Offer: &recovery.Offer{Remedy: recovery.RemedyReship, ValueMinor: 8999, Currency: "EUR", Status: recovery.OfferPending}}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: memIncidents{inc}, Remedies: rem,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: insecure}
	srv := httptest.NewServer(nil)
	t.Cleanup(srv.Close)
	for _, opt := range opts {
		opt(s, srv.URL)
	}
	srv.Config.Handler = s.Handler()
	return &consoleTest{t: t, srv: srv, accounts: acc, remedies: rem}
}

// client is a browser: cookies kept, redirects not followed.
func (c *consoleTest) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func (c *consoleTest) do(hc *http.Client, method, path string, form url.Values, header ...string) (*http.Response, string) {
	c.t.Helper()
	req, _ := http.NewRequest(method, c.srv.URL+path, strings.NewReader(form.Encode()))
	if method == http.MethodPost {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *consoleTest) login(hc *http.Client, name, pw string) *http.Response {
	resp, _ := c.do(hc, http.MethodPost, "/console/login", url.Values{"name": {name}, "password": {pw}})
	return resp
}

func TestSignInSessionAndSignOut(t *testing.T) {
	c := newConsole(t, true)
	hc := c.client()
	if resp, _ := c.do(hc, http.MethodGet, "/console/", nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
		t.Fatalf("the queue without a session: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := c.do(hc, http.MethodGet, "/console/login", nil); resp.StatusCode != 200 || !strings.Contains(body, `<label for="password">`) {
		t.Fatalf("login page: %d", resp.StatusCode)
	}
	if resp := c.login(hc, "mara", "not the password at all"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a wrong password: %d", resp.StatusCode)
	}
	if resp := c.login(hc, "nobody", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("an unknown name: %d", resp.StatusCode)
	}
	resp := c.login(hc, "mara", testPassword)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/" {
		t.Fatalf("the right password: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"recovery_console=", "Path=/console", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	resp, body := c.do(hc, http.MethodGet, "/console/", nil)
	if resp.StatusCode != 200 || !strings.Contains(body, "inc-1") || !strings.Contains(body, "mara") {
		t.Fatalf("the queue: %d\n%s", resp.StatusCode, body)
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("headers: CSP %q, cache %q", csp, resp.Header.Get("Cache-Control"))
	}
	var audited []bool
	for _, l := range c.accounts.logins {
		audited = append(audited, l.ok)
	}
	if len(audited) != 3 || audited[0] || audited[1] || !audited[2] {
		t.Fatalf("login audit %v, want two failures and a success", audited)
	}
	c.do(hc, http.MethodPost, "/console/logout", nil)
	if resp, _ := c.do(hc, http.MethodGet, "/console/", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the queue after signing out: %d", resp.StatusCode)
	}
}

func TestSessionCookieIsSecureOutsideDev(t *testing.T) {
	c := newConsole(t, false)
	resp := c.login(c.client(), "mara", testPassword)
	if !strings.Contains(resp.Header.Get("Set-Cookie"), "Secure") {
		t.Fatalf("cookie %q is not Secure", resp.Header.Get("Set-Cookie"))
	}
}

func TestTooManyFailuresLockTheName(t *testing.T) {
	c := newConsole(t, true)
	hc := c.client()
	for range MaxFailures {
		c.login(hc, "mara", "a wrong password, again and again")
	}
	if resp := c.login(hc, "mara", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the right password after %d failures: %d, want 429", MaxFailures, resp.StatusCode)
	}
	if resp := c.login(c.client(), "vic", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("another name: %d", resp.StatusCode)
	}
}

// TestDecisionsActAsTheSessionsAccount: the approver and the limit come
// from the session's account (a form field naming someone else changes
// nothing); a viewer may not decide; a rejection needs a reason; and a
// form posted from another site is refused.
func TestDecisionsActAsTheSessionsAccount(t *testing.T) {
	c := newConsole(t, true)
	viewer := c.client()
	c.login(viewer, "vic", testPassword)
	if resp, _ := c.do(viewer, http.MethodPost, "/console/incidents/inc-1/approve", url.Values{}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer approves: %d", resp.StatusCode)
	}
	hc := c.client()
	c.login(hc, "mara", testPassword)
	if resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-1/reject", url.Values{"reason": {" "}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a rejection without a reason: %d", resp.StatusCode)
	}
	if resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-1/approve", url.Values{"note": {"ok"}},
		"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a form from another site: %d", resp.StatusCode)
	}
	if len(c.remedies.acts) != 0 {
		t.Fatalf("actions taken: %+v", c.remedies.acts)
	}
	resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-1/approve",
		url.Values{"note": {"fine"}, "by": {"someone-else"}, "limit": {"-1"}}, "Origin", c.srv.URL)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("approve: %d", resp.StatusCode)
	}
	if len(c.remedies.acts) != 1 {
		t.Fatalf("%d actions, want 1", len(c.remedies.acts))
	}
	a := c.remedies.acts[0]
	if a.Action != recovery.ActionApprove || a.By.Name != "console:mara" || a.By.LimitMajor != 100 || a.Note != "fine" {
		t.Fatalf("action %+v, want mara's approval within her EUR limit", a)
	}
}

// memList serves a list of incidents, filtered by status as the store
// filters them.
type memList []recovery.Incident

func (m memList) ListIncidents(_ context.Context, f recovery.IncidentFilter) ([]recovery.Incident, error) {
	var out []recovery.Incident
	for _, inc := range m {
		if (f.Status == "" || inc.Status == f.Status) && (f.OrderID == "" || inc.OrderID == f.OrderID) &&
			(f.Kind == "" || string(inc.Kind) == f.Kind) {
			out = append(out, inc)
		}
	}
	slices.SortStableFunc(out, func(a, b recovery.Incident) int { return b.DetectedAt.Compare(a.DetectedAt) })
	return out, nil
}

func (m memList) GetIncident(_ context.Context, id string) (recovery.Incident, error) {
	for _, inc := range m {
		if inc.ID == id {
			return inc, nil
		}
	}
	return recovery.Incident{}, recovery.ErrNotFound
}

// TestQueueTabsCountsFiltersAndDeadlines: each tab shows its incidents
// and every tab its count; approvals come nearest deadline first, an
// escalated one marked; kind and currency filter.
func TestQueueTabsCountsFiltersAndDeadlines(t *testing.T) {
	c := newConsole(t, true)
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	rule := &recovery.RemedyDecision{Approval: recovery.ApprovalRule{EscalateAfter: 4 * time.Hour, Deadline: 24 * time.Hour}}
	offer := func(cur string, created time.Time) *recovery.Offer {
		return &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1000, Currency: cur, CreatedAt: created}
	}
	list := memList{
		{ID: "inc-late-due", OrderID: "o1", Kind: recovery.KindLate, Status: recovery.IncidentAwaitingApproval, WorkflowID: "w1",
			Decision: rule, Offer: offer("EUR", now.Add(-2*time.Hour)), DetectedAt: now.Add(-3 * time.Hour)},
		{ID: "inc-soon-due", OrderID: "o2", Kind: recovery.KindLost, Status: recovery.IncidentAwaitingApproval, WorkflowID: "w2",
			Decision: rule, Offer: offer("USD", now.Add(-20*time.Hour)), DetectedAt: now.Add(-time.Hour)},
		{ID: "inc-failed", OrderID: "o3", Kind: recovery.KindLost, Status: recovery.IncidentNeedsAttention, WorkflowID: "w3"},
		{ID: "inc-asked", OrderID: "o4", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen, WorkflowID: "w4",
			Contacts: []recovery.Contact{{Step: 1, Channel: "sms", Status: "sent", Detail: recovery.DetailPersonRequested}}},
		{ID: "inc-quiet", OrderID: "o5", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen, WorkflowID: "w5"},
	}
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{"mara": {Name: "mara", PasswordHash: hash, Role: "admin"}}}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: list, Remedies: &memRemedies{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true, Now: func() time.Time { return now },
		TemporalUI: "http://ui.example:8233", Namespace: "default",
		Carriers: memCarriers{"o1/": "DHL", "o2/": "ups", "o4/": "dhl"}}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	hc := c.client()
	if resp := c.login(hc, "mara", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	_, body := c.do(hc, http.MethodGet, "/console/", nil)
	for _, want := range []string{`Awaiting approval <span class="count" id="count-approval">2</span>`,
		`Escalated <span class="count" id="count-escalated">1</span>`,
		`Needs attention <span class="count" id="count-attention">1</span>`, `Asked for a person <span class="count" id="count-person">1</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("the tabs lack %q", want)
		}
	}
	soon, late := strings.Index(body, "inc-soon-due"), strings.Index(body, "inc-late-due")
	if soon < 0 || late < 0 || soon > late {
		t.Errorf("approvals not nearest deadline first (soon at %d, late at %d)", soon, late)
	}
	if strings.Count(body, "escalated</strong>") != 1 {
		t.Errorf("want exactly the 20-hour-old offer marked escalated:\n%s", body)
	}
	for tab, want := range map[string]string{"attention": "inc-failed", "person": "inc-asked"} {
		_, b := c.do(hc, http.MethodGet, "/console/?tab="+tab, nil)
		if !strings.Contains(b, want) || strings.Contains(b, "inc-quiet") || strings.Contains(b, "inc-soon-due") {
			t.Errorf("tab %s does not hold exactly %s", tab, want)
		}
	}
	if _, b := c.do(hc, http.MethodGet, "/console/?tab=approval&currency=eur", nil); !strings.Contains(b, "inc-late-due") || strings.Contains(b, "inc-soon-due") {
		t.Error("the currency filter")
	}
	if _, b := c.do(hc, http.MethodGet, "/console/?tab=approval&kind=lost", nil); strings.Contains(b, "inc-late-due") || !strings.Contains(b, "inc-soon-due") {
		t.Error("the kind filter")
	}
	if _, b := c.do(hc, http.MethodGet, "/console/counts?kind=lost", nil); strings.TrimSpace(b) != `{"approval":1,"attention":1,"escalated":1,"person":0}` {
		t.Errorf("counts for lost: %s", b)
	}
	if _, b := c.do(hc, http.MethodGet, "/console/?tab=escalated", nil); !strings.Contains(b, "inc-soon-due") || strings.Contains(b, "inc-late-due") {
		t.Error("the escalated tab holds exactly the escalated offer")
	}
	// Carrier (either case), stage and age; each kept by the tabs' links.
	for query, want := range map[string]string{
		"carrier=dhl":                    `{"approval":1,"attention":0,"escalated":0,"person":1}`,
		"stage=open":                     `{"approval":0,"attention":0,"escalated":0,"person":1}`,
		"age=4h":                         `{"approval":0,"attention":1,"escalated":0,"person":1}`, // the approvals are 1 and 3 hours old
		"age=1h&stage=awaiting_approval": `{"approval":2,"attention":0,"escalated":1,"person":0}`,
	} {
		if _, b := c.do(hc, http.MethodGet, "/console/counts?"+query, nil); strings.TrimSpace(b) != want {
			t.Errorf("counts for %s: %s, want %s", query, b, want)
		}
	}
	if _, b := c.do(hc, http.MethodGet, "/console/?tab=approval&carrier=DHL", nil); !strings.Contains(b, `href="/console/?tab=person&amp;carrier=dhl"`) ||
		!strings.Contains(b, "<td>DHL</td>") {
		t.Error("the tabs' links lose the carrier filter, or the carrier column is missing")
	}
	if resp, _ := c.do(hc, http.MethodGet, "/console/?tab=nonsense", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown tab: %d", resp.StatusCode)
	}
	_, b := c.do(hc, http.MethodGet, "/console/incidents/inc-asked", nil)
	if !strings.Contains(b, `href="http://ui.example:8233/namespaces/default/workflows/w4"`) {
		t.Errorf("no link to the workflow in the Temporal UI:\n%s", b)
	}
}

// TestEditedOfferWithinTheLimit: mara (EUR 100) changes the offer to a
// remedy the policy allows at a value within her limit; a value over it,
// a remedy the policy did not offer, or a malformed value is refused with
// a reason, and nothing is sent to the workflow.
func TestEditedOfferWithinTheLimit(t *testing.T) {
	c := newConsole(t, true)
	hc := c.client()
	c.login(hc, "mara", testPassword)
	_, page := c.do(hc, http.MethodGet, "/console/incidents/inc-1", nil)
	if !strings.Contains(page, `action="/console/incidents/inc-1/offer"`) || !strings.Contains(page, `data-limit="100"`) {
		t.Fatalf("the incident page has no offer form bounded by the limit:\n%s", page)
	}
	for value, want := range map[string]string{"100.01": "over your limit", "abc": "an amount in EUR", "12.345": "an amount in EUR", "0": "an amount in EUR"} {
		resp, body := c.do(hc, http.MethodPost, "/console/incidents/inc-1/offer", url.Values{"remedy": {"reship"}, "value": {value}})
		if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, want) {
			t.Errorf("value %q: %d, want 422 saying %q", value, resp.StatusCode, want)
		}
	}
	if resp, body := c.do(hc, http.MethodPost, "/console/incidents/inc-1/offer", url.Values{"remedy": {"refund"}, "value": {"10"}}); resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "the policy allows") {
		t.Errorf("a remedy the policy did not offer: %d", resp.StatusCode)
	}
	if len(c.remedies.acts) != 0 {
		t.Fatalf("refused edits reached the workflow: %+v", c.remedies.acts)
	}
	if resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-1/offer", url.Values{"remedy": {"reship"}, "value": {"99,5"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("an edit within the limit: %d", resp.StatusCode)
	}
	a := c.remedies.acts[0]
	if a.Action != recovery.ActionOffer || len(a.Offers) != 1 || a.Offers[0].Remedy != recovery.RemedyReship ||
		a.Offers[0].Value != (recovery.Money{Minor: 9950, Currency: "EUR"}) || a.By.Name != "console:mara" {
		t.Fatalf("action %+v", a)
	}
}

// TestBulkDecisionsCheckEachIncident: mara (EUR 100) approves three
// incidents at once: the one within her limit is approved, the one over
// it and the one no longer waiting are not, and each says why. Rejecting
// needs a reason; a viewer may not.
func TestBulkDecisionsCheckEachIncident(t *testing.T) {
	c := newConsole(t, true)
	list := memList{
		{ID: "inc-small", Status: recovery.IncidentAwaitingApproval, WorkflowID: "w1",
			Offer: &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 5000, Currency: "EUR"}},
		{ID: "inc-big", Status: recovery.IncidentAwaitingApproval, WorkflowID: "w2",
			Offer: &recovery.Offer{Remedy: recovery.RemedyReship, ValueMinor: 20000, Currency: "EUR"}},
		{ID: "inc-done", Status: recovery.IncidentResolved, WorkflowID: "w3",
			Offer: &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 100, Currency: "EUR"}},
	}
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{
		"mara": {Name: "mara", PasswordHash: hash, Role: "approver", Limits: map[string]int64{"EUR": 100, "default": 0}},
		"vic":  {Name: "vic", PasswordHash: hash, Role: "viewer"}}}
	rem := &memRemedies{}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: list, Remedies: rem,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	viewer := c.client()
	c.login(viewer, "vic", testPassword)
	if resp, _ := c.do(viewer, http.MethodPost, "/console/bulk", url.Values{"action": {"approve"}, "id": {"inc-small"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer's bulk approval: %d", resp.StatusCode)
	}
	hc := c.client()
	c.login(hc, "mara", testPassword)
	if _, b := c.do(hc, http.MethodGet, "/console/", nil); !strings.Contains(b, `name="id" value="inc-small"`) {
		t.Fatal("the approval tab has no selection boxes")
	}
	if resp, _ := c.do(hc, http.MethodPost, "/console/bulk", url.Values{"action": {"reject"}, "id": {"inc-small"}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a bulk rejection without a reason: %d", resp.StatusCode)
	}
	resp, body := c.do(hc, http.MethodPost, "/console/bulk", url.Values{"action": {"approve"}, "id": {"inc-small", "inc-big", "inc-done"}})
	if resp.StatusCode != 200 {
		t.Fatalf("bulk: %d", resp.StatusCode)
	}
	for _, want := range []string{"inc-small: approved", "inc-big: <strong class=\"error\">over your limit of 100 EUR", "inc-done: <strong class=\"error\">no longer waits"} {
		if !strings.Contains(body, want) {
			t.Errorf("the results lack %q:\n%s", want, body)
		}
	}
	if len(rem.acts) != 1 || rem.acts[0].By.Name != "console:mara" || rem.acts[0].Action != recovery.ActionApprove {
		t.Fatalf("actions %+v, want only inc-small's approval", rem.acts)
	}
}

// TestApprovingOverTheLimitIsRefused: mara (EUR 100) approving a 200.00
// EUR offer on its page is refused with her limit, and the workflow hears
// nothing; an admin, without a limit, may approve it.
func TestApprovingOverTheLimitIsRefused(t *testing.T) {
	c := newConsole(t, true)
	list := memList{{ID: "inc-big", Status: recovery.IncidentAwaitingApproval, WorkflowID: "w2",
		Offer: &recovery.Offer{Remedy: recovery.RemedyReship, ValueMinor: 20000, Currency: "EUR", Status: recovery.OfferPending}}}
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{
		"mara": {Name: "mara", PasswordHash: hash, Role: "approver", Limits: map[string]int64{"EUR": 100, "default": 0}},
		"ada":  {Name: "ada", PasswordHash: hash, Role: "admin"}}}
	rem := &memRemedies{}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: list, Remedies: rem,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	hc := c.client()
	c.login(hc, "mara", testPassword)
	resp, body := c.do(hc, http.MethodPost, "/console/incidents/inc-big/approve", url.Values{"note": {"fine"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "over your limit of 100 EUR") {
		t.Fatalf("mara approving 200.00 EUR: %d, want 403 saying it is over her limit of 100 EUR:\n%s", resp.StatusCode, body)
	}
	if len(rem.acts) != 0 {
		t.Fatalf("an approval over the limit reached the workflow: %+v", rem.acts)
	}
	admin := c.client()
	c.login(admin, "ada", testPassword)
	if resp, _ := c.do(admin, http.MethodPost, "/console/incidents/inc-big/approve", url.Values{}); resp.StatusCode != http.StatusSeeOther ||
		len(rem.acts) != 1 || rem.acts[0].By.Name != "console:ada" {
		t.Fatalf("an admin approving 200.00 EUR: %d, actions %+v, want the approval sent", resp.StatusCode, rem.acts)
	}
}

type memOrders map[string][]string

func (m memOrders) OrdersOf(_ context.Context, who recovery.CustomerRef, _ int) ([]string, error) {
	return m[who.Email+who.Phone+who.ID], nil
}

// TestSearchPagesAndExports finds incidents by order, by customer (a
// normalised email address), by kind and by dates; pages 150 results by
// 100; and exports CSV in which a cell a spreadsheet would run as a
// formula is defused.
func TestSearchPagesAndExports(t *testing.T) {
	c := newConsole(t, true)
	day := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	var list memList
	for i := range 150 {
		list = append(list, recovery.Incident{ID: fmt.Sprintf("inc-%03d", i), OrderID: fmt.Sprintf("o-%03d", i), Kind: recovery.KindLate,
			Status: recovery.IncidentResolved, DetectedAt: day.Add(-time.Duration(i) * time.Hour)})
	}
	list = append(list, recovery.Incident{ID: "inc-ada", OrderID: "=HYPERLINK(\"x\")", Kind: recovery.KindLost,
		Status: recovery.IncidentOpen, DetectedAt: day.Add(time.Hour),
		Offer: &recovery.Offer{Remedy: recovery.RemedyReship, ValueMinor: 8999, Currency: "EUR", Status: recovery.OfferPending}})
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{"vic": {Name: "vic", PasswordHash: hash, Role: "viewer"}}}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: list, Remedies: &memRemedies{},
		Orders: memOrders{"ada@example.com": {"=HYPERLINK(\"x\")"}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	hc := c.client()
	c.login(hc, "vic", testPassword)

	if _, b := c.do(hc, http.MethodGet, "/console/search?customer=ADA@example.com", nil); !strings.Contains(b, "inc-ada") || strings.Contains(b, "inc-000") {
		t.Errorf("by customer: want inc-ada only")
	}
	if _, b := c.do(hc, http.MethodGet, "/console/search?order=o-007", nil); !strings.Contains(b, "inc-007") || !strings.Contains(b, "1 incident(s) found") {
		t.Errorf("by order: want inc-007 only")
	}
	if _, b := c.do(hc, http.MethodGet, "/console/search?kind=lost", nil); !strings.Contains(b, "inc-ada") || strings.Contains(b, "inc-001") {
		t.Errorf("by kind")
	}
	if _, b := c.do(hc, http.MethodGet, "/console/search?kind=late&from=2026-11-20&to=2026-11-20", nil); !strings.Contains(b, "11 incident(s) found") {
		t.Errorf("by dates: want the 11 of 2026-11-20 (00:00 to 10:00)")
	}
	_, first := c.do(hc, http.MethodGet, "/console/search?kind=late", nil)
	if !strings.Contains(first, "150 incident(s) found") || strings.Count(first, `href="/console/incidents/`) != 100 || !strings.Contains(first, "page=2") {
		t.Fatalf("page 1 of 150: %d rows", strings.Count(first, `href="/console/incidents/`))
	}
	if _, second := c.do(hc, http.MethodGet, "/console/search?kind=late&page=2", nil); strings.Count(second, `href="/console/incidents/`) != 50 {
		t.Errorf("page 2: %d rows, want 50", strings.Count(second, `href="/console/incidents/`))
	}
	if resp, _ := c.do(hc, http.MethodGet, "/console/search?from=yesterday", nil); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("a bad date: %d", resp.StatusCode)
	}
	resp, csvBody := c.do(hc, http.MethodGet, "/console/search?kind=lost&format=csv", nil)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("export headers: %v", resp.Header)
	}
	lines := strings.Split(strings.TrimSpace(csvBody), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "id,order_id,") || !strings.Contains(lines[1], `"'=HYPERLINK(""x"")"`) ||
		!strings.Contains(lines[1], "89.99") {
		t.Fatalf("export:\n%s", csvBody)
	}
}

type memRequests struct {
	mu      sync.Mutex
	handled map[string]string
}

func (m *memRequests) MarkPersonRequestHandled(_ context.Context, id string, step int, by, note string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := fmt.Sprintf("%s/%d", id, step)
	if _, done := m.handled[k]; done {
		return recovery.ErrNotFound
	}
	m.handled[k] = by + ": " + note
	return nil
}

// TestPersonRequestIsHandledWithANote: the incident page offers to mark
// the customer's request for a person handled; a note is required; it is
// recorded as the session's account; a viewer may not; twice is refused.
func TestPersonRequestIsHandledWithANote(t *testing.T) {
	c := newConsole(t, true)
	list := memList{{ID: "inc-asked", OrderID: "o4", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen, WorkflowID: "w4",
		Contacts: []recovery.Contact{{Step: 2, Channel: "sms", Status: "sent", Detail: recovery.DetailPersonRequested}}}}
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{
		"mara": {Name: "mara", PasswordHash: hash, Role: "approver", Limits: map[string]int64{"default": 0}},
		"vic":  {Name: "vic", PasswordHash: hash, Role: "viewer"}}}
	req := &memRequests{handled: map[string]string{}}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: list, Remedies: &memRemedies{}, Requests: req,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	viewer := c.client()
	c.login(viewer, "vic", testPassword)
	if resp, _ := c.do(viewer, http.MethodPost, "/console/incidents/inc-asked/handled", url.Values{"step": {"2"}, "note": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a viewer: %d", resp.StatusCode)
	}
	hc := c.client()
	c.login(hc, "mara", testPassword)
	if _, b := c.do(hc, http.MethodGet, "/console/incidents/inc-asked", nil); !strings.Contains(b, `action="/console/incidents/inc-asked/handled"`) {
		t.Fatalf("no form to mark the request handled:\n%s", b)
	}
	if resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-asked/handled", url.Values{"step": {"2"}, "note": {"  "}}); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("without a note: %d", resp.StatusCode)
	}
	if resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-asked/handled", url.Values{"step": {"2"}, "note": {"called back"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark handled: %d", resp.StatusCode)
	}
	if got := req.handled["inc-asked/2"]; got != "console:mara: called back" {
		t.Fatalf("recorded %q", got)
	}
	if resp, _ := c.do(hc, http.MethodPost, "/console/incidents/inc-asked/handled", url.Values{"step": {"2"}, "note": {"again"}}); resp.StatusCode != http.StatusConflict {
		t.Fatalf("twice: %d", resp.StatusCode)
	}
	// A handled request leaves the tab.
	handledAt := time.Now()
	list[0].Contacts[0].HandledAt = &handledAt
	if _, b := c.do(hc, http.MethodGet, "/console/?tab=person", nil); strings.Contains(b, "inc-asked") {
		t.Fatal("a handled request is still in the tab")
	}
}

// TestPolicyPageChecksAndReplays shows the active policy; a pasted policy
// with mistakes gets each one with its line and column; a sound one is
// replayed over past incidents next to what was offered.
func TestPolicyPageChecksAndReplays(t *testing.T) {
	c := newConsole(t, true)
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{"vic": {Name: "vic", PasswordHash: hash, Role: "viewer"}}}
	at := time.Now().Add(-48 * time.Hour)
	order := recovery.OrderData{OrderID: "o-1", Currency: "EUR", TotalMinor: 10000}
	past := []policy.Past{{Incident: recovery.Incident{ID: "inc-old", OrderID: "o-1", Kind: recovery.KindLate, DetectedAt: at},
		Offered: &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1000, Currency: "EUR", Status: recovery.OfferApplied},
		Order:   &order}}
	var since time.Time
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: memList{}, Remedies: &memRemedies{},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true,
		Policies: Policies{Active: policy.Default(), Source: string(policy.DefaultText()),
			Past: func(_ context.Context, from time.Time, _ int) ([]policy.Past, error) { since = from; return past, nil }}}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	hc := c.client()
	c.login(hc, "vic", testPassword)
	_, page := c.do(hc, http.MethodGet, "/console/policy", nil)
	if !strings.Contains(page, policy.Default().Version) || !strings.Contains(page, "repeat claimant") {
		t.Fatalf("the policy page lacks the active version and rules:\n%.500s", page)
	}
	bad := "version: \"x\"\nrules:\n  - name: broken\n    when: incident.kind ==\n    remedies:\n      - type: discount\n        percent: 10\n"
	_, b := c.do(hc, http.MethodPost, "/console/policy/check", url.Values{"policy": {bad}, "days": {"7"}})
	if !strings.Contains(b, "pasted policy:4:") {
		t.Fatalf("the problem's line is not named:\n%s", b)
	}
	good := "version: \"generous\"\nrules:\n  - name: everything\n    when: \"true\"\n    remedies:\n      - type: discount\n        percent: 20\n"
	_, b = c.do(hc, http.MethodPost, "/console/policy/check", url.Values{"policy": {good}, "days": {"7"}})
	for _, want := range []string{"inc-old", "discount 10.00 EUR", "discount 20.00 EUR", "EUR: offered 10.00 EUR, would offer 20.00 EUR", "changed"} {
		if !strings.Contains(b, want) {
			t.Errorf("the replay lacks %q", want)
		}
	}
	if d := time.Since(since); d < 7*24*time.Hour-time.Minute || d > 7*24*time.Hour+time.Minute {
		t.Errorf("replayed from %s ago, want 7 days", d)
	}
}

type memQueue struct {
	dead     []recovery.DeadEvent
	requeued int
}

func (m *memQueue) DeadEvents(context.Context, int64, int) ([]recovery.DeadEvent, error) {
	return m.dead, nil
}
func (m *memQueue) Requeue(_ context.Context, seqs []int64) (int64, error) {
	m.requeued++
	return int64(len(m.dead)), nil
}

// TestQuarantinedEventsNeedAttention: the relay's quarantined events show
// under Needs attention with why; an approver puts them back, a viewer
// may not.
func TestQuarantinedEventsNeedAttention(t *testing.T) {
	c := newConsole(t, true)
	q := &memQueue{dead: []recovery.DeadEvent{{Seq: 41, Source: "shop-eu", Type: "order.created", OrderID: "o-9",
		ErrorKind: "invalid-argument", Note: "Temporal refused the signal's arguments"}}}
	hash, _ := HashPassword(testPassword, DefaultParams)
	acc := &memAccounts{users: map[string]store.ConsoleUser{
		"mara": {Name: "mara", PasswordHash: hash, Role: "admin"}, "vic": {Name: "vic", PasswordHash: hash, Role: "viewer"}}}
	s := &Server{Accounts: acc, Sessions: memstore.New(), Incidents: memList{}, Remedies: &memRemedies{}, Events: q,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Insecure: true}
	c.srv = httptest.NewServer(s.Handler())
	defer c.srv.Close()
	viewer := c.client()
	c.login(viewer, "vic", testPassword)
	_, b := c.do(viewer, http.MethodGet, "/console/?tab=attention", nil)
	if !strings.Contains(b, "invalid-argument: Temporal refused") || strings.Contains(b, "/console/events/requeue") {
		t.Fatalf("the viewer's attention tab:\n%s", b)
	}
	if resp, _ := c.do(viewer, http.MethodPost, "/console/events/requeue", nil); resp.StatusCode != http.StatusForbidden || q.requeued != 0 {
		t.Fatalf("a viewer requeues: %d", resp.StatusCode)
	}
	hc := c.client()
	c.login(hc, "mara", testPassword)
	if resp, b := c.do(hc, http.MethodPost, "/console/events/requeue", nil); resp.StatusCode != 200 || q.requeued != 1 || !strings.Contains(b, "1 event(s) are back") {
		t.Fatalf("requeue: %d %d", resp.StatusCode, q.requeued)
	}
}

package console

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/auth/oidctest"
)

func TestParseRoles(t *testing.T) {
	got, err := ParseRoles("ops-admins=admin; ops-leads=approver:500:EUR,400:GBP ;ops=viewer;")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[1].Role != "approver" || got[1].Limits["EUR"] != 500 || got[1].Limits["GBP"] != 400 ||
		got[1].Limits["default"] != 0 || got[0].Limits != nil || got[2].Group != "ops" {
		t.Fatalf("ParseRoles: %+v", got)
	}
	for _, bad := range []string{"", "ops", "=admin", "ops=boss", "ops=approver", "ops=viewer:10:EUR", "ops=approver:ten:EUR",
		"ops=approver:10:EURO", "ops=approver:-2:EUR"} {
		if _, err := ParseRoles(bad); err == nil {
			t.Errorf("ParseRoles(%q) took it", bad)
		}
	}
}

func TestRoleForGroups(t *testing.T) {
	m, err := ParseRoles("ops=viewer;eu=approver:100:EUR;uk=approver:50:GBP,20:default;big=approver:-1:EUR;admins=admin")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		groups []string
		role   string
		limits map[string]int64
	}{
		{[]string{"ops"}, "viewer", nil},
		{[]string{"ops", "eu"}, "approver", map[string]int64{"EUR": 100, "default": 0}},
		{[]string{"eu", "uk"}, "approver", map[string]int64{"EUR": 100, "GBP": 50, "default": 20}},
		{[]string{"eu", "big"}, "approver", map[string]int64{"EUR": -1, "default": 0}},
		{[]string{"eu", "admins"}, "admin", nil},
		{[]string{"strangers"}, "", nil},
	} {
		role, limits, ok := roleFor(m, c.groups)
		if role != c.role || ok != (c.role != "") || len(limits) != len(c.limits) {
			t.Errorf("groups %v: %q %v, want %q %v", c.groups, role, limits, c.role, c.limits)
			continue
		}
		for k, v := range c.limits {
			if limits[k] != v {
				t.Errorf("groups %v: limit %s is %d, want %d", c.groups, k, limits[k], v)
			}
		}
	}
}

// oidcConsole is the console with a test identity provider whose page
// sends the browser back at once.
func oidcConsole(t *testing.T) (*consoleTest, *oidctest.Provider) {
	t.Helper()
	p := oidctest.New(t, "recovery-console", "console-secret")
	p.AutoApprove(true)
	c := newConsole(t, true, func(s *Server, base string) {
		roles, err := ParseRoles("ops-leads=approver:250:EUR;ops=viewer")
		if err != nil {
			t.Fatal(err)
		}
		s.OIDC = &OIDC{Issuer: p.URL, ClientID: "recovery-console", ClientSecret: "console-secret",
			RedirectURL: base + "/console/oidc/callback", Roles: roles, Label: "Test IdP"}
	})
	return c, p
}

// follow follows a browser's redirects (the provider is another origin)
// and returns the last answer and where it came from.
func (c *consoleTest) follow(hc *http.Client, path string) (*http.Response, string, string) {
	c.t.Helper()
	next := c.srv.URL + path
	for range 10 {
		resp, err := hc.Get(next)
		if err != nil {
			c.t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 3 {
			return resp, string(b), next
		}
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			c.t.Fatal(err)
		}
		next = loc.String()
	}
	c.t.Fatal("more than 10 redirects")
	return nil, "", ""
}

// TestSignInThroughTheIdentityProvider: the console sends the browser to
// the provider with a PKCE challenge, state and nonce; back with a code,
// it exchanges it with the verifier and makes the person an account whose
// role and limits come from their groups; the login is audited. Signing
// in again takes the provider's groups as they are now.
func TestSignInThroughTheIdentityProvider(t *testing.T) {
	c, p := oidcConsole(t)
	hc := c.client()
	if _, body := c.do(hc, http.MethodGet, "/console/login", nil); !strings.Contains(body, `href="/console/oidc/start"`) ||
		!strings.Contains(body, "Sign in with Test IdP") {
		t.Fatalf("the login page offers no single sign-on:\n%s", body)
	}
	p.SignInAs("00u-ada", map[string]any{"preferred_username": "Ada", "email": "ada@shop.example", "email_verified": true,
		"groups": []string{"everyone", "ops-leads"}})
	resp, body, at := c.follow(hc, "/console/oidc/start")
	if resp.StatusCode != http.StatusOK || at != c.srv.URL+"/console/" || !strings.Contains(body, "inc-1") {
		t.Fatalf("after the provider: %d at %s\n%s", resp.StatusCode, at, body)
	}
	if ex, bad := p.Counts(); ex != 1 || bad != 0 {
		t.Fatalf("the provider exchanged %d code(s), %d with a wrong PKCE verifier; want 1 and 0", ex, bad)
	}
	u, err := c.accounts.ConsoleUser(t.Context(), "ada")
	if err != nil {
		t.Fatal(err)
	}
	if u.Role != "approver" || u.Limits["EUR"] != 250 || u.Email != "ada@shop.example" || u.Source != "oidc" ||
		u.Subject != p.URL+" 00u-ada" || u.PasswordHash != "" {
		t.Fatalf("the account: %+v", u)
	}
	if n := len(c.accounts.logins); n != 1 || !c.accounts.logins[0].ok || c.accounts.logins[0].name != "ada" {
		t.Fatalf("login audit %+v, want ada's success", c.accounts.logins)
	}
	// Her groups change at the provider: the next sign-in follows them.
	p.SignInAs("00u-ada", map[string]any{"preferred_username": "ada", "groups": []string{"ops"}})
	hc2 := c.client()
	if resp, _, at := c.follow(hc2, "/console/oidc/start"); resp.StatusCode != http.StatusOK || at != c.srv.URL+"/console/" {
		t.Fatalf("second sign-in: %d at %s", resp.StatusCode, at)
	}
	if u, _ := c.accounts.ConsoleUser(t.Context(), "ada"); u.Role != "viewer" || u.Limits != nil {
		t.Fatalf("after her groups changed: %+v, want a viewer without limits", u)
	}
	// Her password, empty, is no way in.
	if resp := c.login(c.client(), "ada", ""); resp.StatusCode == http.StatusSeeOther {
		t.Fatal("an OIDC account signed in with an empty password")
	}
}

// TestSignInThroughTheIdentityProviderRefused: someone in no mapped
// group, a name a local account has, another subject with the same name,
// a disabled account, a callback this browser did not start, and a
// provider's error are all refused, audited, and leave no session.
func TestSignInThroughTheIdentityProviderRefused(t *testing.T) {
	c, p := oidcConsole(t)
	refused := func(what string, wantStatus int, wantText string) {
		t.Helper()
		hc := c.client()
		resp, body, _ := c.follow(hc, "/console/oidc/start")
		if resp.StatusCode != wantStatus || !strings.Contains(body, wantText) {
			t.Errorf("%s: %d, want %d with %q\n%s", what, resp.StatusCode, wantStatus, wantText, body)
		}
		if resp, _ := c.do(hc, http.MethodGet, "/console/", nil); wantStatus != http.StatusOK && resp.StatusCode != http.StatusSeeOther {
			t.Errorf("%s: the queue answered %d, want the login page", what, resp.StatusCode)
		}
	}
	p.SignInAs("00u-eve", map[string]any{"preferred_username": "eve", "groups": []string{"contractors"}})
	refused("no mapped group", http.StatusForbidden, "none of the groups")
	p.SignInAs("00u-m", map[string]any{"preferred_username": "mara", "groups": []string{"ops-leads"}})
	refused("a local account's name", http.StatusForbidden, "already has your name")
	p.SignInAs("00u-bo", map[string]any{"preferred_username": "bo", "groups": []string{"ops"}})
	refused("bo, first (let in)", http.StatusOK, "inc-1")
	p.SignInAs("00u-other-bo", map[string]any{"preferred_username": "bo", "groups": []string{"ops"}})
	refused("another subject named bo", http.StatusForbidden, "already has your name")
	now := time.Now()
	c.accounts.mu.Lock()
	u := c.accounts.users["bo"]
	u.DisabledAt = &now
	c.accounts.users["bo"] = u
	c.accounts.mu.Unlock()
	p.SignInAs("00u-bo", map[string]any{"preferred_username": "bo", "groups": []string{"ops"}})
	refused("bo, disabled", http.StatusForbidden, "disabled")

	// An ID token of another sign-in (its nonce), or for another client.
	p.SignInAs("00u-cy", map[string]any{"preferred_username": "cy", "groups": []string{"ops"}})
	p.Tamper(func(c map[string]any) { c["nonce"] = "someone-elses" })
	refused("another sign-in's token", http.StatusUnauthorized, "not started here")
	p.Tamper(func(c map[string]any) { c["aud"] = "another-client" })
	refused("another client's token", http.StatusUnauthorized, "could not be verified")
	p.Tamper(nil)

	// A callback with a code but no sign-in started in this browser.
	hc := c.client()
	resp, body := c.do(hc, http.MethodGet, "/console/oidc/callback?"+url.Values{"code": {"x"}, "state": {"forged"}}.Encode(), nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not started here") {
		t.Errorf("a forged callback: %d\n%s", resp.StatusCode, body)
	}
	resp, body = c.do(hc, http.MethodGet, "/console/oidc/callback?error=access_denied", nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "access_denied") {
		t.Errorf("the provider's error: %d\n%s", resp.StatusCode, body)
	}
	var fails []string
	for _, l := range c.accounts.logins {
		if !l.ok {
			fails = append(fails, l.name)
		}
	}
	if strings.Join(fails, " ") != "eve mara bo bo" {
		t.Errorf("failed logins audited: %v, want eve mara bo bo", fails)
	}
	if ex, bad := p.Counts(); bad != 0 || ex != 7 {
		t.Errorf("exchanges %d (bad verifiers %d), want 7 and 0", ex, bad)
	}
}

// TestPasswordsOff: with only the identity provider, the page has no
// password form and a posted password is refused.
func TestPasswordsOff(t *testing.T) {
	c := newConsole(t, true, func(s *Server, base string) {
		s.OIDC, s.NoPasswords = &OIDC{Issuer: "http://127.0.0.1:1", ClientID: "x", RedirectURL: base + "/console/oidc/callback",
			Roles: []RoleMapping{{Group: "ops", Role: "viewer"}}}, true
	})
	hc := c.client()
	if _, body := c.do(hc, http.MethodGet, "/console/login", nil); strings.Contains(body, `type="password"`) || !strings.Contains(body, "oidc/start") {
		t.Fatalf("login page with passwords off:\n%s", body)
	}
	if resp := c.login(hc, "mara", testPassword); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("a password with passwords off: %d", resp.StatusCode)
	}
	// The provider is away: the page says so instead of failing blankly.
	if resp, body := c.do(hc, http.MethodGet, "/console/oidc/start", nil); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(body, "cannot be reached") {
		t.Fatalf("start with the provider away: %d\n%s", resp.StatusCode, body)
	}
}

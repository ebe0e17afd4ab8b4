package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// OIDC signs people in through an OpenID Connect provider (the
// authorization code flow with PKCE, a state and a nonce). The provider
// says who someone is and which groups they are in; Roles says what each
// group may do in the console. Someone in none of the groups is refused.
type OIDC struct {
	// Issuer is the provider's issuer URL (its discovery document is at
	// Issuer/.well-known/openid-configuration).
	Issuer string
	// ClientID and ClientSecret are the console's client at the provider
	// (no secret: a public client, PKCE alone).
	ClientID, ClientSecret string
	// RedirectURL is the console's callback as the provider knows it:
	// https://HOST/console/oidc/callback.
	RedirectURL string
	// GroupsClaim names the ID token's claim that lists the person's
	// groups ("": groups). A dotted name reaches into an object, as in
	// realm_access.roles.
	GroupsClaim string
	// Roles maps groups to roles and limits.
	Roles []RoleMapping
	// Label names the provider on the sign-in page ("": single sign-on).
	Label string
	// Client fetches the discovery document, keys and tokens (nil: one
	// with a 10 s timeout).
	Client *http.Client

	mu       sync.Mutex
	provider *oidc.Provider
	failedAt time.Time
}

// RoleMapping gives the members of a group a role, and an approver
// limits per currency (whole units; "default" for the others; -1 for
// none), as `recovery users add --limit` does.
type RoleMapping struct {
	Group, Role string
	Limits      map[string]int64
}

// ParseRoles reads a mapping of groups to roles:
//
//	ops-admins=admin;ops-leads=approver:500:EUR,400:GBP,0:default;ops=viewer
//
// An approver without a default limit gets 0 for the currencies not
// named.
func ParseRoles(s string) ([]RoleMapping, error) {
	var out []RoleMapping
	for i, part := range strings.Split(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		group, spec, ok := strings.Cut(part, "=")
		group = strings.TrimSpace(group)
		if !ok || group == "" {
			return nil, fmt.Errorf("entry %d: want GROUP=ROLE, such as ops-leads=approver:100:EUR", i+1)
		}
		role, limits, _ := strings.Cut(strings.TrimSpace(spec), ":")
		m := RoleMapping{Group: group, Role: role}
		switch {
		case !slices.Contains(Roles, role):
			return nil, fmt.Errorf("entry %d (%s): the role is %q; want one of %s", i+1, group, role, strings.Join(Roles, ", "))
		case role != "approver" && limits != "":
			return nil, fmt.Errorf("entry %d (%s): only approvers have limits", i+1, group)
		case role == "approver" && limits == "":
			return nil, fmt.Errorf("entry %d (%s): an approver needs limits, such as approver:100:EUR,0:default", i+1, group)
		case role == "approver":
			m.Limits = map[string]int64{"default": 0}
			for _, l := range strings.Split(limits, ",") {
				cur, n, err := ParseLimit(strings.TrimSpace(l))
				if err != nil {
					return nil, fmt.Errorf("entry %d (%s): %w", i+1, group, err)
				}
				m.Limits[cur] = n
			}
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		return nil, errors.New("no group is mapped to a role: nobody could sign in")
	}
	return out, nil
}

// ParseLimit reads an approver's limit, AMOUNT:CURRENCY in whole units
// (100:EUR; 0:default for the currencies not named; -1 for no limit).
func ParseLimit(v string) (currency string, amount int64, err error) {
	a, cur, ok := strings.Cut(v, ":")
	n, err := strconv.ParseInt(a, 10, 64)
	switch {
	case !ok || err != nil || n < -1:
		return "", 0, fmt.Errorf("%q: want AMOUNT:CURRENCY in whole units, such as 100:EUR, 0:default, or -1 for no limit", v)
	case cur != "default" && !recovery.ValidCurrency(cur):
		return "", 0, fmt.Errorf("%q: %s is not an ISO 4217 currency code (or default)", v, cur)
	}
	return cur, n, nil
}

// Roles are the console's roles, least first: viewers read, approvers
// act within their limits, admins act without limits.
var Roles = []string{"viewer", "approver", "admin"}

// roleFor is the role and limits of someone in groups: the highest role
// any of their groups gives, and for an approver the highest limit per
// currency among their approver groups. ok is false when no group is
// mapped.
func roleFor(mappings []RoleMapping, groups []string) (role string, limits map[string]int64, ok bool) {
	rank := -1
	for _, m := range mappings {
		if !slices.Contains(groups, m.Group) {
			continue
		}
		if r := slices.Index(Roles, m.Role); r > rank {
			rank = r
		}
		for cur, n := range m.Limits {
			if limits == nil {
				limits = map[string]int64{}
			}
			if old, seen := limits[cur]; !seen || old != -1 && (n == -1 || n > old) {
				limits[cur] = n
			}
		}
	}
	if rank < 0 {
		return "", nil, false
	}
	if Roles[rank] != "approver" {
		limits = nil
	}
	return Roles[rank], limits, true
}

// retryDiscovery is how long a failed discovery is not tried again.
const retryDiscovery = 5 * time.Second

func (o *OIDC) client() *http.Client {
	if o.Client != nil {
		return o.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

// config discovers the provider (once; again after a failure, at most
// every retryDiscovery, so that the console starts while the provider is
// away) and returns the client's configuration and the ID token verifier.
func (o *OIDC) config(ctx context.Context) (*oauth2.Config, *oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider == nil {
		if !o.failedAt.IsZero() && time.Since(o.failedAt) < retryDiscovery {
			return nil, nil, errors.New("discovery failed a moment ago")
		}
		dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		p, err := oidc.NewProvider(oidc.ClientContext(dctx, o.client()), o.Issuer)
		if err != nil {
			o.failedAt = time.Now()
			return nil, nil, err
		}
		o.provider = p
	}
	c := &oauth2.Config{ClientID: o.ClientID, ClientSecret: o.ClientSecret, RedirectURL: o.RedirectURL,
		Endpoint: o.provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "profile", "email", "groups"}}
	return c, o.provider.Verifier(&oidc.Config{ClientID: o.ClientID}), nil
}

// The session keys of a sign-in under way.
const (
	sessionState    = "oidc_state"
	sessionNonce    = "oidc_nonce"
	sessionVerifier = "oidc_verifier"
)

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails
	return base64.RawURLEncoding.EncodeToString(b)
}

// oidcStart sends the browser to the provider, with a state and a nonce
// kept in the session and a PKCE challenge whose verifier stays here.
func (s *Server) oidcStart(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	c, _, err := s.OIDC.config(ctx)
	if err != nil {
		s.Logger.Error("console oidc discovery", "issuer", s.OIDC.Issuer, "err", err)
		s.render(w, http.StatusServiceUnavailable, "login", s.loginView("The identity provider cannot be reached; try again in a moment."))
		return
	}
	state, nonce, verifier := randomToken(), randomToken(), oauth2.GenerateVerifier()
	s.sm.Put(ctx, sessionState, state)
	s.sm.Put(ctx, sessionNonce, nonce)
	s.sm.Put(ctx, sessionVerifier, verifier)
	http.Redirect(w, r, c.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), http.StatusSeeOther)
}

// oidcCallback finishes a sign-in: the state must be this browser's, the
// code is exchanged with the PKCE verifier, the ID token must be the
// provider's, for this client, with this sign-in's nonce; the person's
// groups give the role. Every outcome is audited.
func (s *Server) oidcCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	remote, _, _ := net.SplitHostPort(r.RemoteAddr)
	q := r.URL.Query()
	state, nonce, verifier := s.sm.PopString(ctx, sessionState), s.sm.PopString(ctx, sessionNonce), s.sm.PopString(ctx, sessionVerifier)
	fail := func(status int, name, msg string, args ...any) {
		if name != "" {
			_ = s.Accounts.RecordLogin(ctx, name, remote, false)
		}
		s.Logger.Info("console oidc login failed", append([]any{"name", name, "remote", remote}, args...)...)
		s.render(w, status, "login", s.loginView(msg))
	}
	switch {
	case q.Get("error") != "":
		fail(http.StatusUnauthorized, "", "The identity provider did not sign you in ("+clip(q.Get("error"), 60)+").", "error", clip(q.Get("error"), 60))
		return
	case state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(q.Get("state"))) != 1:
		fail(http.StatusBadRequest, "", "This sign-in was not started here, or has expired: start again.", "reason", "state")
		return
	}
	c, v, err := s.OIDC.config(ctx)
	if err != nil {
		fail(http.StatusServiceUnavailable, "", "The identity provider cannot be reached; try again in a moment.", "err", err)
		return
	}
	octx := oidc.ClientContext(ctx, s.OIDC.client())
	tok, err := c.Exchange(octx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		fail(http.StatusUnauthorized, "", "The identity provider did not confirm this sign-in: start again.", "reason", "exchange", "err", err)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := v.Verify(octx, raw)
	if err != nil {
		fail(http.StatusUnauthorized, "", "The identity provider's answer could not be verified: start again.", "reason", "id token", "err", err)
		return
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(nonce)) != 1 {
		fail(http.StatusUnauthorized, "", "This sign-in was not started here: start again.", "reason", "nonce")
		return
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		fail(http.StatusUnauthorized, "", "The identity provider's answer could not be read: start again.", "err", err)
		return
	}
	u := store.ConsoleUser{Name: accountName(claims, idt.Subject), Subject: idt.Issuer + " " + idt.Subject}
	if verified, ok := claims["email_verified"].(bool); !ok || verified {
		u.Email, _ = claims["email"].(string)
	}
	role, limits, ok := roleFor(s.OIDC.Roles, groupsOf(claims, s.OIDC.GroupsClaim))
	if !ok {
		fail(http.StatusForbidden, u.Name, "Your account is in none of the groups that may use the console; ask an admin.", "reason", "no group")
		return
	}
	u.Role, u.Limits = role, limits
	u, err = s.Accounts.PutOIDCUser(ctx, u)
	switch {
	case errors.Is(err, store.ErrAccountTaken):
		fail(http.StatusForbidden, u.Name, "A different account already has your name in the console; ask an admin.", "reason", "name taken")
		return
	case err != nil:
		s.Logger.Error("console oidc login", "err", err)
		s.render(w, http.StatusServiceUnavailable, "login", s.loginView("Signing in is not possible right now; try again."))
		return
	case u.DisabledAt != nil:
		fail(http.StatusForbidden, u.Name, "This account is disabled; ask an admin.", "reason", "disabled")
		return
	}
	if err := s.sm.RenewToken(ctx); err != nil {
		s.Logger.Error("console oidc login", "err", err)
		s.render(w, http.StatusServiceUnavailable, "login", s.loginView("Signing in is not possible right now; try again."))
		return
	}
	_ = s.Accounts.RecordLogin(ctx, u.Name, remote, true)
	s.sm.Put(ctx, sessionUser, u.Name)
	s.Logger.Info("console login", "name", u.Name, "remote", remote, "via", "oidc")
	http.Redirect(w, r, "/console/", http.StatusSeeOther)
}

// accountName is the console's name for someone the provider signed in:
// their preferred user name, else their email address, else the subject,
// when it fits a console name (64 characters of letters, digits and
// . _ - @).
func accountName(claims map[string]any, subject string) string {
	for _, key := range []string{"preferred_username", "email"} {
		if v, _ := claims[key].(string); v != "" && ValidName(v) {
			return strings.ToLower(v)
		}
	}
	if ValidName(subject) {
		return subject
	}
	sum := sha256.Sum256([]byte(subject))
	return "oidc-" + hex.EncodeToString(sum[:8])
}

// ValidName reports whether s fits a console account's name: 1 to 64
// letters, digits and . _ - @.
func ValidName(s string) bool {
	return s != "" && len(s) <= 64 && NameChars(s)
}

// NameChars reports whether s holds only letters, digits and . _ - @.
func NameChars(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("._-@", r)) {
			return false
		}
	}
	return true
}

// groupsOf reads the groups claim: a list of strings, or one string; a
// dotted name reaches into objects (realm_access.roles).
func groupsOf(claims map[string]any, name string) []string {
	if name == "" {
		name = "groups"
	}
	var v any = claims
	for _, part := range strings.Split(name, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	switch g := v.(type) {
	case string:
		return []string{g}
	case []any:
		var out []string
		for _, x := range g {
			if s, ok := x.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

// clip shortens what a provider says before it is shown or logged.
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

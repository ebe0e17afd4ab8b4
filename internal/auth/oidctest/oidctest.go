// Package oidctest is an OpenID Connect provider on loopback for tests:
// discovery, a JWKS with one RSA key, the authorization code flow with
// PKCE (S256 only), and ID tokens for the person who signs in. Its
// authorize endpoint shows a page with one button, as a real provider's
// consent page does, unless AutoApprove is set.
package oidctest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Provider is the test identity provider.
type Provider struct {
	// URL is the issuer.
	URL string
	// ClientID and ClientSecret are the one client it knows.
	ClientID, ClientSecret string
	// Key signs its tokens; KeyID names it in the JWKS.
	Key   *rsa.PrivateKey
	KeyID string

	srv *httptest.Server

	mu sync.Mutex
	// claims are the next sign-in's person (beyond iss, aud, sub, exp,
	// iat and nonce).
	subject     string
	claims      map[string]any
	autoApprove bool
	tamper      func(map[string]any)
	codes       map[string]grant
	// Exchanges counts the codes exchanged; BadVerifiers the exchanges
	// refused for a PKCE verifier that did not match.
	exchanges, badVerifiers int
}

type grant struct {
	challenge, nonce, redirect string
	subject                    string
	claims                     map[string]any
}

// New starts a provider for one client; it stops at the test's end.
func New(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, Key: key, KeyID: "test-key-1", codes: map[string]grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /keys", p.keys)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
	p.srv = httptest.NewServer(mux)
	p.URL = p.srv.URL
	t.Cleanup(p.srv.Close)
	return p
}

// SignInAs sets who the next sign-in is: a subject and the ID token's
// other claims (email, preferred_username, groups...).
func (p *Provider) SignInAs(subject string, claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subject, p.claims = subject, claims
}

// AutoApprove makes the authorize endpoint send the browser back at once
// instead of showing its page.
func (p *Provider) AutoApprove(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.autoApprove = on
}

// Tamper edits the claims of the ID tokens it issues from now on (nil:
// none), to play a provider that answers for another sign-in or client.
func (p *Provider) Tamper(edit func(claims map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = edit
}

// Counts are the codes exchanged, and the exchanges refused for a PKCE
// verifier that did not match the challenge.
func (p *Provider) Counts() (exchanges, badVerifiers int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.exchanges, p.badVerifiers
}

func (p *Provider) discovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer": p.URL, "jwks_uri": p.URL + "/keys",
		"authorization_endpoint": p.URL + "/authorize", "token_endpoint": p.URL + "/token",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}, "code_challenge_methods_supported": []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) keys(w http.ResponseWriter, _ *http.Request) {
	pub := p.Key.PublicKey
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": p.KeyID,
		"n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes()),
	}}})
}

var consent = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Test identity provider</title></head>
<body><main><h1>Test identity provider</h1>
<form method="post" action="{{.Action}}"><button type="submit" id="approve">Continue as {{.Subject}}</button></form>
</main></body></html>`))

// authorize checks the request as a strict provider does (the client,
// its redirect, a code request with an S256 challenge), then shows its
// page (GET) or sends the browser back with a code (POST, or GET with
// AutoApprove).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch {
	case q.Get("client_id") != p.ClientID:
		http.Error(w, "unknown client", http.StatusBadRequest)
		return
	case q.Get("response_type") != "code":
		http.Error(w, "only the code flow", http.StatusBadRequest)
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		http.Error(w, "PKCE with S256 is required", http.StatusBadRequest)
		return
	}
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if err != nil || redirect.Scheme == "" {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	subject, claims, auto := p.subject, p.claims, p.autoApprove
	p.mu.Unlock()
	if r.Method == http.MethodGet && !auto {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		consent.Execute(w, map[string]any{"Action": template.URL("/authorize?" + r.URL.RawQuery), "Subject": subject}) //nolint:errcheck
		return
	}
	code := randomString()
	p.mu.Lock()
	p.codes[code] = grant{challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"),
		subject: subject, claims: claims}
	p.mu.Unlock()
	back := redirect.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusSeeOther)
}

// token exchanges a code once, for its client, redirect and PKCE
// verifier, for an ID token.
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostFormValue("client_id"), r.PostFormValue("client_secret")
	}
	if id != p.ClientID || secret != p.ClientSecret {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_client"})
		return
	}
	p.mu.Lock()
	g, found := p.codes[r.PostFormValue("code")]
	delete(p.codes, r.PostFormValue("code"))
	sum := sha256.Sum256([]byte(r.PostFormValue("code_verifier")))
	goodVerifier := found && b64(sum[:]) == g.challenge
	if found {
		p.exchanges++
		if !goodVerifier {
			p.badVerifiers++
		}
	}
	p.mu.Unlock()
	switch {
	case r.PostFormValue("grant_type") != "authorization_code" || !found || r.PostFormValue("redirect_uri") != g.redirect:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant"})
		return
	case !goodVerifier:
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant", "error_description": "PKCE verifier mismatch"})
		return
	}
	now := time.Now()
	c := map[string]any{"iss": p.URL, "sub": g.subject, "aud": p.ClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	for k, v := range g.claims {
		c[k] = v
	}
	p.mu.Lock()
	if p.tamper != nil {
		p.tamper(c)
	}
	p.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"access_token": randomString(), "token_type": "Bearer", "expires_in": 300,
		"id_token": p.Sign(c, nil)})
}

// Sign makes an RS256 JWT of claims with key (nil: the provider's).
func (p *Provider) Sign(claims map[string]any, key *rsa.PrivateKey) string {
	if key == nil {
		key = p.Key
	}
	head, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": p.KeyID})
	body, _ := json.Marshal(claims)
	signing := b64(head) + "." + b64(body)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	if err != nil {
		panic(fmt.Sprintf("oidctest: sign: %v", err))
	}
	return signing + "." + b64(sig)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func randomString() string {
	b := make([]byte, 24)
	rand.Read(b) //nolint:errcheck
	return b64(b)
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// ErrIssuerUnavailable: the identity provider's discovery document or
// keys could not be fetched, so no token can be checked for now.
var ErrIssuerUnavailable = errors.New("the identity provider could not be reached")

// ErrTokenExpired: the token was valid once.
var ErrTokenExpired = errors.New("the access token has expired")

// ErrTokenRejected: the token is not one of the issuer's for the
// audience (signature, issuer or audience).
var ErrTokenRejected = errors.New("the access token is not one the identity provider issued for this audience")

// OIDC verifies OIDC access tokens (JWTs) such as the Temporal UI passes
// on to a codec server: signed with one of the issuer's keys (from its
// discovery document's jwks_uri, refreshed when an unknown key id shows
// up), issued by the issuer, for the audience, not expired. Discovery
// happens at the first token, and again after a failure, so that a
// server starts while its identity provider is away.
type OIDC struct {
	issuer, audience string
	client           *http.Client

	mu       sync.Mutex
	verifier *oidc.IDTokenVerifier
	failedAt time.Time
}

// retryDiscovery is how long a failed discovery is not tried again.
const retryDiscovery = 5 * time.Second

// NewOIDC returns a verifier for tokens of issuer for audience; client
// fetches the discovery document and the keys (nil: one with a 10 s
// timeout).
func NewOIDC(issuer, audience string, client *http.Client) (*OIDC, error) {
	if issuer == "" || audience == "" {
		return nil, errors.New("an OIDC issuer and an audience are both required")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	return &OIDC{issuer: strings.TrimSuffix(issuer, "/"), audience: audience, client: client}, nil
}

// Issuer is the issuer tokens must come from.
func (o *OIDC) Issuer() string { return o.issuer }

// Audience is the audience tokens must be for.
func (o *OIDC) Audience() string { return o.audience }

// LooksLikeJWT reports whether a bearer token has a JWT's three parts,
// so that an API key is never sent to be parsed as one.
func LooksLikeJWT(token string) bool {
	return strings.Count(token, ".") == 2 && !strings.ContainsAny(token, " \t")
}

// Verify checks a token. Its errors are ErrIssuerUnavailable,
// ErrTokenExpired or ErrTokenRejected, wrapping the verifier's reason
// (which names the token's issuer, audience or expiry, never the token).
func (o *OIDC) Verify(ctx context.Context, token string) error {
	v, err := o.load(ctx)
	if err != nil {
		return err
	}
	_, err = v.Verify(oidc.ClientContext(ctx, o.client), token)
	var expired *oidc.TokenExpiredError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &expired):
		return ErrTokenExpired
	case strings.Contains(err.Error(), "fetching keys"):
		return fmt.Errorf("%w: %w", ErrIssuerUnavailable, err)
	}
	return fmt.Errorf("%w: %w", ErrTokenRejected, err)
}

// load discovers the issuer once, and again after a failure (at most
// every retryDiscovery).
func (o *OIDC) load(ctx context.Context) (*oidc.IDTokenVerifier, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.verifier != nil {
		return o.verifier, nil
	}
	if !o.failedAt.IsZero() && time.Since(o.failedAt) < retryDiscovery {
		return nil, ErrIssuerUnavailable
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, o.client), o.issuer)
	if err != nil {
		o.failedAt = time.Now()
		return nil, fmt.Errorf("%w: discovery: %w", ErrIssuerUnavailable, err)
	}
	// The audience is checked as go-oidc checks a client id: it must be
	// among the token's audiences (SkipClientIDCheck stays off).
	o.verifier = p.Verifier(&oidc.Config{ClientID: o.audience})
	return o.verifier, nil
}

package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/tracing"
)

// Access says who may call a route: a credential with Right, or anyone
// (Public says why no key is asked for). Every route declares one.
type Access struct {
	Right auth.Right
	// Signed: a Standard Webhooks signature may stand in for the key
	// (POST /v1/events); the handler verifies it.
	Signed bool
	Public string
}

// Why routes are public.
const (
	PublicHealth    = "health checks"
	PublicSignature = "verified with the provider's own signature"
	PublicLink      = "customer pages behind signed links"
	PublicDev       = "dev pages (dev only, same-origin POSTs)"
	PublicDocs      = "the API's description"
	PublicNotFound  = "the not-found answer"
)

func (a Access) String() string {
	switch {
	case a.Public != "":
		return "public: " + a.Public
	case a.Signed:
		return string(a.Right) + " or signed"
	}
	return string(a.Right)
}

// Route is one registered route: its pattern and who may call it.
type Route struct {
	Pattern string
	Access  Access
}

// router registers routes on a mux, each with its access, and records
// them: the route matrix test enumerates what it recorded.
type router struct {
	s      *Server
	mux    *http.ServeMux
	routes []Route
}

func need(r auth.Right) Access { return Access{Right: r} }
func public(why string) Access { return Access{Public: why} }

// handle registers a route; a route without a declared access is a
// programming error and stops the server from being built. A dev page
// that takes anything but GET takes it from its own origin only.
func (rt *router) handle(pattern string, a Access, h http.HandlerFunc) {
	switch {
	case a.Public == "" && a.Right == "":
		panic("web: route " + pattern + " declares no access")
	case a.Public != "" && a.Right != "":
		panic("web: route " + pattern + " is both public and protected")
	}
	if method, _, _ := strings.Cut(pattern, " "); a.Public == PublicDev && method != http.MethodGet {
		h = rt.s.sameOrigin(h)
	}
	var handler http.Handler = h
	if a.Right != "" {
		handler = rt.s.require(a, h)
	}
	inner := handler
	handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sw, ok := w.(*statusWriter); ok {
			sw.route = pattern // for metrics: the pattern, never the path
		}
		tracing.Route(r, pattern)
		inner.ServeHTTP(w, r)
	})
	rt.mux.Handle(pattern, handler)
	rt.routes = append(rt.routes, Route{Pattern: pattern, Access: a})
}

type ctxKey int

const (
	credentialKey ctxKey = iota // the request's credential
	presentedKey                // whether the request carries an Authorization header
)

// identify finds the credential the request's bearer token belongs to and
// keeps it in the request's context for require, the rate limit and the
// handlers.
func identify(keys *auth.Set, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		if h == "" {
			next.ServeHTTP(w, r)
			return
		}
		ctx := context.WithValue(r.Context(), presentedKey, true)
		if token, ok := strings.CutPrefix(h, "Bearer "); ok {
			if c, ok := keys.Lookup(strings.TrimSpace(token)); ok {
				ctx = context.WithValue(ctx, credentialKey, c)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// credentialOf returns the request's credential, if it carries a valid one.
func credentialOf(r *http.Request) (auth.Credential, bool) {
	c, ok := r.Context().Value(credentialKey).(auth.Credential)
	return c, ok
}

// presented reports whether the request carries any Authorization header.
func presented(r *http.Request) bool {
	v, _ := r.Context().Value(presentedKey).(bool)
	return v
}

// require answers 401 to a request without a valid credential and 403 to
// one whose credential lacks the route's right. A Signed route lets a
// request without any Authorization header but with a webhook-signature
// through, for the handler to verify.
func (s *Server) require(a Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, ok := credentialOf(r)
		if !ok {
			if a.Signed && !presented(r) && r.Header.Get("webhook-signature") != "" {
				next.ServeHTTP(w, r)
				return
			}
			s.unauthorized(w)
			return
		}
		if !c.Has(a.Right) {
			writeProblem(w, http.StatusForbidden, "forbidden", "Forbidden",
				fmt.Sprintf("The credential %q does not have the %s right this needs (see docs/credentials.md).", c.Name, a.Right))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) unauthorized(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="recovery"`)
	writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized",
		"Send 'Authorization: Bearer <api key>'.")
}

// sameOrigin refuses a POST that a browser sent from another site: the
// dev pages act as the customer without any key, so only their own forms
// may post to them. Sec-Fetch-Site must say same-origin (or none: typed by
// the user), or else Origin must name this host; a request with neither
// is refused too.
func (s *Server) sameOrigin(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ok := false
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" {
			ok = site == "same-origin" || site == "none"
		} else if origin := r.Header.Get("Origin"); origin != "" {
			u, err := url.Parse(origin)
			ok = err == nil && (u.Scheme == "http" || u.Scheme == "https") && strings.EqualFold(u.Host, r.Host)
		}
		if !ok {
			writeProblem(w, http.StatusForbidden, "cross-origin", "Cross-origin request refused",
				"The dev pages take POSTs from their own forms only (a same-origin Origin or Sec-Fetch-Site header).")
			return
		}
		next(w, r)
	}
}

// secureHeaders adds Strict-Transport-Security to every answer when the
// engine's public URL is https.
func (s *Server) secureHeaders(next http.Handler) http.Handler {
	u, err := url.Parse(s.PublicURL)
	if err != nil || !strings.EqualFold(u.Scheme, "https") {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		next.ServeHTTP(w, r)
	})
}

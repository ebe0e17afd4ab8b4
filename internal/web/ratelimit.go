package web

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit bounds how many requests each caller may make per second
// (with bursts of Burst): a caller is its credential, else (a signed
// webhook, a customer page) its address. Zero: no limit.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// limiters hands out one token bucket per caller, forgetting them all when
// there are too many (a flood of addresses must not grow it without end).
type limiters struct {
	mu sync.Mutex
	m  map[string]*rate.Limiter
}

const maxLimiters = 10000

func (l *limiters) get(key string, lim RateLimit) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil || len(l.m) >= maxLimiters {
		l.m = map[string]*rate.Limiter{}
	}
	r, ok := l.m[key]
	if !ok {
		burst := lim.Burst
		if burst < 1 {
			burst = max(1, int(2*lim.PerSecond))
		}
		r = rate.NewLimiter(rate.Limit(lim.PerSecond), burst)
		l.m[key] = r
	}
	return r
}

// limit answers 429 with Retry-After to a caller over its rate; health
// checks are never limited.
func (s *Server) limit(next http.Handler) http.Handler {
	if s.RateLimit.PerSecond <= 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" || r.URL.Path == "/readyz" {
			next.ServeHTTP(w, r)
			return
		}
		res := s.limiters.get(s.callerOf(r), s.RateLimit).Reserve()
		if d := res.Delay(); d > 0 {
			res.Cancel()
			w.Header().Set("Retry-After", fmt.Sprint(int(math.Ceil(max(d, time.Second).Seconds()))))
			writeProblem(w, http.StatusTooManyRequests, "rate-limited", "Too many requests",
				fmt.Sprintf("This caller may make %g requests a second; retry after the time in Retry-After.", s.RateLimit.PerSecond))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// callerOf names who makes a request, for its rate: its credential's
// name, else its address. A key is never kept in the clear.
func (s *Server) callerOf(r *http.Request) string {
	if c, ok := credentialOf(r); ok {
		return "key-" + c.Name
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	return "addr-" + host
}

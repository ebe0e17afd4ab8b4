package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// healthcheckTimeout bounds the whole probe: connect, request and answer.
const healthcheckTimeout = 3 * time.Second

// runHealthcheck implements `recovery healthcheck [URL]`, the probe of
// container images without a shell (distroless): it GETs URL, by default
// /readyz on this host's RECOVERY_ADDR port, and succeeds on a 2xx answer
// within healthcheckTimeout. It prints one line either way (the error's,
// through main, on failure: exit status 1). It reads no other setting, so
// that a probe never fails on configuration the service itself accepts.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 1 {
		return fmt.Errorf("healthcheck takes one URL at most: %w", errUsage)
	}
	target := defaultHealthURL(strings.TrimSpace(getenv("RECOVERY_ADDR")))
	if len(args) == 1 {
		target = args[0]
	}
	if u, err := url.Parse(target); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("healthcheck: %q is not an http or https URL", target)
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	hc := &http.Client{
		// Straight to the process: no proxy from the environment, no
		// connection kept, and a redirect is an answer, not followed.
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := hc.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("unhealthy: %s: no answer within %s", target, healthcheckTimeout)
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return fmt.Errorf("unhealthy: %s: %v", target, err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("unhealthy: %s answered %s", target, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: %s answered %s\n", target, resp.Status)
	return nil
}

// defaultHealthURL is /readyz on the port of RECOVERY_ADDR (8080 when it
// is unset), at its host when it names one, else on loopback (a wildcard
// listener answers there).
func defaultHealthURL(addr string) string {
	host, port := "127.0.0.1", "8080"
	if addr != "" {
		if h, p, err := net.SplitHostPort(addr); err == nil {
			port = p
			if ip := net.ParseIP(h); h != "" && h != "localhost" && (ip == nil || !ip.IsUnspecified()) {
				host = h
			}
		}
	}
	return "http://" + net.JoinHostPort(host, port) + "/readyz"
}

package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// healthServer answers /readyz with status, and /slow after sleeping.
func healthServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.WriteHeader(status)
		case "/moved":
			http.Redirect(w, r, "/readyz", http.StatusFound)
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// unreachableURL is a loopback URL nothing listens on.
func unreachableURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/readyz"
}

func TestHealthcheck(t *testing.T) {
	ok, down := healthServer(t, http.StatusOK), healthServer(t, http.StatusServiceUnavailable)
	for _, tc := range []struct {
		name, url string
		want      string // in the one line printed (stdout on success, the error otherwise)
		healthy   bool
	}{
		{"200", ok.URL + "/readyz", "answered 200 OK", true},
		{"503", down.URL + "/readyz", "answered 503 Service Unavailable", false},
		{"redirect is not followed", ok.URL + "/moved", "answered 302 Found", false},
		{"unreachable", unreachableURL(t), "connection refused", false},
		{"not a URL", "127.0.0.1:8080/readyz", "is not an http or https URL", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			// A setting the service would refuse: the probe reads none.
			env := map[string]string{"RECOVERY_LOG_LEVEL": "chatty"}
			err := run(context.Background(), []string{"healthcheck", tc.url}, func(k string) string { return env[k] },
				&stdout, &stderr)
			line := stdout.String()
			if err != nil {
				line = err.Error()
			}
			if (err == nil) != tc.healthy || !strings.Contains(line, tc.want) {
				t.Fatalf("healthcheck %s: err %v, stdout %q; want healthy=%v and %q", tc.url, err, stdout.String(), tc.healthy, tc.want)
			}
			if strings.Count(strings.TrimSuffix(line, "\n"), "\n") > 0 {
				t.Fatalf("more than one line: %q", line)
			}
			if errors.Is(err, errUsage) {
				t.Fatalf("a failed probe is no usage error: %v", err)
			}
		})
	}
}

func TestHealthcheckTimeout(t *testing.T) {
	srv := healthServer(t, http.StatusOK)
	start := time.Now()
	err := run(context.Background(), []string{"healthcheck", srv.URL + "/slow"}, func(string) string { return "" },
		&bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "no answer within 3s") {
		t.Fatalf("err = %v, want no answer within 3s", err)
	}
	if d := time.Since(start); d < healthcheckTimeout || d > healthcheckTimeout+2*time.Second {
		t.Fatalf("gave up after %s, want %s", d, healthcheckTimeout)
	}
}

// The exit status is what a container runtime reads: 0 healthy, 1 not.
func TestHealthcheckExitStatus(t *testing.T) {
	ok, down := healthServer(t, http.StatusOK), healthServer(t, http.StatusServiceUnavailable)
	for _, tc := range []struct {
		url  string
		code int
	}{{ok.URL + "/readyz", 0}, {down.URL + "/readyz", 1}, {unreachableURL(t), 1}} {
		cmd := exec.Command(os.Args[0], "healthcheck", tc.url)
		cmd.Env = []string{"RECOVERY_TEST_AS_MAIN=1"}
		out, err := cmd.CombinedOutput()
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || strings.Count(strings.TrimSpace(string(out)), "\n") != 0 {
			t.Fatalf("healthcheck %s: exit %d, output %q; want exit %d and one line", tc.url, code, out, tc.code)
		}
	}
}

func TestDefaultHealthURL(t *testing.T) {
	for addr, want := range map[string]string{
		"":               "http://127.0.0.1:8080/readyz",
		"127.0.0.1:8080": "http://127.0.0.1:8080/readyz",
		":9090":          "http://127.0.0.1:9090/readyz",
		"0.0.0.0:8080":   "http://127.0.0.1:8080/readyz",
		"[::]:8081":      "http://127.0.0.1:8081/readyz",
		"localhost:7000": "http://127.0.0.1:7000/readyz",
		"10.1.2.3:8080":  "http://10.1.2.3:8080/readyz",
		"[fd00::1]:8080": "http://[fd00::1]:8080/readyz",
		"not an address": "http://127.0.0.1:8080/readyz",
	} {
		if got := defaultHealthURL(addr); got != want {
			t.Errorf("defaultHealthURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

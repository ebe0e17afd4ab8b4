package main

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
)

// e2eKey is the API key of the end-to-end tests (serve refuses keys
// shorter than 16 characters).
const e2eKey = "e2e-key-0123456789"

// production is a `serve` and a `worker` process about to run against a
// fresh database on the test cluster: their environment, the API's base
// URL and database, and SendGrid's stub (serve sends only through real
// providers).
type production struct {
	env   []string
	base  string
	dbURL string
	sg    *providerstub.Stub
}

// newProduction prepares the environment; temporalAddr is the Temporal
// frontend to use ("" for the test server) and extra adds or overrides
// settings.
func newProduction(t *testing.T, temporalAddr string, extra ...string) *production {
	t.Helper()
	if temporalAddr == "" {
		temporalAddr = stacktest.Temporal(t).Address()
	}
	p := &production{dbURL: stacktest.PostgresURL(t), sg: providerstub.SendGrid("SG.e2e-key")}
	t.Cleanup(p.sg.Close)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p.base = "http://" + addr
	p.env = append(os.Environ(), "RECOVERY_TEST_AS_MAIN=1", "DATABASE_URL="+p.dbURL, "TEMPORAL_ADDRESS="+temporalAddr,
		"RECOVERY_ADDR="+addr, "RECOVERY_PUBLIC_URL="+p.base, "RECOVERY_API_KEYS="+e2eKey, "RECOVERY_URL="+p.base,
		"RECOVERY_API_KEY="+e2eKey, "RECOVERY_LINK_SECRET=e2e-links",
		// serve contacts only 08:00-21:00 by default; these tests run at any hour.
		"RECOVERY_CONTACT_WINDOW=00:00-24:00",
		"SENDGRID_API_KEY=SG.e2e-key", "SENDGRID_FROM=care@shop.example", "SENDGRID_API_BASE="+p.sg.URL)
	p.env = append(p.env, extra...) // the last of a repeated setting wins
	return p
}

// start runs `serve` (waiting for its /readyz) and `worker`.
func (p *production) start(t *testing.T) {
	t.Helper()
	startProc(t, p.env, p.base, "serve")
	startProc(t, append(slices.Clone(p.env), "RECOVERY_ADDR="), "", "worker")
}

package main

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/faults"
)

// TestStartWaitsForPostgres starts a relay while Postgres drops every
// connection (a restart, a failover) and brings it back two seconds
// later: the process comes up then, instead of exiting on its first
// connection or migration error (the fault suite once lost a worker that
// way, killed mid-migration by a restart).
func TestStartWaitsForPostgres(t *testing.T) {
	dbURL := stacktest.PostgresURL(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := faults.NewProxy(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Down()
	proxied := strings.Replace(dbURL, u.Host, proxy.Addr(), 1)
	cfg := configOf(t, map[string]string{"DATABASE_URL": proxied, "TEMPORAL_ADDRESS": "127.0.0.1:1"})
	go func() {
		time.Sleep(2 * time.Second)
		proxy.Up()
	}()
	start := time.Now()
	s, err := startStack(context.Background(), cfg, proxied, "127.0.0.1:1", parts{relay: true}, false, quietLogger())
	if err != nil {
		t.Fatalf("the relay gave up on Postgres after %s: %v", time.Since(start).Round(time.Millisecond), err)
	}
	defer s.Stop()
	if waited := time.Since(start); waited < 2*time.Second {
		t.Fatalf("up after %s, before Postgres was back", waited)
	}
}

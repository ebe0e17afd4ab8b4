// Package stacktest gives integration tests a real embedded Temporal
// server on the throwaway PostgreSQL cluster of pgtest, started once per
// test binary and stopped by Main. Nothing is faked and nothing is
// skipped: when a part cannot start, the test fails and says why. Tests
// that need only Postgres use pgtest, which does not link the server.
package stacktest

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/recoveryhq/recovery/internal/devstack"
	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
)

var (
	mu       sync.Mutex
	temporal *devstack.Temporal
)

// Main runs the tests, then stops whatever they started. Call it from
// TestMain.
func Main(m *testing.M) { MainThen(m, nil) }

// MainThen is Main with a check after the tests (nil: none), which fails
// the run when it returns a count above zero.
func MainThen(m *testing.M, after func() int) {
	code := m.Run()
	if after != nil && code == 0 && after() > 0 {
		code = 1
	}
	mu.Lock()
	if temporal != nil {
		temporal.Stop() //nolint:errcheck
	}
	mu.Unlock()
	pgtest.Stop()
	os.Exit(code)
}

// PostgresURL creates a fresh database on the shared cluster (pgtest.URL).
func PostgresURL(t testing.TB) string {
	t.Helper()
	return pgtest.URL(t)
}

// Temporal returns the shared embedded Temporal server (namespace
// "default"), starting it on first use. Tests isolate themselves with
// their own task queues and workflow IDs.
func Temporal(t testing.TB) *devstack.Temporal {
	t.Helper()
	p, dir := pgtest.Cluster(t), pgtest.Dir(t)
	mu.Lock()
	defer mu.Unlock()
	if temporal != nil {
		return temporal
	}
	var err error
	temporal, err = devstack.StartTemporal(context.Background(), devstack.TemporalConfig{
		Postgres: p, LogFile: filepath.Join(dir, "temporal.log")})
	if err != nil {
		t.Fatalf("start test temporal: %v", err)
	}
	return temporal
}

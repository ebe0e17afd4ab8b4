// Package stacktest gives integration tests a real, throwaway PostgreSQL
// cluster and embedded Temporal server, started once per test binary and
// stopped by Main. Nothing is faked and nothing is skipped: when a part
// cannot start, the test fails and says why.
package stacktest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/recoveryhq/recovery/internal/devstack"
)

var (
	mu       sync.Mutex
	dir      string
	pg       *devstack.Postgres
	temporal *devstack.Temporal
	dbSeq    atomic.Int64
)

// Main runs the tests, then stops whatever they started. Call it from
// TestMain.
func Main(m *testing.M) {
	code := m.Run()
	mu.Lock()
	if temporal != nil {
		temporal.Stop() //nolint:errcheck
	}
	if pg != nil {
		pg.Stop() //nolint:errcheck
	}
	if dir != "" {
		os.RemoveAll(dir)
	}
	mu.Unlock()
	os.Exit(code)
}

// Postgres returns the shared ephemeral cluster, starting it on first use.
func Postgres(t testing.TB) *devstack.Postgres {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if pg != nil {
		return pg
	}
	d, err := os.MkdirTemp("", "recovery-test-")
	if err != nil {
		t.Fatal(err)
	}
	dir = d
	pg, err = devstack.StartPostgres(context.Background(), devstack.PostgresConfig{
		Dir: filepath.Join(dir, "postgres"), Ephemeral: true})
	if err != nil {
		t.Fatalf("start test postgres: %v", err)
	}
	return pg
}

// PostgresURL creates a fresh, uniquely named database on the shared
// cluster and returns its URL.
func PostgresURL(t testing.TB) string {
	t.Helper()
	p := Postgres(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := p.CreateDatabase(context.Background(), name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	return p.URL(name)
}

// Temporal returns the shared embedded Temporal server (namespace
// "default"), starting it on first use. Tests isolate themselves with
// their own task queues and workflow IDs.
func Temporal(t testing.TB) *devstack.Temporal {
	t.Helper()
	p := Postgres(t)
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

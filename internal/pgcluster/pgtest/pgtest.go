// Package pgtest gives integration tests a real, throwaway PostgreSQL
// cluster, started once per test binary on first use and stopped by Main
// (or Stop). Nothing is faked and nothing is skipped: when the cluster
// cannot start, the test fails and says why. It does not link the
// embedded Temporal server, so the packages that use it stay cheap to
// build with the race detector; internal/devstack/stacktest adds Temporal.
package pgtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/recoveryhq/recovery/internal/pgcluster"
)

var (
	mu    sync.Mutex
	dir   string
	pg    *pgcluster.Cluster
	dbSeq atomic.Int64
)

// Main runs the tests, then stops the cluster if they started one. Call
// it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Stop()
	os.Exit(code)
}

// Stop stops and removes the cluster, if one was started.
func Stop() {
	mu.Lock()
	defer mu.Unlock()
	if pg != nil {
		pg.Stop() //nolint:errcheck
		pg = nil
	}
	if dir != "" {
		os.RemoveAll(dir)
		dir = ""
	}
}

// Dir returns the directory the shared cluster lives in, for other
// throwaway state of the same test binary (e.g. Temporal's log).
func Dir(t testing.TB) string {
	t.Helper()
	Cluster(t)
	mu.Lock()
	defer mu.Unlock()
	return dir
}

// Cluster returns the shared ephemeral cluster, starting it on first use.
func Cluster(t testing.TB) *pgcluster.Cluster {
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
	pg, err = pgcluster.Start(context.Background(), pgcluster.Config{Dir: filepath.Join(dir, "postgres"), Ephemeral: true})
	if err != nil {
		t.Fatalf("start test postgres: %v", err)
	}
	return pg
}

// URL creates a fresh, uniquely named database on the shared cluster and
// returns its URL.
func URL(t testing.TB) string {
	t.Helper()
	p := Cluster(t)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), dbSeq.Add(1))
	if err := p.CreateDatabase(context.Background(), name); err != nil {
		t.Fatalf("create test database: %v", err)
	}
	return p.URL(name)
}

// Package storetest opens a migrated store on a database of its own in
// the test binary's Postgres (pgtest), for tests outside the store.
package storetest

import (
	"context"
	"testing"

	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/store"
)

// Open returns a store on a new, migrated database, closed at the test's
// end. The test binary's TestMain must run pgtest.Main.
func Open(t testing.TB) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, pgtest.URL(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

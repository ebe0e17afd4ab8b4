package pgcluster

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestPostgresKeepsDataAcrossRestarts(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg") // mode 0700 and root-owned when run as root
	p, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(); os.RemoveAll(p.base) }) // as root the cluster lives outside dir
	if err := p.CreateDatabase(ctx, "keep"); err != nil {
		t.Fatal(err)
	}
	if err := p.CreateDatabase(ctx, "keep"); err != nil {
		t.Fatalf("CreateDatabase must be idempotent: %v", err)
	}
	execSQL(t, p.URL("keep"), `CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')`)
	if _, err := Start(ctx, Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("second start on a running cluster: %v, want 'already running'", err)
	}
	port := p.Port()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	p2, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p2.Stop() })
	if p2.Port() != port {
		t.Fatalf("port changed across restarts: %d then %d", port, p2.Port())
	}
	conn, err := pgx.Connect(ctx, p2.URL("keep"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, `SELECT v FROM t`).Scan(&v); err != nil || v != "kept" {
		t.Fatalf("after restart: %q, %v", v, err)
	}
}

func TestMissingBinariesSayWhatToInstall(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	old := libGlob
	libGlob = filepath.Join(t.TempDir(), "*", "initdb")
	defer func() { libGlob = old }()
	_, err := Start(context.Background(), Config{Dir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") || !strings.Contains(err.Error(), "DATABASE_URL") {
		t.Fatalf("err = %v, want advice naming the package and DATABASE_URL", err)
	}
}

func execSQL(t *testing.T, url, sql string) {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(context.Background(), sql); err != nil {
		t.Fatal(err)
	}
}

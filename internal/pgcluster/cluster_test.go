package pgcluster

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

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

// TestMain lets the test binary stand in for a `recovery dev` that owns a
// cluster and then dies: with PGCLUSTER_TEST_OWN=DIR it starts the
// cluster in DIR, says so, and waits to be killed.
func TestMain(m *testing.M) {
	if dir := os.Getenv("PGCLUSTER_TEST_OWN"); dir != "" {
		p, err := Start(context.Background(), Config{Dir: dir})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("started on port", p.Port())
		select {}
	}
	os.Exit(m.Run())
}

// startOwner runs a process that starts the cluster in dir, and returns it
// once the cluster answers.
func startOwner(t *testing.T, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "PGCLUSTER_TEST_OWN="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "started") {
		cmd.Process.Kill() //nolint:errcheck
		t.Fatalf("the owner process: %q, %v", line, err)
	}
	return cmd
}

// running asks pg_ctl whether the cluster in dir runs.
func running(t *testing.T, dir string) bool {
	t.Helper()
	p := &Cluster{cfg: Config{Dir: dir}}
	bin, err := findPostgresBinaries()
	if err != nil {
		t.Fatal(err)
	}
	p.bin = bin
	if err := p.resolveLayout(); err != nil {
		t.Fatal(err)
	}
	return p.run(context.Background(), "pg_ctl", "-D", p.dataDir(), "status") == nil
}

// A cluster whose owner is SIGKILLed does not outlive it for long: the
// watchdog stops it within seconds.
func TestClusterStopsSoonAfterItsOwnerDies(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pg")
	owner := startOwner(t, dir)
	t.Cleanup(func() { cleanupCluster(t, dir) })
	if !running(t, dir) {
		t.Fatal("the owner's cluster does not run")
	}
	owner.Process.Kill() //nolint:errcheck
	owner.Wait()         //nolint:errcheck
	deadline := time.Now().Add(30 * time.Second)
	for running(t, dir) {
		if time.Now().After(deadline) {
			t.Fatal("the cluster still runs 30 s after its owner died")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// When the watchdog died too (the whole group was killed), the next start
// recognises the orphan by its dead owner, restarts it and keeps its data;
// a start while the owner lives is still refused.
func TestOrphanedClusterIsAdopted(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	owner := startOwner(t, dir)
	t.Cleanup(func() { cleanupCluster(t, dir) })
	if _, err := Start(ctx, Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("a start while the owner lives: %v, want 'already running'", err)
	}
	pg := &Cluster{cfg: Config{Dir: dir}}
	pg.port, _ = strconv.Atoi(strings.TrimSpace(string(mustRead(t, filepath.Join(dir, "port")))))
	if err := pg.CreateDatabase(ctx, "kept"); err != nil {
		t.Fatal(err)
	}
	execSQL(t, pg.URL("kept"), `CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')`)
	// Kill the watchdogs first, then the owner: nothing stops the cluster.
	watchdog := fmt.Sprintf("recovery-pg-watchdog %d ", owner.Process.Pid)
	if err := exec.Command("pkill", "-KILL", "-f", watchdog).Run(); err != nil {
		t.Fatalf("kill the watchdog: %v", err)
	}
	owner.Process.Kill() //nolint:errcheck
	owner.Wait()         //nolint:errcheck
	if !running(t, dir) {
		t.Fatal("the orphan stopped by itself; this test needs it running")
	}
	p, err := Start(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatalf("the start after a crash: %v", err)
	}
	defer p.Stop()
	var v string
	conn, err := pgx.Connect(ctx, p.URL("kept"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if err := conn.QueryRow(ctx, `SELECT v FROM t`).Scan(&v); err != nil || v != "kept" {
		t.Fatalf("after adopting the orphan: %q, %v", v, err)
	}
}

func mustRead(t *testing.T, f string) []byte {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// cleanupCluster stops whatever runs in dir and removes it (as root the
// cluster lives outside dir).
func cleanupCluster(t *testing.T, dir string) {
	p := &Cluster{cfg: Config{Dir: dir}}
	if bin, err := findPostgresBinaries(); err == nil {
		p.bin = bin
	}
	if p.resolveLayout() == nil {
		p.run(context.Background(), "pg_ctl", "-D", p.dataDir(), "-m", "immediate", "-w", "stop") //nolint:errcheck
		os.RemoveAll(p.base)
	}
}

// A start right after the owner's death takes the cluster over before the
// dead owner's watchdog wakes: that watchdog must not then stop the
// cluster the new owner runs.
func TestOldWatchdogLeavesTheNewOwnersClusterAlone(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "pg")
	owner := startOwner(t, dir)
	t.Cleanup(func() { cleanupCluster(t, dir) })
	owner.Process.Kill()                   //nolint:errcheck
	owner.Wait()                           //nolint:errcheck
	p, err := Start(ctx, Config{Dir: dir}) // at once: the old watchdog polls every second
	if err != nil {
		t.Fatalf("the start right after a crash: %v", err)
	}
	defer p.Stop()
	time.Sleep(3 * time.Second) // past the old watchdog's next look: a negative check
	if !running(t, dir) {
		t.Fatal("the dead owner's watchdog stopped the new owner's cluster")
	}
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		t.Fatalf("the new owner's cluster does not answer: %v", err)
	}
	conn.Close(ctx)
}

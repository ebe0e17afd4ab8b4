// Package chaos is the fault suite: it runs the real binary as separate
// processes (serve: API with relay; worker) against a Postgres and an
// embedded Temporal server of its own, drives a seeded mix of orders, and
// injects one kind of fault per run at seeded moments: SIGKILL of the API
// and relay during group commits and relay batches, SIGKILL of the worker
// mid-send, Postgres stopped and restarted, Temporal unreachable, Postgres
// connections cut. Then it checks that nothing was lost, duplicated or
// left stuck.
//
//	go test ./internal/chaos          # one run of each kind, fixed seeds (CI)
//	make chaos RUNS=100 SEED=7        # more, the kinds rotating
package chaos

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/devstack"
	"github.com/recoveryhq/recovery/internal/faults"
	"github.com/recoveryhq/recovery/internal/pgcluster"
)

// binary is the recovery binary the suite runs, built once.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "recovery-chaos-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "recovery")
	_, here, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", binary, "./cmd/recovery")
	build.Dir = filepath.Join(filepath.Dir(here), "..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build recovery: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// infra is what a whole series shares: the application's Postgres (which
// faults may stop) behind a proxy, and Temporal on a Postgres of its own
// behind another.
type infra struct {
	dir      string
	app      *pgcluster.Cluster
	appProxy *faults.Proxy
	temporal *devstack.Temporal
	tProxy   *faults.Proxy
	tpg      *pgcluster.Cluster
}

func startInfra(t *testing.T) *infra {
	t.Helper()
	ctx := context.Background()
	in := &infra{dir: t.TempDir()}
	var err error
	if in.tpg, err = pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(in.dir, "temporal-pg"), Ephemeral: true}); err != nil {
		t.Fatalf("temporal's postgres: %v", err)
	}
	t.Cleanup(func() { in.tpg.Stop() }) //nolint:errcheck
	if in.temporal, err = devstack.StartTemporal(ctx, devstack.TemporalConfig{Postgres: in.tpg,
		LogFile: filepath.Join(in.dir, "temporal.log")}); err != nil {
		t.Fatalf("temporal: %v", err)
	}
	t.Cleanup(func() { in.temporal.Stop() }) //nolint:errcheck
	// The application's database stays durable across a restart.
	if in.app, err = pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(in.dir, "app-pg")}); err != nil {
		t.Fatalf("application postgres: %v", err)
	}
	t.Cleanup(func() { in.app.Destroy() }) //nolint:errcheck
	if in.appProxy, err = faults.NewProxy(fmt.Sprintf("127.0.0.1:%d", in.app.Port())); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.appProxy.Close)
	if in.tProxy, err = faults.NewProxy(in.temporal.Address()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(in.tProxy.Close)
	return in
}

// proc is one running process of the binary, restartable.
type proc struct {
	args []string
	env  []string
	mu   sync.Mutex
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func (p *proc) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(binary, p.args...)
	cmd.Env = p.env
	if p.out == nil {
		p.out = &syncBuffer{}
	}
	cmd.Stdout, cmd.Stderr = io.Discard, p.out
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }() //nolint:errcheck
	p.cmd, p.done = cmd, done
	return nil
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill() //nolint:errcheck
	<-done
}

// stop sends SIGTERM and waits (SIGKILL after 20 s).
func (p *proc) stop() {
	p.mu.Lock()
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill() //nolint:errcheck
		<-done
	}
}

var execCommand = exec.Command

// quietLogger drops the Temporal SDK's logs.
type quietLogger struct{}

func (quietLogger) Debug(string, ...any) {}
func (quietLogger) Info(string, ...any)  {}
func (quietLogger) Warn(string, ...any)  {}
func (quietLogger) Error(string, ...any) {}

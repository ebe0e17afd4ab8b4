package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// The process that started a cluster writes itself into the state
// directory's owner file: its pid and its start time (so that a reused
// pid is not taken for it). A later start that finds the cluster running
// while its owner is gone knows the cluster is an orphan of a crash (a
// SIGKILL, an OOM kill, a closed laptop) and restarts it.

func (p *Cluster) ownerFile() string { return filepath.Join(p.cfg.Dir, "owner") }

// processStart returns a process's start time in clock ticks since boot
// (field 22 of /proc/PID/stat), "" when there is no such process.
func processStart(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// The command name (field 2) may hold spaces; fields count from the
	// closing parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return ""
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 {
		return ""
	}
	return f[19]
}

// writeOwner records this process as the cluster's owner.
func (p *Cluster) writeOwner() error {
	pid := os.Getpid()
	return os.WriteFile(p.ownerFile(), []byte(fmt.Sprintf("%d %s\n", pid, processStart(pid))), 0o644)
}

// ownerAlive reports whether the recorded owner still runs, and its pid.
func (p *Cluster) ownerAlive() (int, bool) {
	b, err := os.ReadFile(p.ownerFile())
	if err != nil {
		return 0, false
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 0, false
	}
	pid, err := strconv.Atoi(f[0])
	if err != nil {
		return 0, false
	}
	return pid, processStart(pid) == f[1]
}

// stopOrphan stops a cluster whose owner died: fast, then immediate.
func (p *Cluster) stopOrphan(ctx context.Context) error {
	err := p.run(ctx, "pg_ctl", "-D", p.dataDir(), "-m", "fast", "-w", "-t", "20", "stop")
	if err != nil {
		err = p.run(ctx, "pg_ctl", "-D", p.dataDir(), "-m", "immediate", "-w", "-t", "20", "stop")
	}
	return err
}

// watch starts a small watchdog process that stops the cluster soon after
// this process dies, however it dies. It runs as the server's user, in a
// session of its own, so that nothing that kills this process kills it.
func (p *Cluster) watch() error {
	script := `while [ -d /proc/$1 ]; do sleep 1; done; exec "$2/pg_ctl" -D "$3" -m fast -w -t 30 stop >/dev/null 2>&1`
	cmd := exec.Command("/bin/sh", "-c", script, "recovery-pg-watchdog", strconv.Itoa(os.Getpid()), p.bin, p.dataDir())
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "LANG=C.UTF-8"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if p.cred != nil {
		cmd.SysProcAttr.Credential = p.cred
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the postgres watchdog: %w", err)
	}
	p.watchdog = cmd.Process
	go cmd.Wait() //nolint:errcheck // reaped when it ends
	return nil
}

// errRunning says another live process uses the cluster.
var errRunning = errors.New("already running")

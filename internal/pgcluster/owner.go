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
	"time"
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

// writeOwner records this process as the cluster's owner, with its
// watchdog (0 before it runs).
func (p *Cluster) writeOwner(watchdog int) error {
	pid := os.Getpid()
	line := fmt.Sprintf("%d %s %d %s\n", pid, processStart(pid), watchdog, processStart(watchdog))
	return os.WriteFile(p.ownerFile(), []byte(line), 0o644)
}

// owner is what the owner file says: the owner's pid and whether it still
// runs, and its watchdog's pid and whether that still runs.
type owner struct {
	pid, watchdog          int
	alive, watchdogRunning bool
}

func (p *Cluster) owner() owner {
	b, err := os.ReadFile(p.ownerFile())
	if err != nil {
		return owner{}
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return owner{}
	}
	var o owner
	o.pid, _ = strconv.Atoi(f[0])
	o.alive = o.pid > 0 && processStart(o.pid) == f[1]
	if len(f) == 4 {
		o.watchdog, _ = strconv.Atoi(f[2])
		o.watchdogRunning = o.watchdog > 0 && processStart(o.watchdog) == f[3]
	}
	return o
}

// ownerAlive reports whether the recorded owner still runs, and its pid.
func (p *Cluster) ownerAlive() (int, bool) {
	o := p.owner()
	return o.pid, o.alive
}

// stopOldWatchdog kills the watchdog of an owner that died, before this
// process takes the cluster over: otherwise its stop, coming late, could
// hit the cluster this process starts.
func (p *Cluster) stopOldWatchdog() {
	if o := p.owner(); !o.alive && o.watchdogRunning {
		p.cfg.Logger.Info("stopping the watchdog of the cluster's previous owner", "pid", o.watchdog)
		syscall.Kill(o.watchdog, syscall.SIGKILL) //nolint:errcheck
		for range 50 {                            // until it is gone (it is our child only if we started it)
			if processStart(o.watchdog) == "" || processState(o.watchdog) == "Z" {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// processState is a process's state letter (R, S, Z...), "" when gone.
func processState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+3 > len(s) {
		return ""
	}
	return string(s[i+2])
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
	return p.writeOwner(cmd.Process.Pid)
}

// errRunning says another live process uses the cluster.
var errRunning = errors.New("already running")

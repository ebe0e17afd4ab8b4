// Package pgcluster runs a private PostgreSQL cluster from the locally
// installed server binaries (as an unprivileged user when run as root),
// for `recovery dev`, the benchmark and tests. Production uses a managed
// Postgres through DATABASE_URL.
package pgcluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// superuser is the name of the cluster's superuser.
const superuser = "recovery"

// rootClusterBase holds clusters started by root whose state directory the
// unprivileged server user cannot enter.
const rootClusterBase = "/var/lib/recovery"

// Config says where a private cluster lives and how it runs.
type Config struct {
	// Dir is the state directory (made absolute); data survives restarts.
	Dir string
	// Port is the loopback TCP port; 0 picks a free one on first start and
	// remembers it in Dir.
	Port int
	// Ephemeral turns durability off (fsync, synchronous commit) for
	// throwaway test clusters, and removes the cluster on Stop.
	Ephemeral bool
	// Logger may be nil.
	Logger *slog.Logger
}

// Cluster is a running private cluster.
type Cluster struct {
	cfg      Config
	bin      string // directory of initdb, pg_ctl, postgres
	base     string // directory holding data/, run/ and postgres.log
	port     int
	cred     *syscall.Credential
	stopOnce sync.Once
	stopErr  error
	// watchdog stops the cluster if this process dies without Stop.
	watchdog *os.Process
}

// Start initialises the cluster if needed, starts it and waits until
// it accepts connections.
func Start(ctx context.Context, cfg Config) (*Cluster, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	cfg.Dir = dir
	bin, err := findPostgresBinaries()
	if err != nil {
		return nil, err
	}
	p := &Cluster{cfg: cfg, bin: bin}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	if err := p.resolveLayout(); err != nil {
		return nil, err
	}
	if err := p.resolvePort(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(p.dataDir(), "PG_VERSION")); errors.Is(err, os.ErrNotExist) {
		if err := p.initdb(ctx); err != nil {
			return nil, err
		}
	}
	if err := p.start(ctx); err != nil {
		return nil, err
	}
	return p, nil
}

// libGlob finds Debian's versioned PostgreSQL installs.
var libGlob = "/usr/lib/postgresql/*/bin/initdb"

// findPostgresBinaries returns the directory holding initdb and pg_ctl.
func findPostgresBinaries() (string, error) {
	if path, err := exec.LookPath("initdb"); err == nil {
		dir := filepath.Dir(path)
		if _, err := os.Stat(filepath.Join(dir, "pg_ctl")); err == nil {
			return dir, nil
		}
	}
	matches, _ := filepath.Glob(libGlob)
	for i := len(matches) - 1; i >= 0; i-- { // newest version first
		return filepath.Dir(matches[i]), nil
	}
	return "", errors.New("PostgreSQL server binaries (initdb, pg_ctl) not found on PATH or in " +
		"/usr/lib/postgresql/*/bin: install PostgreSQL (Debian: apt-get install postgresql) or set DATABASE_URL")
}

// resolveLayout decides who runs the server and where its files live. As
// root the server runs as an unprivileged user, and if that user cannot
// reach Dir the cluster lives under /var/lib/recovery with a link in Dir.
func (p *Cluster) resolveLayout() error {
	p.base = p.cfg.Dir
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		if u, err = user.Lookup("nobody"); err != nil {
			return errors.New("running as root needs an unprivileged user to run PostgreSQL: create a 'postgres' user")
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	p.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	link := filepath.Join(p.cfg.Dir, "cluster")
	if target, err := os.Readlink(link); err == nil {
		p.base = target
	} else if !p.reachable(p.cfg.Dir) {
		sum := sha256.Sum256([]byte(p.cfg.Dir))
		p.base = filepath.Join(rootClusterBase, hex.EncodeToString(sum[:8]))
		if err := os.MkdirAll(rootClusterBase, 0o755); err != nil {
			return fmt.Errorf("create %s: %w", rootClusterBase, err)
		}
		if err := os.Symlink(p.base, link); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("link cluster into %s: %w", p.cfg.Dir, err)
		}
	}
	if err := os.MkdirAll(p.base, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", p.base, err)
	}
	for _, d := range []string{p.base, filepath.Join(p.base, "run")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("give %s to the postgres user: %w", d, err)
		}
	}
	return nil
}

// reachable reports whether the server user can write in dir (and so reach
// it through every parent).
func (p *Cluster) reachable(dir string) bool {
	if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
		return false
	}
	cmd := exec.Command("/bin/sh", "-c", `test -w "$0" && test -x "$0"`, dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	cmd.Dir = "/"
	if cmd.Run() != nil {
		os.Chown(dir, 0, 0) //nolint:errcheck // give it back; the cluster lives elsewhere
		return false
	}
	return true
}

func (p *Cluster) dataDir() string { return filepath.Join(p.base, "data") }
func (p *Cluster) runDir() string  { return filepath.Join(p.base, "run") }
func (p *Cluster) logFile() string { return filepath.Join(p.base, "postgres.log") }

// resolvePort reads the remembered port, or picks and remembers one.
func (p *Cluster) resolvePort() error {
	file := filepath.Join(p.cfg.Dir, "port")
	if b, err := os.ReadFile(file); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && p.cfg.Port == 0 {
			p.port = n
			return nil
		}
	}
	p.port = p.cfg.Port
	if p.port == 0 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("pick a port for postgres: %w", err)
		}
		p.port = l.Addr().(*net.TCPAddr).Port
		l.Close()
	}
	return os.WriteFile(file, []byte(strconv.Itoa(p.port)+"\n"), 0o644)
}

// run executes a server binary as the server user and returns its output
// in the error when it fails.
func (p *Cluster) run(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(p.bin, name), args...)
	cmd.Dir = p.base
	cmd.Env = []string{"PATH=" + p.bin + ":/usr/bin:/bin", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"}
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w: %s", name, err, strings.TrimSpace(out.String()))
	}
	return nil
}

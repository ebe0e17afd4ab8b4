package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// initdb creates the cluster and writes its settings.
func (p *Cluster) initdb(ctx context.Context) error {
	p.cfg.Logger.Info("initialising private postgres cluster", "dir", p.base)
	args := []string{"-D", p.dataDir(), "-U", superuser, "--auth=trust", "--encoding=UTF8", "--locale=C"}
	if p.cfg.Ephemeral {
		args = append(args, "--no-sync")
	}
	if err := p.run(ctx, "initdb", args...); err != nil {
		return fmt.Errorf("initdb: %w", err)
	}
	settings := []string{
		"listen_addresses = '127.0.0.1'",
		fmt.Sprintf("unix_socket_directories = '%s'", p.runDir()),
		"max_connections = 300",
		"shared_buffers = 128MB",
		"logging_collector = off",
	}
	if p.cfg.Ephemeral {
		settings = append(settings, "fsync = off", "synchronous_commit = off", "full_page_writes = off")
	}
	f, err := os.OpenFile(filepath.Join(p.dataDir(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("configure postgres: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString("\n# recovery devstack\n" + strings.Join(settings, "\n") + "\n")
	return err
}

// start launches the server with pg_ctl and waits until it answers.
func (p *Cluster) start(ctx context.Context) error {
	p.stopOldWatchdog()
	if err := p.run(ctx, "pg_ctl", "-D", p.dataDir(), "status"); err == nil {
		if pid, alive := p.ownerAlive(); alive {
			return fmt.Errorf("the postgres cluster in %s is %w: process %d (another `recovery dev`?) uses %s",
				p.base, errRunning, pid, p.cfg.Dir)
		}
		p.cfg.Logger.Warn("the private postgres was left running by a process that is gone; restarting it", "dir", p.base)
		if err := p.stopOrphan(ctx); err != nil {
			return fmt.Errorf("stop the postgres cluster left running in %s: %w", p.base, err)
		}
	}
	err := p.run(ctx, "pg_ctl", "-D", p.dataDir(), "-l", p.logFile(), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d", p.port), "start")
	if err != nil {
		return fmt.Errorf("start postgres (log: %s): %w", p.logFile(), err)
	}
	if err := p.writeOwner(0); err != nil {
		return fmt.Errorf("record the postgres cluster's owner: %w", err)
	}
	if err := p.watch(); err != nil {
		return fmt.Errorf("record the postgres cluster's owner: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		conn, err := pgx.Connect(ctx, p.URL("postgres"))
		if err == nil {
			conn.Close(ctx)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres on port %d does not answer (log: %s): %w", p.port, p.logFile(), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Host returns the address the cluster listens on.
func (p *Cluster) Host() string { return "127.0.0.1" }

// Port returns the cluster's TCP port.
func (p *Cluster) Port() int { return p.port }

// User returns the superuser's name.
func (p *Cluster) User() string { return superuser }

// URL returns a connection URL for database.
func (p *Cluster) URL(database string) string {
	return fmt.Sprintf("postgres://%s@127.0.0.1:%d/%s?sslmode=disable", superuser, p.port, database)
}

// CreateDatabase creates database name unless it exists.
func (p *Cluster) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, p.URL("postgres"))
	if err != nil {
		return fmt.Errorf("connect to postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Destroy stops the server and removes the cluster and its state
// directory: for throwaway clusters that must stay durable while they run,
// such as the benchmark's.
func (p *Cluster) Destroy() error {
	return errors.Join(p.Stop(), os.RemoveAll(p.base), os.RemoveAll(p.cfg.Dir))
}

// Stop shuts the server down (fast mode: running transactions roll back,
// committed data stays) and waits for it. An ephemeral cluster is removed.
func (p *Cluster) Stop() error {
	p.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		p.stopErr = p.run(ctx, "pg_ctl", "-D", p.dataDir(), "-m", "fast", "-w", "-t", "30", "stop")
		if p.watchdog != nil {
			p.watchdog.Kill() //nolint:errcheck // its work is done
		}
		os.Remove(p.ownerFile())
		if p.cfg.Ephemeral {
			p.stopErr = errors.Join(p.stopErr, os.RemoveAll(p.base), os.RemoveAll(p.cfg.Dir))
		}
	})
	return p.stopErr
}

// Restart stops the server (fast mode) and starts it again after down: a
// database restart, for fault tests.
func (p *Cluster) Restart(ctx context.Context, down time.Duration) error {
	if err := p.run(ctx, "pg_ctl", "-D", p.dataDir(), "-m", "fast", "-w", "-t", "30", "stop"); err != nil {
		return fmt.Errorf("stop postgres: %w", err)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(down):
	}
	err := p.run(ctx, "pg_ctl", "-D", p.dataDir(), "-l", p.logFile(), "-w", "-t", "60",
		"-o", fmt.Sprintf("-p %d", p.port), "start")
	if err != nil {
		return fmt.Errorf("start postgres (log: %s): %w", p.logFile(), err)
	}
	return nil
}

//go:build !noembed

// The parts of dev and bench that run Postgres and Temporal themselves.
// A build with -tags noembed leaves them out (noembed.go), and with them
// the embedded Temporal server and the private Postgres: the production
// image has neither.

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/recoveryhq/recovery/internal/devstack"
	"github.com/recoveryhq/recovery/internal/pgcluster"
)

// devInfra starts what dev is not given: a private Postgres under the data
// directory unless DATABASE_URL is set, and an embedded Temporal server on
// it unless TEMPORAL_ADDRESS is set. stop stops what it started, Temporal
// first; on an error it has stopped it already.
func devInfra(ctx context.Context, cfg Config, dataDir string, log *slog.Logger) (dbURL, temporalAddr string, stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			stop()
		}
	}()
	dbURL = cfg.DatabaseURL
	var pg *pgcluster.Cluster
	if dbURL == "" {
		if pg, err = pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(dataDir, "postgres"), Logger: log}); err != nil {
			return "", "", nil, fmt.Errorf("start private postgres: %w", err)
		}
		stops = append(stops, func() { stopLogged(log, "postgres", pg.Stop) })
		if err = pg.CreateDatabase(ctx, "recovery"); err != nil {
			return "", "", nil, err
		}
		dbURL = pg.URL("recovery")
	}
	temporalAddr = cfg.TemporalAddress
	if temporalAddr == "" {
		if pg == nil {
			return "", "", nil, errors.New("the embedded Temporal server needs the private Postgres: " +
				"unset DATABASE_URL or set TEMPORAL_ADDRESS too")
		}
		var ts *devstack.Temporal
		if ts, err = devstack.StartTemporal(ctx, devstack.TemporalConfig{Postgres: pg, Port: cfg.TemporalPort,
			Namespace: cfg.Namespace, LogFile: filepath.Join(dataDir, "temporal.log")}); err != nil {
			return "", "", nil, fmt.Errorf("start embedded temporal: %w", err)
		}
		stops = append(stops, func() { stopLogged(log, "temporal", ts.Stop) })
		temporalAddr = ts.Address()
		if err = devSearchAttributes(ctx, ts.Address(), ts.Namespace(), log); err != nil {
			return "", "", nil, err
		}
	}
	return dbURL, temporalAddr, stop, nil
}

// benchThrowaway starts a throwaway Postgres (fsync on) and an embedded
// Temporal on it for one benchmark run; cleanup removes both.
func benchThrowaway(ctx context.Context, cfg Config, log *slog.Logger) (dbURL, temporalAddr string, cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "recovery-bench-")
	if err != nil {
		return "", "", nil, err
	}
	pg, err := pgcluster.Start(ctx, pgcluster.Config{Dir: filepath.Join(dir, "postgres"), Logger: log})
	if err != nil {
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	if err := pg.CreateDatabase(ctx, "bench"); err != nil {
		pg.Destroy()
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	ts, err := devstack.StartTemporal(ctx, devstack.TemporalConfig{Postgres: pg, Namespace: cfg.Namespace,
		LogFile: filepath.Join(dir, "temporal.log")})
	if err == nil { // measured as dev runs: incidents publish their stage
		if err = devSearchAttributes(ctx, ts.Address(), ts.Namespace(), log); err != nil {
			ts.Stop()
		}
	}
	if err != nil {
		pg.Destroy()
		os.RemoveAll(dir)
		return "", "", nil, err
	}
	return pg.URL("bench"), ts.Address(), func() {
		ts.Stop()
		pg.Destroy()
		os.RemoveAll(dir)
	}, nil
}

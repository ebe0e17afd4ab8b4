// Package store is the Postgres adapter: a pgx pool, raw SQL, embedded
// numbered migrations, the events inbox with its group committer, the
// relay's claim queries and the incident projections.
package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Store wraps a pgx connection pool.
type Store struct {
	pool      *pgxpool.Pool
	log       *slog.Logger
	optOutKey []byte

	// The relay wake-up (see wake): at most one NOTIFY in flight, and one
	// more queued behind it.
	notifyMu    sync.Mutex
	notifying   bool
	notifyAgain bool
	notifyWG    sync.WaitGroup
}

// Options tune the pool.
type Options struct {
	// MaxConns bounds the pool (0: pgx's default).
	MaxConns int32
	// Logger may be nil.
	Logger *slog.Logger
	// OptOutKey keys the hashes an erased customer's opt-outs are kept
	// as (so that STOP still holds); without it erasure refuses to run.
	OptOutKey []byte
}

// Timeouts every connection gets unless the URL sets its own, so that a
// database that stops answering fails requests in seconds instead of
// hanging them until TCP gives up.
const (
	ConnectTimeout   = 5 * time.Second
	StatementTimeout = 30 * time.Second
	// IdleInTransactionTimeout ends a transaction its client abandoned.
	IdleInTransactionTimeout = time.Minute
)

// Open connects to the database at url with at most maxConns connections
// (0 keeps pgx's default) and checks that it answers.
func Open(ctx context.Context, url string, maxConns int32) (*Store, error) {
	return OpenWith(ctx, url, Options{MaxConns: maxConns})
}

// OpenWith connects with options and checks that the database answers.
func OpenWith(ctx context.Context, url string, o Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = ConnectTimeout
	}
	rp := cfg.ConnConfig.RuntimeParams
	for k, v := range map[string]time.Duration{"statement_timeout": StatementTimeout,
		"idle_in_transaction_session_timeout": IdleInTransactionTimeout} {
		if _, set := rp[k]; !set {
			rp[k] = fmt.Sprint(v.Milliseconds())
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("ping database: %w", err)
	}
	return &Store{pool: pool, log: o.Logger, optOutKey: o.OptOutKey}, nil
}

// Pool exposes the pool for benchmarks and tests.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool.
func (s *Store) Close() {
	s.notifyWG.Wait()
	s.pool.Close()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.pool.Ping(ctx) }

// mapErr turns driver errors into domain errors.
func mapErr(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return recovery.ErrNotFound
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		return fmt.Errorf("%w: %s", recovery.ErrConflict, pgErr.ConstraintName)
	}
	return err
}

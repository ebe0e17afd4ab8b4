package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// PendingEvent is a committed event not yet delivered to its workflow.
type PendingEvent struct {
	Seq      int64
	OrderID  string
	Attempts int
	Event    recovery.Event
}

// claimPending leases the oldest events that are due: pending, not dead,
// and not leased or backing off. The lease is committed at once, so no
// transaction stays open while the relay talks to Temporal; a relay that
// dies leaves its events to the next claim after the lease.
const claimPending = `UPDATE events SET next_attempt_at = now() + $2::interval
WHERE seq IN (
  SELECT seq FROM events
  WHERE relayed_at IS NULL AND dead_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
  ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING seq, source, id, type, order_id, occurred_at, subject, data, attempts, trace_parent`

// Claim is a batch of events leased by one relay until it reports their
// Outcome with Done (or the lease runs out).
type Claim struct {
	st     *Store
	Events []PendingEvent
}

// ClaimPending leases up to limit due events, oldest first, for lease.
func (s *Store) ClaimPending(ctx context.Context, limit int, lease time.Duration) (*Claim, error) {
	rows, err := s.pool.Query(ctx, claimPending, limit, lease)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	c := &Claim{st: s}
	var p PendingEvent
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&p.Seq, &p.Event.Source, &p.Event.ID, &p.Event.Type,
		&p.OrderID, &p.Event.Time, &p.Event.Subject, &data, &p.Attempts, &p.Event.TraceParent}, func() error {
		p.Event.Data = json.RawMessage(append([]byte(nil), data...))
		c.Events = append(c.Events, p)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	slices.SortFunc(c.Events, func(a, b PendingEvent) int { return int(a.Seq - b.Seq) })
	return c, nil
}

// Quarantined is an event that can never be delivered, and why.
type Quarantined struct {
	Seq int64
	// Kind names the failure in a word or two, e.g. "invalid-argument";
	// Note says it in plain words. Neither holds personal data.
	Kind, Note string
}

// Outcome is what became of a claim's events. Events named nowhere keep
// their lease and are claimed again when it runs out.
type Outcome struct {
	// Relayed reached their workflow.
	Relayed []int64
	// Skipped went nowhere, for SkipNote (no order to route them to).
	Skipped  []int64
	SkipNote string
	// Retry failed for a reason that may pass (Temporal unreachable):
	// each is tried again after a backoff that grows with its attempts.
	Retry []int64
	// Dead can never be delivered: they are quarantined.
	Dead []Quarantined
	// Release did not reach Temporal at all: they go back to the queue
	// without counting an attempt.
	Release []int64
}

// RetryBackoff is the wait before attempt n+1 of an event whose attempt n
// failed: a second, doubling to five minutes.
func RetryBackoff(attempts int) time.Duration {
	d := time.Second
	for range min(attempts, 9) {
		d *= 2
	}
	return min(d, 5*time.Minute)
}

// Done records the outcome in one short transaction. Side work that only
// follows from delivered events (stock levels, scans waiting for their
// shipment) runs in savepoints: it can fail without undoing the record of
// what was delivered.
func (c *Claim) Done(ctx context.Context, o Outcome) error {
	tx, err := c.st.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("record relay outcome: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	if len(o.Relayed) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE events SET relayed_at = now(), next_attempt_at = NULL WHERE seq = ANY($1)`, o.Relayed); err != nil {
			return fmt.Errorf("mark relayed: %w", err)
		}
	}
	if len(o.Skipped) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE events SET relayed_at = now(), next_attempt_at = NULL, relay_note = $2 WHERE seq = ANY($1)`,
			o.Skipped, o.SkipNote); err != nil {
			return fmt.Errorf("mark skipped: %w", err)
		}
	}
	if len(o.Retry) > 0 {
		attempts := map[int64]int{}
		for _, p := range c.Events {
			attempts[p.Seq] = p.Attempts
		}
		waits := make([]string, len(o.Retry))
		for i, seq := range o.Retry {
			waits[i] = RetryBackoff(attempts[seq]).String()
		}
		if _, err := tx.Exec(ctx, `UPDATE events e SET attempts = e.attempts + 1, next_attempt_at = now() + r.wait::interval
FROM unnest($1::bigint[], $2::text[]) AS r(seq, wait) WHERE e.seq = r.seq`, o.Retry, waits); err != nil {
			return fmt.Errorf("mark for retry: %w", err)
		}
	}
	if len(o.Release) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE events SET next_attempt_at = now() WHERE seq = ANY($1)`, o.Release); err != nil {
			return fmt.Errorf("release: %w", err)
		}
	}
	if len(o.Dead) > 0 {
		seqs, kinds, notes := make([]int64, len(o.Dead)), make([]string, len(o.Dead)), make([]string, len(o.Dead))
		for i, d := range o.Dead {
			seqs[i], kinds[i], notes[i] = d.Seq, d.Kind, d.Note
		}
		if _, err := tx.Exec(ctx, `UPDATE events e SET dead_at = now(), attempts = e.attempts + 1, next_attempt_at = NULL,
  error_kind = d.kind, relay_note = d.note
FROM unnest($1::bigint[], $2::text[], $3::text[]) AS d(seq, kind, note) WHERE e.seq = d.seq`, seqs, kinds, notes); err != nil {
			return fmt.Errorf("quarantine: %w", err)
		}
	}
	delivered := append(slices.Clone(o.Relayed), o.Skipped...)
	if len(o.Relayed) > 0 {
		if err := c.st.sideWork(ctx, tx, "adopt orphan scans", adoptOrphans, o.Relayed); err != nil {
			return err
		}
	}
	if c.hasInventory() && len(delivered) > 0 {
		if err := c.st.sideWork(ctx, tx, "apply stock changes", applyStock, delivered); err != nil {
			return err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit relay outcome: %w", err)
	}
	return nil
}

// sideWork runs one statement over the delivered events in a savepoint. A
// data error (a value the statement cannot take, such as a key too long
// for its index) is narrowed down by running the statement event by event,
// each in a savepoint of its own: the events it cannot take are logged
// and left out, the others still count. Any other error fails the outcome,
// to be recorded again.
func (s *Store) sideWork(ctx context.Context, tx pgx.Tx, what, sql string, seqs []int64) error {
	err := savepoint(ctx, tx, sql, seqs)
	if err == nil {
		return nil
	}
	if !IsDataError(err) {
		return fmt.Errorf("%s: %w", what, err)
	}
	for _, seq := range seqs {
		if err := savepoint(ctx, tx, sql, []int64{seq}); err != nil {
			if !IsDataError(err) {
				return fmt.Errorf("%s: %w", what, err)
			}
			s.log.Warn("relay side work left out an event: a value it cannot take", "what", what, "seq", seq, "sqlstate", sqlState(err))
		}
	}
	return nil
}

func savepoint(ctx context.Context, tx pgx.Tx, sql string, seqs []int64) error {
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, sql, seqs); err != nil {
		sp.Rollback(ctx) //nolint:errcheck
		return err
	}
	return sp.Commit(ctx)
}

// IsDataError reports whether err is Postgres refusing a value (SQLSTATE
// class 22, e.g. too long for an index, invalid text, out of range):
// trying the same again cannot succeed.
func IsDataError(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && len(pgErr.Code) == 5 && pgErr.Code[:2] == "22" ||
		errors.As(err, &pgErr) && pgErr.Code == "54000" // program_limit_exceeded: index row size
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// adoptOrphans gives carrier scans that named only a tracking number (and
// so reached no order) to the shipment that now names it, and queues them
// again: a carrier webhook that beats the shop's shipment is not lost.
const adoptOrphans = `UPDATE events o SET order_id = s.order_id, subject = 'order/' || s.order_id,
  data = o.data || jsonb_build_object('order_id', s.order_id, 'shipment_id', s.data->>'shipment_id'),
  relayed_at = NULL, relay_note = '', next_attempt_at = NULL
FROM events s
WHERE s.seq = ANY($1) AND s.type = 'shipment.created' AND s.order_id <> '' AND s.data ? 'tracking_number'
  AND o.type = 'shipment.tracking' AND o.order_id = '' AND o.data->>'tracking_number' = s.data->>'tracking_number'`

// applyStock keeps the catalog's stock at what the last relayed
// inventory.changed of each SKU said was available; a SKU the catalog does
// not know yet is added with no category (no substitute comes from it).
// Malformed payloads are skipped here rather than failing the relay.
const applyStock = `INSERT INTO products (sku, stock)
SELECT DISTINCT ON (upper(data->>'sku')) upper(data->>'sku'), (data->>'available')::bigint FROM events
WHERE seq = ANY($1) AND type = 'inventory.changed' AND coalesce(data->>'sku', '') <> ''
  AND (data->>'available') ~ '^-?[0-9]{1,18}$'
ORDER BY upper(data->>'sku'), seq DESC
ON CONFLICT (sku) DO UPDATE SET stock = EXCLUDED.stock, updated_at = now()`

func (c *Claim) hasInventory() bool {
	for _, p := range c.Events {
		if p.Event.Type == recovery.TypeInventoryChanged {
			return true
		}
	}
	return false
}

// DeadEvents lists quarantined events, oldest first, after seq (paging).
func (s *Store) DeadEvents(ctx context.Context, after int64, limit int) ([]recovery.DeadEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT seq, source, id, type, order_id, received_at, attempts, error_kind, relay_note, dead_at
FROM events WHERE dead_at IS NOT NULL AND seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("dead events: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (recovery.DeadEvent, error) {
		var d recovery.DeadEvent
		err := r.Scan(&d.Seq, &d.Source, &d.ID, &d.Type, &d.OrderID, &d.ReceivedAt, &d.Attempts, &d.ErrorKind, &d.Note, &d.DeadAt)
		return d, err
	})
	if err != nil {
		return nil, fmt.Errorf("dead events: %w", err)
	}
	return out, nil
}

// Requeue puts quarantined events back in the queue: the given ones, or
// every one when seqs is empty (their attempts keep counting). It returns
// how many it requeued.
func (s *Store) Requeue(ctx context.Context, seqs []int64) (int64, error) {
	const requeue = `UPDATE events SET dead_at = NULL, next_attempt_at = NULL, error_kind = '', relay_note = ''
WHERE dead_at IS NOT NULL AND (cardinality($1::bigint[]) = 0 OR seq = ANY($1))`
	if seqs == nil {
		seqs = []int64{}
	}
	tag, err := s.pool.Exec(ctx, requeue, seqs)
	if err != nil {
		return 0, fmt.Errorf("requeue: %w", err)
	}
	if tag.RowsAffected() > 0 {
		s.wake()
	}
	return tag.RowsAffected(), nil
}

// RelayBacklog is how far the relay is behind: events waiting (not dead),
// how old the oldest of them is, and how many are quarantined.
type RelayBacklog struct {
	Pending int64
	Oldest  time.Duration
	Dead    int64
}

// Backlog measures the relay's backlog.
func (s *Store) Backlog(ctx context.Context) (RelayBacklog, error) {
	var b RelayBacklog
	var oldest *time.Time
	var now time.Time
	err := s.pool.QueryRow(ctx, `SELECT
  (SELECT count(*) FROM events WHERE relayed_at IS NULL AND dead_at IS NULL),
  (SELECT min(received_at) FROM events WHERE relayed_at IS NULL AND dead_at IS NULL),
  (SELECT count(*) FROM events WHERE dead_at IS NOT NULL), now()`).Scan(&b.Pending, &oldest, &b.Dead, &now)
	if err != nil {
		return b, fmt.Errorf("relay backlog: %w", err)
	}
	if oldest != nil {
		b.Oldest = max(now.Sub(*oldest), 0)
	}
	return b, nil
}

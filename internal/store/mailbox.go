package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MailItem is a signal or an update kept for a workflow that could not be
// reached when it was sent.
type MailItem struct {
	ID         int64
	WorkflowID string
	// Kind is "signal" or "update"; Name the signal's or update's name.
	Kind, Name string
	// RequestID identifies it: the update's ID, or the signal's dedupe key.
	RequestID string
	Payload   json.RawMessage
	Attempts  int
	CreatedAt time.Time
}

// Enqueue keeps an item for later delivery; the same RequestID twice is
// kept once.
func (s *Store) Enqueue(ctx context.Context, m MailItem) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO workflow_mailbox (workflow_id, kind, name, request_id, payload)
VALUES ($1, $2, $3, $4, $5) ON CONFLICT (request_id) DO NOTHING`, m.WorkflowID, m.Kind, m.Name, m.RequestID, m.Payload)
	if err != nil {
		return fmt.Errorf("keep for %s: %w", m.WorkflowID, err)
	}
	return nil
}

// ClaimMail leases up to limit undelivered items that are due, oldest
// first.
func (s *Store) ClaimMail(ctx context.Context, limit int, lease time.Duration) ([]MailItem, error) {
	rows, err := s.pool.Query(ctx, `UPDATE workflow_mailbox SET next_attempt_at = now() + $2::interval
WHERE id IN (SELECT id FROM workflow_mailbox WHERE delivered_at IS NULL AND (next_attempt_at IS NULL OR next_attempt_at <= now())
  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING id, workflow_id, kind, name, request_id, payload, attempts, created_at`, limit, lease)
	if err != nil {
		return nil, fmt.Errorf("claim mailbox: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (MailItem, error) {
		var m MailItem
		err := r.Scan(&m.ID, &m.WorkflowID, &m.Kind, &m.Name, &m.RequestID, &m.Payload, &m.Attempts, &m.CreatedAt)
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("claim mailbox: %w", err)
	}
	return items, nil
}

// MailDelivered records an item's outcome (delivered, or refused by the
// workflow: either way it is done).
func (s *Store) MailDelivered(ctx context.Context, id int64, outcome string) error {
	_, err := s.pool.Exec(ctx, `UPDATE workflow_mailbox SET delivered_at = now(), attempts = attempts + 1, outcome = $2
WHERE id = $1`, id, outcome)
	return err
}

// MailRetry tries an item again after wait.
func (s *Store) MailRetry(ctx context.Context, id int64, wait time.Duration) error {
	_, err := s.pool.Exec(ctx, `UPDATE workflow_mailbox SET attempts = attempts + 1, next_attempt_at = now() + $2::interval
WHERE id = $1`, id, wait)
	return err
}

// MailWaiting counts the items not yet delivered.
func (s *Store) MailWaiting(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM workflow_mailbox WHERE delivered_at IS NULL`).Scan(&n)
	return n, err
}

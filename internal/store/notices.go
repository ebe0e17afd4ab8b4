package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notice is something the console tells one person by email: an incident
// and why it waits for them.
type Notice struct {
	ID         int64
	IncidentID string
	// Reason is approval, escalated, attention or person:<step>.
	Reason    string
	UserName  string
	CreatedAt time.Time
	Attempts  int
}

// QueueNotices records notices, each (incident, reason, person) once
// however often it is queued; it returns how many were new.
func (s *Store) QueueNotices(ctx context.Context, ns []Notice) (int, error) {
	if len(ns) == 0 {
		return 0, nil
	}
	inc, reason, user := make([]string, len(ns)), make([]string, len(ns)), make([]string, len(ns))
	for i, n := range ns {
		inc[i], reason[i], user[i] = n.IncidentID, n.Reason, n.UserName
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO console_notices (incident_id, reason, user_name)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[])
		ON CONFLICT (incident_id, reason, user_name) DO NOTHING`, inc, reason, user)
	if err != nil {
		return 0, fmt.Errorf("queue notices: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// NoticeOutcome is what became of a person's notices: sent, obsolete (no
// longer waiting), or "" (not sent: tried again later, and given up as
// failed after maxAttempts).
type NoticeOutcome map[int64]string

// SendNotices hands each person's unsent notices (up to limit in all) to
// send, holding them so that another process sending at the same time
// skips them, and records what send says became of each.
func (s *Store) SendNotices(ctx context.Context, limit, maxAttempts int, send func(user string, ns []Notice) NoticeOutcome) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, incident_id, reason, user_name, created_at, attempts FROM console_notices
			WHERE sent_at IS NULL ORDER BY user_name, id LIMIT $1 FOR UPDATE SKIP LOCKED`, limit)
		if err != nil {
			return err
		}
		var all []Notice
		var n Notice
		if _, err := pgx.ForEachRow(rows, []any{&n.ID, &n.IncidentID, &n.Reason, &n.UserName, &n.CreatedAt, &n.Attempts}, func() error {
			all = append(all, n)
			return nil
		}); err != nil {
			return fmt.Errorf("read notices: %w", err)
		}
		for start := 0; start < len(all); {
			end := start
			for end < len(all) && all[end].UserName == all[start].UserName {
				end++
			}
			outcome := send(all[start].UserName, all[start:end])
			for _, n := range all[start:end] {
				o := outcome[n.ID]
				if o == "" && n.Attempts+1 >= maxAttempts {
					o = "failed"
				}
				if o == "" {
					_, err = tx.Exec(ctx, `UPDATE console_notices SET attempts = attempts + 1 WHERE id = $1`, n.ID)
				} else {
					_, err = tx.Exec(ctx, `UPDATE console_notices SET attempts = attempts + 1, sent_at = now(), outcome = $2 WHERE id = $1`, n.ID, o)
				}
				if err != nil {
					return fmt.Errorf("record notice: %w", err)
				}
			}
			start = end
		}
		return nil
	})
}

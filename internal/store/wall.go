package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// WowMoment is a customer's WOW, as the team's wall shows it: no more of
// the customer than their first name and their city.
type WowMoment struct {
	IncidentID, OrderID string
	Kind                recovery.Kind
	Remedy              string
	At                  time.Time
	Via, Comment        string
	FirstName, City     string
	StarredAt           *time.Time
	StarredBy           string
}

// WowMoments lists the WOW answers given in [from, to), newest first (at
// most limit), only the starred ones when starred is set.
func (s *Store) WowMoments(ctx context.Context, from, to time.Time, starred bool, limit int) ([]WowMoment, error) {
	rows, err := s.pool.Query(ctx, `SELECT i.id, i.order_id, i.kind, coalesce(o.remedy, ''), i.survey_at, i.survey_via, i.survey_comment,
		i.survey_starred_at, i.survey_starred_by
		FROM incidents i LEFT JOIN offers o ON o.incident_id = i.id
		WHERE i.survey = 'wow' AND i.survey_at >= $1 AND i.survey_at < $2 AND (NOT $3 OR i.survey_starred_at IS NOT NULL)
		ORDER BY i.survey_at DESC, i.id LIMIT $4`, from, to, starred, limit)
	if err != nil {
		return nil, fmt.Errorf("read wow moments: %w", err)
	}
	var out []WowMoment
	var m WowMoment
	var kind string
	if _, err := pgx.ForEachRow(rows, []any{&m.IncidentID, &m.OrderID, &kind, &m.Remedy, &m.At, &m.Via, &m.Comment, &m.StarredAt,
		&m.StarredBy}, func() error {
		m.Kind = recovery.Kind(kind)
		out = append(out, m)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read wow moments: %w", err)
	}
	for i := range out {
		oc, err := s.OrderContact(ctx, out[i].OrderID)
		if err != nil && !errors.Is(err, recovery.ErrNotFound) {
			return nil, err
		}
		if first, _, _ := strings.Cut(strings.TrimSpace(oc.Customer.Name), " "); first != "" {
			out[i].FirstName = first
		}
		out[i].City = oc.Address.City
	}
	return out, nil
}

// StarMoment stars a WOW moment for the weekly digest (or takes the star
// away); an incident without a WOW is recovery.ErrNotFound.
func (s *Store) StarMoment(ctx context.Context, incidentID, by string, star bool) error {
	q := `UPDATE incidents SET survey_starred_at = now(), survey_starred_by = $2 WHERE id = $1 AND survey = 'wow'`
	if !star {
		q = `UPDATE incidents SET survey_starred_at = NULL, survey_starred_by = '' WHERE id = $1 AND survey = 'wow' AND $2 = $2`
	}
	tag, err := s.pool.Exec(ctx, q, incidentID, by)
	if err != nil {
		return fmt.Errorf("star a moment: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("no WOW for incident %q: %w", incidentID, recovery.ErrNotFound)
	}
	return nil
}

// SendDigestOnce runs send for an ISO week's digest unless it was sent,
// holding the week so that another process does not send it too; when
// send fails, the week stays unsent.
func (s *Store) SendDigestOnce(ctx context.Context, week string, send func() error) (bool, error) {
	sent := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO weekly_digests (week) VALUES ($1) ON CONFLICT (week) DO NOTHING`, week)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if err := send(); err != nil {
			return err
		}
		sent = true
		return nil
	})
	return sent, err
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// ReserveBudget reserves value of a currency's daily budget (cap, minor
// units) for an incident's automatic approval, atomically: however many
// incidents reserve at once, the day's reservations never pass the cap.
// It reports whether the reservation holds and what the day had reserved
// before it. Reserving again for the same incident returns the first
// reservation.
func (s *Store) ReserveBudget(ctx context.Context, incidentID, currency string, day time.Time, value, budget int64) (bool, int64, error) {
	var ok bool
	var before int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO budget_reservations (incident_id, currency, day, value_minor)
VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id) DO NOTHING`, incidentID, currency, day, value)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 { // reserved before: the same answer
			ok = true
			return tx.QueryRow(ctx, `SELECT coalesce((SELECT reserved FROM budget_days WHERE currency = $1 AND day = $2), 0)`,
				currency, day).Scan(&before)
		}
		var after int64
		err = tx.QueryRow(ctx, `INSERT INTO budget_days (currency, day, reserved) SELECT $1::text, $2::date, $3::bigint WHERE $3::bigint <= $4::bigint
ON CONFLICT (currency, day) DO UPDATE SET reserved = budget_days.reserved + EXCLUDED.reserved
  WHERE budget_days.reserved + EXCLUDED.reserved <= $4::bigint
RETURNING reserved`, currency, day, value, budget).Scan(&after)
		switch {
		case errors.Is(err, pgx.ErrNoRows): // over the cap: nothing reserved
			if err := tx.QueryRow(ctx, `SELECT coalesce((SELECT reserved FROM budget_days WHERE currency = $1 AND day = $2), 0)`,
				currency, day).Scan(&before); err != nil {
				return err
			}
			return errOverBudget
		case err != nil:
			return err
		}
		ok, before = true, after-value
		return nil
	})
	if errors.Is(err, errOverBudget) {
		return false, before, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("reserve budget: %w", err)
	}
	return ok, before, nil
}

var errOverBudget = errors.New("over budget")

// ReleaseBudget gives an incident's reservation back; releasing what was
// never reserved, or twice, is a no-op.
func (s *Store) ReleaseBudget(ctx context.Context, incidentID string) error {
	_, err := s.pool.Exec(ctx, `WITH r AS (DELETE FROM budget_reservations WHERE incident_id = $1
  RETURNING currency, day, value_minor)
UPDATE budget_days b SET reserved = b.reserved - r.value_minor FROM r WHERE b.currency = r.currency AND b.day = r.day`, incidentID)
	if err != nil {
		return fmt.Errorf("release budget of %s: %w", incidentID, err)
	}
	return nil
}

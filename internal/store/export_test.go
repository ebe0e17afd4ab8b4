package store

import (
	"context"
	"time"
)

// SetOfferTimes backdates an offer for tests: when it was made and
// approved (zero: not approved).
func (s *Store) SetOfferTimes(ctx context.Context, incidentID string, made, approved time.Time) error {
	var at *time.Time
	if !approved.IsZero() {
		at = &approved
	}
	_, err := s.pool.Exec(ctx, `UPDATE offers SET created_at = $2, approved_at = $3 WHERE incident_id = $1`, incidentID, made, at)
	return err
}

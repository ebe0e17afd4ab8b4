package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// OptOut stores an opt-out of a channel for an address; added reports
// whether it is new.
func (s *Store) OptOut(ctx context.Context, channel, address, source string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `INSERT INTO opt_outs (channel, address, source) VALUES ($1, $2, $3)
		ON CONFLICT (channel, address) DO NOTHING`, channel, recovery.NormalizeAddress(channel, address), source)
	if err != nil {
		return false, fmt.Errorf("opt out: %w", mapErr(err))
	}
	return tag.RowsAffected() == 1, nil
}

// OptIn removes an opt-out; removed reports whether there was one.
func (s *Store) OptIn(ctx context.Context, channel, address string) (bool, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM opt_outs WHERE channel = $1 AND address IN ($2, $3)`,
		channel, recovery.NormalizeAddress(channel, address), s.hashAddress(channel, address))
	if err != nil {
		return false, fmt.Errorf("opt in: %w", mapErr(err))
	}
	return tag.RowsAffected() == 1, nil
}

// OptedOut reports whether the address opted out of the channel.
func (s *Store) OptedOut(ctx context.Context, channel, address string) (bool, error) {
	var out bool
	// An erased customer's opt-out is kept as a keyed hash.
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM opt_outs WHERE channel = $1 AND address IN ($2, $3))`,
		channel, recovery.NormalizeAddress(channel, address), s.hashAddress(channel, address)).Scan(&out)
	if err != nil {
		return false, fmt.Errorf("read opt-outs: %w", mapErr(err))
	}
	return out, nil
}

// SetContactStatus changes a ledger row's status (failed, skipped,
// unconfirmed) without touching what was sent.
func (s *Store) SetContactStatus(ctx context.Context, incidentID string, step int, channel, status, detail string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE contacts SET status = $4, detail = $5, updated_at = now()
		WHERE incident_id = $1 AND step = $2 AND channel = $3`, incidentID, step, channel, status, detail)
	if err != nil {
		return fmt.Errorf("contact status for %s: %w", incidentID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("contact %s step %d: %w", incidentID, step, recovery.ErrNotFound)
	}
	return nil
}

// RecordContactEvent stores the latest news of a ledger step. A provider
// id it carries fills one the ledger lacks (a step left unconfirmed). It
// returns the incident's workflow id; a step that does not exist is
// recovery.ErrNotFound.
func (s *Store) RecordContactEvent(ctx context.Context, ev recovery.ContactEvent) (workflowID string, err error) {
	err = s.pool.QueryRow(ctx, `UPDATE contacts c SET outcome = $4, detail = $5, updated_at = now(),
		  provider_id = CASE WHEN c.provider_id = '' THEN $6 ELSE c.provider_id END
		FROM incidents i
		WHERE c.incident_id = $1 AND c.step = $2 AND c.channel = $3 AND i.id = c.incident_id
		  AND NOT (c.outcome = 'responded' AND $4 <> 'responded')
		RETURNING i.workflow_id`, ev.IncidentID, ev.Step, ev.Channel, ev.Outcome, ev.Detail, ev.ProviderID).Scan(&workflowID)
	if errors.Is(err, pgx.ErrNoRows) {
		// Either no such step, or a late "delivered" after a response,
		// which changes nothing.
		err = s.pool.QueryRow(ctx, `SELECT i.workflow_id FROM contacts c JOIN incidents i ON i.id = c.incident_id
			WHERE c.incident_id = $1 AND c.step = $2 AND c.channel = $3`, ev.IncidentID, ev.Step, ev.Channel).Scan(&workflowID)
		if errors.Is(err, pgx.ErrNoRows) {
			return "", fmt.Errorf("contact %s step %d %s: %w", ev.IncidentID, ev.Step, ev.Channel, recovery.ErrNotFound)
		}
	}
	if err != nil {
		return "", fmt.Errorf("record contact event: %w", mapErr(err))
	}
	return workflowID, nil
}

// LatestContactTo returns the latest step sent to an address on a channel
// (for SMS replies, which name no incident), preferring an incident that
// waits for the customer's choice. No such step is recovery.ErrNotFound.
func (s *Store) LatestContactTo(ctx context.Context, channel, address string) (recovery.ContactRef, error) {
	var r recovery.ContactRef
	err := s.pool.QueryRow(ctx, `SELECT c.incident_id, i.workflow_id, c.step, i.status, c.locale
		FROM contacts c JOIN incidents i ON i.id = c.incident_id
		WHERE c.channel = $1 AND c.to_addr = $2 AND c.status IN ('sent', 'unconfirmed')
		ORDER BY (i.status = 'awaiting_choice') DESC, c.created_at DESC LIMIT 1`,
		channel, recovery.NormalizeAddress(channel, address)).Scan(&r.IncidentID, &r.WorkflowID, &r.Step, &r.IncidentStatus, &r.Locale)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, fmt.Errorf("no %s contact to that address: %w", channel, recovery.ErrNotFound)
	}
	if err != nil {
		return r, fmt.Errorf("latest contact: %w", mapErr(err))
	}
	return r, nil
}

// SaveSurvey stores the customer's answer with the incident (the latest
// answer counts).
func (s *Store) SaveSurvey(ctx context.Context, incidentID string, sv recovery.Survey) error {
	tag, err := s.pool.Exec(ctx, `UPDATE incidents SET survey = $2, survey_via = $3, survey_at = $4,
		survey_comment = CASE WHEN $2 = 'wow' THEN survey_comment ELSE '' END WHERE id = $1`,
		incidentID, sv.Answer, sv.Via, sv.At)
	if err != nil {
		return fmt.Errorf("save survey: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("incident %q: %w", incidentID, recovery.ErrNotFound)
	}
	return nil
}

// MaxSurveyComment bounds what a customer tells us more, in characters.
const MaxSurveyComment = 1000

// SaveSurveyComment keeps what a customer who answered WOW told us more
// (the latest counts); an incident whose answer is not WOW is
// recovery.ErrConflict.
func (s *Store) SaveSurveyComment(ctx context.Context, incidentID, comment string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE incidents SET survey_comment = $2 WHERE id = $1 AND survey = 'wow'`, incidentID, comment)
	if err != nil {
		return fmt.Errorf("save survey comment: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("incident %q without a WOW: %w", incidentID, recovery.ErrConflict)
	}
	return nil
}

// CapturedMessages returns the latest captured messages, newest first.
func (s *Store) CapturedMessages(ctx context.Context, limit int) ([]recovery.CapturedMessage, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, channel, to_addr, subject, text_body, html_body, idempotency_key, created_at
		FROM captured_messages ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("list captured: %w", mapErr(err))
	}
	var m recovery.CapturedMessage
	var out []recovery.CapturedMessage
	_, err = pgx.ForEachRow(rows, []any{&m.ID, &m.Channel, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Key, &m.CreatedAt}, func() error {
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list captured: %w", err)
	}
	return out, nil
}

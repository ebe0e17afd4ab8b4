package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

const upsertIncident = `INSERT INTO incidents (id, order_id, shipment_id, kind, status, detected_at, evidence, reason, workflow_id, customer_key)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, updated_at = now()`

const closeIncident = `UPDATE incidents SET status = $2, resolution = $3, closed_at = $4, updated_at = now()
WHERE id = $1`

// CloseIncident records how an incident ended.
func (s *Store) CloseIncident(ctx context.Context, id, status, resolution string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, closeIncident, id, status, resolution, at)
	if err != nil {
		return fmt.Errorf("close incident %s: %w", id, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("close incident %s: %w", id, recovery.ErrNotFound)
	}
	return nil
}

// SaveDecision records the policy's decision on an incident.
func (s *Store) SaveDecision(ctx context.Context, id string, d recovery.RemedyDecision) error {
	raw, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("save decision for %s: %w", id, err)
	}
	tag, err := s.pool.Exec(ctx, `UPDATE incidents SET decision = $2, policy_version = $3, updated_at = now() WHERE id = $1`,
		id, raw, d.PolicyVersion)
	if err != nil {
		return fmt.Errorf("save decision for %s: %w", id, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("save decision for %s: %w", id, recovery.ErrNotFound)
	}
	return nil
}

const customerHistory = `SELECT
  (SELECT count(*) FROM incidents WHERE customer_key = $1 AND id <> $4
     AND detected_at > $3::timestamptz - interval '90 days' AND detected_at <= $3),
  (SELECT coalesce(sum(o.value_minor), 0) FROM offers o JOIN incidents i ON i.id = o.incident_id
     WHERE i.customer_key = $1 AND i.id <> $4 AND o.status IN ('approved', 'applied') AND o.currency = $2
       AND o.created_at > $3::timestamptz - interval '30 days' AND o.created_at <= $3)`

// CustomerHistory counts a customer's other incidents in the 90 days
// before at, and sums what they were given in the 30 days before it.
func (s *Store) CustomerHistory(ctx context.Context, customerKey, currency string, at time.Time, exceptIncident string) (recovery.CustomerHistory, error) {
	var h recovery.CustomerHistory
	if customerKey == "" {
		return h, nil
	}
	err := s.pool.QueryRow(ctx, customerHistory, customerKey, currency, at, exceptIncident).Scan(&h.Incidents90d, &h.CompensatedMinor30d)
	if err != nil {
		return h, fmt.Errorf("customer history: %w", err)
	}
	return h, nil
}

// UpsertIncident creates the incident or, if it exists, updates its status.
func (s *Store) UpsertIncident(ctx context.Context, inc recovery.Incident) error {
	ev := inc.Evidence
	if ev == nil {
		ev = []string{}
	}
	evidence, _ := json.Marshal(ev)
	_, err := s.pool.Exec(ctx, upsertIncident, inc.ID, inc.OrderID, inc.ShipmentID, string(inc.Kind),
		inc.Status, inc.DetectedAt, evidence, inc.Reason, inc.WorkflowID, inc.CustomerKey)
	if err != nil {
		return fmt.Errorf("upsert incident %s: %w", inc.ID, mapErr(err))
	}
	return nil
}

// upsertOffer keeps the first approval time: the daily budget counts an
// offer on the day it was approved. Workflows never hold a code, so an
// offer saved without one takes the code issued for its remedy, or keeps
// the one it had while its remedy stays the same.
const upsertOffer = `INSERT INTO offers (incident_id, remedy, value_minor, currency, status, code, approved_by, details, approved_at)
VALUES ($1, $2, $3, $4, $5,
  coalesce(nullif($6, ''), (SELECT c.code FROM issued_codes c WHERE c.incident_id = $1 AND c.remedy = $2), ''),
  $7, $8, CASE WHEN $5 IN ('approved', 'applied') THEN now() END)
ON CONFLICT (incident_id) DO UPDATE SET remedy = EXCLUDED.remedy, value_minor = EXCLUDED.value_minor,
  currency = EXCLUDED.currency, status = EXCLUDED.status,
  code = CASE WHEN EXCLUDED.code = '' AND EXCLUDED.remedy = offers.remedy THEN offers.code ELSE EXCLUDED.code END,
  approved_by = EXCLUDED.approved_by, details = EXCLUDED.details,
  approved_at = CASE WHEN EXCLUDED.status IN ('approved', 'applied') THEN coalesce(offers.approved_at, now()) END,
  updated_at = now()`

// SaveOffer records or replaces the offer of an incident.
func (s *Store) SaveOffer(ctx context.Context, incidentID string, o recovery.Offer) error {
	details, err := json.Marshal(o)
	if err != nil {
		return fmt.Errorf("save offer for %s: %w", incidentID, err)
	}
	_, err = s.pool.Exec(ctx, upsertOffer, incidentID, string(o.Remedy), o.ValueMinor, o.Currency,
		o.Status, o.Code, o.ApprovedBy, details)
	if err != nil {
		return fmt.Errorf("save offer for %s: %w", incidentID, mapErr(err))
	}
	return nil
}

const beginContact = `INSERT INTO contacts (incident_id, step, channel, to_addr, subject, body, locale, status)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
ON CONFLICT (incident_id, step, channel) DO NOTHING`

const selectContact = `SELECT step, channel, to_addr, subject, body, locale, status, provider_id, sent_at
FROM contacts WHERE incident_id = $1 AND step = $2 AND channel = $3`

// BeginContact writes the ledger row for (incident, step, channel) before any
// provider request. If the row exists already it is returned with found set.
func (s *Store) BeginContact(ctx context.Context, c recovery.Contact) (recovery.Contact, bool, error) {
	tag, err := s.pool.Exec(ctx, beginContact, c.IncidentID, c.Step, c.Channel, c.To, c.Subject,
		c.Body, c.Locale, c.Status)
	if err != nil {
		return recovery.Contact{}, false, fmt.Errorf("begin contact for %s: %w", c.IncidentID, mapErr(err))
	}
	if tag.RowsAffected() == 1 {
		return c, false, nil
	}
	existing, err := scanContact(s.pool.QueryRow(ctx, selectContact, c.IncidentID, c.Step, c.Channel))
	if err != nil {
		return recovery.Contact{}, false, fmt.Errorf("read contact for %s: %w", c.IncidentID, mapErr(err))
	}
	existing.IncidentID = c.IncidentID
	return existing, true, nil
}

// FinishContact records the provider's answer for a ledger row.
func (s *Store) FinishContact(ctx context.Context, incidentID string, step int, channel, status, providerID string, sentAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE contacts SET status = $4, provider_id = $5, sent_at = $6
		WHERE incident_id = $1 AND step = $2 AND channel = $3`, incidentID, step, channel, status, providerID, sentAt)
	if err != nil {
		return fmt.Errorf("finish contact for %s: %w", incidentID, mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("finish contact for %s step %d: %w", incidentID, step, recovery.ErrNotFound)
	}
	return nil
}

func scanContact(row pgx.Row) (recovery.Contact, error) {
	var c recovery.Contact
	err := row.Scan(&c.Step, &c.Channel, &c.To, &c.Subject, &c.Body, &c.Locale, &c.Status, &c.ProviderID, &c.SentAt)
	return c, err
}

// SaveCaptured stores a message the capture adapter kept instead of sending.
// A repeated idempotency key returns the first message's id.
func (s *Store) SaveCaptured(ctx context.Context, m recovery.Message) (string, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `INSERT INTO captured_messages (channel, to_addr, subject, text_body, html_body, idempotency_key)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (idempotency_key) WHERE idempotency_key <> '' DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
		RETURNING id`, m.Channel, m.To, m.Subject, m.Text, m.HTML, m.IdempotencyKey).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("save captured message: %w", mapErr(err))
	}
	return fmt.Sprint(id), nil
}

package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// incidentRow is an incidents row joined with its offer, if any.
type incidentRow struct {
	ID, OrderID, ShipmentID, Kind, Status, Reason, WorkflowID string
	Resolution, Survey, SurveyVia                             string
	SurveyAt                                                  *time.Time
	SurveyComment                                             string
	ClosedAt                                                  *time.Time
	Decision                                                  *recovery.RemedyDecision
	DetectedAt                                                time.Time
	Evidence                                                  []string
	Remedy, Currency, OfferStatus, Code, ApprovedBy           *string
	ValueMinor                                                *int64
	OfferCreated                                              *time.Time
	OfferDetails                                              *recovery.Offer
}

const selectIncidents = `SELECT i.id, i.order_id, i.shipment_id, i.kind, i.status, i.reason, i.workflow_id,
  i.resolution, i.closed_at, i.survey, i.survey_via, i.survey_at, i.survey_comment, i.decision, i.detected_at, i.evidence, o.remedy, o.currency, o.status, o.code, o.approved_by, o.value_minor, o.created_at, o.details
FROM incidents i LEFT JOIN offers o ON o.incident_id = i.id
WHERE ($1 = '' OR i.id = $1) AND ($2 = '' OR i.order_id = $2) AND ($3 = '' OR i.status = $3) AND ($4 = '' OR i.kind = $4)
  AND ($6::timestamptz IS NULL OR i.detected_at < $6 OR (i.detected_at = $6 AND i.id > $7))
ORDER BY i.detected_at DESC, i.id LIMIT $5`

const selectContacts = `SELECT incident_id, step, channel, to_addr, subject, body, locale, status, provider_id, sent_at, outcome, detail,
  handled_at, handled_by, handled_note
FROM contacts WHERE incident_id = ANY($1) ORDER BY incident_id, step, created_at`

// ListIncidents returns incidents matching f, newest first (then by id),
// each with its offer and contacts; at most 1,000.
func (s *Store) ListIncidents(ctx context.Context, f recovery.IncidentFilter) ([]recovery.Incident, error) {
	if f.Limit <= 0 || f.Limit > 1000 {
		f.Limit = 100
	}
	return s.incidents(ctx, "", f)
}

// GetIncident returns one incident with its offer and contacts, or an error
// wrapping recovery.ErrNotFound.
func (s *Store) GetIncident(ctx context.Context, id string) (recovery.Incident, error) {
	list, err := s.incidents(ctx, id, recovery.IncidentFilter{Limit: 1})
	if err != nil {
		return recovery.Incident{}, err
	}
	if len(list) == 0 {
		return recovery.Incident{}, fmt.Errorf("incident %q: %w", id, recovery.ErrNotFound)
	}
	inc := list[0]
	rows, err := s.pool.Query(ctx, `SELECT actor, action, at, before, after, note FROM audit WHERE incident_id = $1 ORDER BY id`, id)
	if err != nil {
		return inc, fmt.Errorf("read audit of %s: %w", id, err)
	}
	var e recovery.AuditEntry
	_, err = pgx.ForEachRow(rows, []any{&e.Actor, &e.Action, &e.At, &e.Before, &e.After, &e.Note}, func() error {
		inc.Audit = append(inc.Audit, e)
		return nil
	})
	if err != nil {
		return inc, fmt.Errorf("read audit of %s: %w", id, err)
	}
	rows, err = s.pool.Query(ctx, `SELECT step, from_addr, subject, body, received_at FROM incident_replies
		WHERE incident_id = $1 ORDER BY received_at, id`, id)
	if err != nil {
		return inc, fmt.Errorf("read replies to %s: %w", id, err)
	}
	var rp recovery.Reply
	_, err = pgx.ForEachRow(rows, []any{&rp.Step, &rp.From, &rp.Subject, &rp.Body, &rp.ReceivedAt}, func() error {
		inc.Replies = append(inc.Replies, rp)
		return nil
	})
	if err != nil {
		return inc, fmt.Errorf("read replies to %s: %w", id, err)
	}
	return inc, nil
}

// SaveReply keeps a customer's email reply to an incident's step.
func (s *Store) SaveReply(ctx context.Context, incidentID string, r recovery.Reply) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO incident_replies (incident_id, step, from_addr, subject, body, received_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, incidentID, r.Step, r.From, r.Subject, r.Body, r.ReceivedAt)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23503" {
		return fmt.Errorf("incident %q: %w", incidentID, recovery.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("save reply: %w", mapErr(err))
	}
	return nil
}

func (s *Store) incidents(ctx context.Context, id string, f recovery.IncidentFilter) ([]recovery.Incident, error) {
	var afterAt *time.Time
	var afterID string
	if f.After != nil {
		afterAt, afterID = &f.After.DetectedAt, f.After.ID
	}
	rows, err := s.pool.Query(ctx, selectIncidents, id, f.OrderID, f.Status, f.Kind, f.Limit, afterAt, afterID)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	var r incidentRow
	var out []recovery.Incident
	index := map[string]int{}
	_, err = pgx.ForEachRow(rows, []any{&r.ID, &r.OrderID, &r.ShipmentID, &r.Kind, &r.Status, &r.Reason,
		&r.WorkflowID, &r.Resolution, &r.ClosedAt, &r.Survey, &r.SurveyVia, &r.SurveyAt, &r.SurveyComment, &r.Decision, &r.DetectedAt, &r.Evidence, &r.Remedy, &r.Currency, &r.OfferStatus, &r.Code,
		&r.ApprovedBy, &r.ValueMinor, &r.OfferCreated, &r.OfferDetails}, func() error {
		index[r.ID] = len(out)
		out = append(out, r.toDomain())
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	if len(out) == 0 {
		return out, nil
	}
	ids := make([]string, 0, len(out))
	for _, inc := range out {
		ids = append(ids, inc.ID)
	}
	crows, err := s.pool.Query(ctx, selectContacts, ids)
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	var c recovery.Contact
	_, err = pgx.ForEachRow(crows, []any{&c.IncidentID, &c.Step, &c.Channel, &c.To, &c.Subject, &c.Body,
		&c.Locale, &c.Status, &c.ProviderID, &c.SentAt, &c.Outcome, &c.Detail, &c.HandledAt, &c.HandledBy, &c.HandledNote}, func() error {
		i := index[c.IncidentID]
		out[i].Contacts = append(out[i].Contacts, c)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list contacts: %w", err)
	}
	return out, nil
}

func (r incidentRow) toDomain() recovery.Incident {
	inc := recovery.Incident{
		ID: r.ID, OrderID: r.OrderID, ShipmentID: r.ShipmentID, Kind: recovery.Kind(r.Kind),
		Status: r.Status, DetectedAt: r.DetectedAt, Evidence: r.Evidence, Reason: r.Reason,
		WorkflowID: r.WorkflowID, Resolution: r.Resolution, ClosedAt: r.ClosedAt, Decision: r.Decision, Contacts: []recovery.Contact{},
	}
	if inc.Evidence == nil {
		inc.Evidence = []string{}
	}
	if r.Survey != "" && r.SurveyAt != nil {
		inc.Survey = &recovery.Survey{Answer: r.Survey, Via: r.SurveyVia, At: *r.SurveyAt, Comment: r.SurveyComment}
	}
	if r.Remedy != nil {
		o := recovery.Offer{}
		if r.OfferDetails != nil {
			o = *r.OfferDetails
		}
		o.Remedy, o.Currency, o.Status, o.Code = recovery.Remedy(*r.Remedy), *r.Currency, *r.OfferStatus, *r.Code
		o.ApprovedBy, o.ValueMinor, o.CreatedAt = *r.ApprovedBy, *r.ValueMinor, *r.OfferCreated
		inc.Offer = &o
	}
	return inc
}

package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// PastIncident is an incident with what was offered and the order it was
// about, for replaying a policy over history.
type PastIncident struct {
	Incident recovery.Incident
	// Offered is nil when nothing was offered.
	Offered *recovery.Offer
	// Order is the latest order.created payload of the incident's order
	// (nil when the store has none).
	Order *recovery.OrderData
	// Code is a carrier_exception's code, from the scan it rests on (see
	// recovery.IncidentCode); "" for other kinds, or when that scan is not
	// stored.
	Code string
}

const selectPast = `SELECT i.id, i.order_id, i.shipment_id, i.kind, i.status, i.reason, i.detected_at, i.evidence,
  o.remedy, o.value_minor, o.currency, o.status,
  (SELECT e.data FROM events e WHERE e.type = 'order.created' AND e.order_id = i.order_id ORDER BY e.seq DESC LIMIT 1),
  (SELECT e.data FROM events e WHERE i.kind = 'carrier_exception' AND e.type = 'shipment.tracking' AND e.order_id = i.order_id
     AND i.evidence ? e.id ORDER BY e.seq DESC LIMIT 1)
FROM incidents i LEFT JOIN offers o ON o.incident_id = i.id
WHERE i.detected_at >= $1
ORDER BY i.detected_at, i.id LIMIT $2`

// PastIncidents returns incidents detected since a time, oldest first.
func (s *Store) PastIncidents(ctx context.Context, since time.Time, limit int) ([]PastIncident, error) {
	rows, err := s.pool.Query(ctx, selectPast, since, limit)
	if err != nil {
		return nil, fmt.Errorf("past incidents: %w", err)
	}
	var out []PastIncident
	var p PastIncident
	var kind string
	var remedy, currency, status *string
	var value *int64
	var order, scan []byte
	_, err = pgx.ForEachRow(rows, []any{&p.Incident.ID, &p.Incident.OrderID, &p.Incident.ShipmentID, &kind,
		&p.Incident.Status, &p.Incident.Reason, &p.Incident.DetectedAt, &p.Incident.Evidence,
		&remedy, &value, &currency, &status, &order, &scan}, func() error {
		row := p
		row.Incident.Kind = recovery.Kind(kind)
		row.Offered, row.Order, row.Code = nil, nil, ""
		if remedy != nil {
			row.Offered = &recovery.Offer{Remedy: recovery.Remedy(*remedy), ValueMinor: *value, Currency: *currency, Status: *status}
		}
		if order != nil {
			var d recovery.OrderData
			if json.Unmarshal(order, &d) == nil {
				row.Order = &d
			}
		}
		if scan != nil {
			var d recovery.TrackingData
			if json.Unmarshal(scan, &d) == nil {
				row.Code = recovery.IncidentCode(d.Status, d.ExceptionCode)
			}
		}
		out = append(out, row)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("past incidents: %w", err)
	}
	return out, nil
}

package store

import (
	"context"
	"fmt"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// The order's events that say who its customer is and where it ships,
// in event-time order: the latest word wins whatever order they came in.
const orderContactEvents = `SELECT type, data, source FROM events
WHERE order_id = $1 AND type IN ('order.created', 'order.updated', 'customer.updated')
ORDER BY occurred_at, seq`

// OrderContact reads the personal side of an order from its events.
func (s *Store) OrderContact(ctx context.Context, orderID string) (recovery.OrderContact, error) {
	rows, err := s.pool.Query(ctx, orderContactEvents, orderID)
	if err != nil {
		return recovery.OrderContact{}, fmt.Errorf("read the contact of order %s: %w", orderID, mapErr(err))
	}
	defer rows.Close()
	var oc recovery.OrderContact
	found := false
	for rows.Next() {
		var typ, source string
		var data []byte
		if err := rows.Scan(&typ, &data, &source); err != nil {
			return recovery.OrderContact{}, fmt.Errorf("read the contact of order %s: %w", orderID, err)
		}
		found = true
		oc.Apply(typ, data)
		if typ == recovery.TypeOrderCreated {
			oc.Source = source
		}
	}
	if err := rows.Err(); err != nil {
		return recovery.OrderContact{}, fmt.Errorf("read the contact of order %s: %w", orderID, mapErr(err))
	}
	if !found {
		return recovery.OrderContact{}, recovery.ErrNotFound
	}
	return oc, nil
}

// OfferCode returns the code issued for an incident's remedy: the one in
// issued_codes, else one the offer itself carries (the first default
// remedy kept its code on the offer).
func (s *Store) OfferCode(ctx context.Context, incidentID string, remedy recovery.Remedy) (string, error) {
	var code string
	err := s.pool.QueryRow(ctx, `SELECT code FROM (
  SELECT code, 0 AS pref FROM issued_codes WHERE incident_id = $1 AND remedy = $2
  UNION ALL
  SELECT code, 1 FROM offers WHERE incident_id = $1 AND remedy = $2 AND code <> '') c
ORDER BY pref LIMIT 1`, incidentID, string(remedy)).Scan(&code)
	if err != nil {
		if err = mapErr(err); err == recovery.ErrNotFound {
			return "", nil
		}
		return "", fmt.Errorf("read the code of %s: %w", incidentID, err)
	}
	return code, nil
}

// SaveOrderState keeps an order's projection (its workflow's state, which
// holds nothing personal) when its workflow completes.
func (s *Store) SaveOrderState(ctx context.Context, orderID string, state []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO order_states (order_id, state) VALUES ($1, $2)
ON CONFLICT (order_id) DO UPDATE SET state = EXCLUDED.state, finished_at = now()`, orderID, state)
	if err != nil {
		return fmt.Errorf("save the state of order %s: %w", orderID, mapErr(err))
	}
	return nil
}

// LoadOrderState returns an order's projection, nil when its workflow
// never completed.
func (s *Store) LoadOrderState(ctx context.Context, orderID string) ([]byte, error) {
	var state []byte
	err := s.pool.QueryRow(ctx, `SELECT state FROM order_states WHERE order_id = $1`, orderID).Scan(&state)
	if err != nil {
		if err = mapErr(err); err == recovery.ErrNotFound {
			return nil, nil
		}
		return nil, fmt.Errorf("load the state of order %s: %w", orderID, err)
	}
	return state, nil
}

// deliveryMemory is how long a signed delivery is remembered: longer than
// the signature's tolerance (5 minutes either way), after which a replay
// fails the timestamp check anyway.
const deliveryMemory = 15 * time.Minute

// SeenDelivery reports whether a signed delivery was stored already.
func (s *Store) SeenDelivery(ctx context.Context, id string) (bool, error) {
	var seen bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM webhook_deliveries WHERE id = $1 AND seen_at > now() - make_interval(secs => $2))`,
		id, deliveryMemory.Seconds()).Scan(&seen)
	if err != nil {
		return false, fmt.Errorf("read webhook deliveries: %w", mapErr(err))
	}
	return seen, nil
}

// RecordDelivery remembers a stored signed delivery, and forgets those
// past deliveryMemory.
func (s *Store) RecordDelivery(ctx context.Context, id string) error {
	_, err := s.pool.Exec(ctx, `WITH gone AS (DELETE FROM webhook_deliveries WHERE seen_at < now() - make_interval(secs => $2))
INSERT INTO webhook_deliveries (id) VALUES ($1) ON CONFLICT (id) DO UPDATE SET seen_at = now()`, id, deliveryMemory.Seconds())
	if err != nil {
		return fmt.Errorf("record webhook delivery: %w", mapErr(err))
	}
	return nil
}

// IncidentKind returns an incident's kind (for metrics).
func (s *Store) IncidentKind(ctx context.Context, id string) (recovery.Kind, error) {
	var kind string
	if err := s.pool.QueryRow(ctx, `SELECT kind FROM incidents WHERE id = $1`, id).Scan(&kind); err != nil {
		return "", fmt.Errorf("read the kind of %s: %w", id, mapErr(err))
	}
	return recovery.Kind(kind), nil
}

// AwaitingApproval counts the incidents waiting for a person to approve.
func (s *Store) AwaitingApproval(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM incidents WHERE status = 'awaiting_approval'`).Scan(&n)
	return n, mapErr(err)
}

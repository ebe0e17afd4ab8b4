package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// NotifyChannel is the LISTEN/NOTIFY channel that wakes the relay when new
// events commit.
const NotifyChannel = "recovery_events"

// insertEvents is one statement, so one round trip and one implicit
// transaction. It answers how many rows were new and, only when that is
// fewer than all ($9), which: when every event is new (nearly always),
// nothing more crosses the wire.
const insertEvents = `WITH ins AS (
  INSERT INTO events (source, id, type, order_id, occurred_at, subject, data, trace_parent)
  SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::jsonb[], $8::text[])
  ON CONFLICT (source, id) DO NOTHING
  RETURNING source, id)
SELECT count(*), CASE WHEN count(*) < $9 THEN array_agg(source) END, CASE WHEN count(*) < $9 THEN array_agg(id) END FROM ins`

// InsertEvents stores events in one transaction and reports, for each event,
// whether it was new (true) or a duplicate of a stored (source, id) (false).
// Within one call, a repeated key counts once: the first occurrence is new.
// After the commit it wakes the relay (see wake).
func (s *Store) InsertEvents(ctx context.Context, evs []recovery.Event) ([]bool, error) {
	n := len(evs)
	sources, ids, types := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	orders, subjects := make([]string, 0, n), make([]string, 0, n)
	times, data, traces := make([]time.Time, 0, n), make([][]byte, 0, n), make([]string, 0, n)
	for _, e := range evs {
		sources, ids, types = append(sources, e.Source), append(ids, e.ID), append(types, e.Type)
		orders, subjects = append(orders, e.Order()), append(subjects, e.Subject)
		times, data, traces = append(times, e.Time), append(data, e.Data), append(traces, e.TraceParent)
	}
	var count int
	var newSources, newIDs []string
	err := s.pool.QueryRow(ctx, insertEvents, sources, ids, types, orders, times, subjects, data, traces, n).
		Scan(&count, &newSources, &newIDs)
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	if count > 0 {
		s.wake()
	}
	out := make([]bool, n)
	if count == n {
		for i := range out {
			out[i] = true
		}
		return out, nil
	}
	inserted := make(map[recovery.EventKey]bool, count)
	for i := range newSources {
		inserted[recovery.EventKey{Source: newSources[i], ID: newIDs[i]}] = true
	}
	for i, e := range evs {
		if inserted[e.Key()] {
			out[i] = true
			delete(inserted, e.Key()) // a later repeat in the same call is a duplicate
		}
	}
	return out, nil
}

// PendingCount returns how many events wait for the relay.
func (s *Store) PendingCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE relayed_at IS NULL AND dead_at IS NULL`).Scan(&n)
	return n, err
}

// Listen blocks, calling wake once LISTEN is in place and then each time
// new events are committed, until ctx ends or the connection fails.
func (s *Store) Listen(ctx context.Context, wake func()) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "LISTEN "+NotifyChannel); err != nil {
		return err
	}
	defer func() { // bounded: a dead database must not hold up a shutdown
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		conn.Exec(uctx, "UNLISTEN "+NotifyChannel) //nolint:errcheck
	}()
	// Once now: what committed before LISTEN took effect notified nobody.
	wake()
	for {
		if _, err := conn.Conn().WaitForNotification(ctx); err != nil {
			return err
		}
		wake()
	}
}

// wake tells listening relays that events committed. NOTIFY is not sent in
// the inserting transaction: Postgres serialises the commits of notifying
// transactions, which would make concurrent group commits wait for each
// other's disk flush. Instead at most one NOTIFY is in flight, and wake-ups
// that arrive meanwhile are folded into one more. A lost wake-up (the
// process dies between commit and NOTIFY) costs only latency: relays also
// poll.
func (s *Store) wake() {
	s.notifyMu.Lock()
	defer s.notifyMu.Unlock()
	if s.notifying {
		s.notifyAgain = true
		return
	}
	s.notifying = true
	s.notifyWG.Add(1)
	go func() {
		defer s.notifyWG.Done()
		for {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, _ = s.pool.Exec(ctx, `SELECT pg_notify($1, '')`, NotifyChannel) // a failure only delays the relay until its poll
			cancel()
			s.notifyMu.Lock()
			if !s.notifyAgain {
				s.notifying = false
				s.notifyMu.Unlock()
				return
			}
			s.notifyAgain = false
			s.notifyMu.Unlock()
		}
	}()
}

const orderForTracking = `SELECT order_id, data->>'shipment_id' FROM events
WHERE type = 'shipment.created' AND data ? 'tracking_number' AND data->>'tracking_number' = $1 AND order_id <> ''
ORDER BY seq DESC LIMIT 1`

// OrderForTracking finds the order and shipment whose shipment.created
// carried a tracking number; ok is false when none did.
func (s *Store) OrderForTracking(ctx context.Context, trackingNumber string) (orderID, shipmentID string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, orderForTracking, trackingNumber).Scan(&orderID, &shipmentID)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, fmt.Errorf("find order for tracking number: %w", err)
	}
	return orderID, shipmentID, true, nil
}

// FanOutWindow is how far back OrdersWithSKU looks for orders.
const FanOutWindow = 60 * 24 * time.Hour

// ordersWithSKU finds the orders a SKU-wide stock change concerns: created
// recently with a line of the SKU, not cancelled, and with no shipment
// that already carries the SKU; newest first, since those are the ones
// still waiting.
const ordersWithSKU = `SELECT o.order_id FROM events o
WHERE o.type = 'order.created' AND o.data->'lines' @> jsonb_build_array(jsonb_build_object('sku', $1::text))
  AND o.occurred_at > $2 AND o.order_id <> ''
  AND NOT EXISTS (SELECT 1 FROM events c WHERE c.order_id = o.order_id AND c.type = 'order.cancelled')
  AND NOT EXISTS (SELECT 1 FROM events s WHERE s.order_id = o.order_id AND s.type = 'shipment.created'
                    AND s.data->'lines' @> jsonb_build_array(jsonb_build_object('sku', $1::text)))
GROUP BY o.order_id ORDER BY max(o.occurred_at) DESC, o.order_id LIMIT $3`

// OrdersWithSKU returns the orders created within FanOutWindow of now that
// have an unshipped line of the SKU and were not cancelled (at most limit
// of them, newest first).
func (s *Store) OrdersWithSKU(ctx context.Context, sku string, now time.Time, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, ordersWithSKU, sku, now.Add(-FanOutWindow), limit)
	if err != nil {
		return nil, fmt.Errorf("orders with sku: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("orders with sku: %w", err)
	}
	return ids, nil
}

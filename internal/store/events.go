package store

import (
	"context"
	"encoding/json"
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
// transaction.
const insertEvents = `INSERT INTO events (source, id, type, order_id, occurred_at, subject, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::jsonb[])
ON CONFLICT (source, id) DO NOTHING
RETURNING source, id`

// InsertEvents stores events in one transaction and reports, for each event,
// whether it was new (true) or a duplicate of a stored (source, id) (false).
// Within one call, a repeated key counts once: the first occurrence is new.
// After the commit it wakes the relay (see wake).
func (s *Store) InsertEvents(ctx context.Context, evs []recovery.Event) ([]bool, error) {
	n := len(evs)
	sources, ids, types := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	orders, subjects := make([]string, 0, n), make([]string, 0, n)
	times, data := make([]time.Time, 0, n), make([]string, 0, n)
	for _, e := range evs {
		sources, ids, types = append(sources, e.Source), append(ids, e.ID), append(types, e.Type)
		orders, subjects = append(orders, e.Order()), append(subjects, e.Subject)
		times, data = append(times, e.Time), append(data, string(e.Data))
	}
	inserted := make(map[recovery.EventKey]bool, n)
	rows, err := s.pool.Query(ctx, insertEvents, sources, ids, types, orders, times, subjects, data)
	if err == nil {
		var k recovery.EventKey
		_, err = pgx.ForEachRow(rows, []any{&k.Source, &k.ID}, func() error {
			inserted[k] = true
			return nil
		})
	}
	if err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	if len(inserted) > 0 {
		s.wake()
	}
	out := make([]bool, n)
	for i, e := range evs {
		if inserted[e.Key()] {
			out[i] = true
			delete(inserted, e.Key()) // a later repeat in the same call is a duplicate
		}
	}
	return out, nil
}

// PendingEvent is a committed event not yet delivered to its workflow.
type PendingEvent struct {
	Seq     int64
	OrderID string
	Event   recovery.Event
}

const claimPending = `SELECT seq, source, id, type, order_id, occurred_at, subject, data
FROM events WHERE relayed_at IS NULL ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED`

// Claim is a batch of pending events locked by one relay until it calls
// Done or Abort. Other relays skip the locked rows.
type Claim struct {
	tx     pgx.Tx
	Events []PendingEvent
}

// ClaimPending locks up to limit pending events, oldest first. The caller
// must end the claim with Done or Abort.
func (s *Store) ClaimPending(ctx context.Context, limit int) (*Claim, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return nil, fmt.Errorf("claim events: %w", err)
	}
	rows, err := tx.Query(ctx, claimPending, limit)
	if err != nil {
		tx.Rollback(ctx) //nolint:errcheck
		return nil, fmt.Errorf("claim events: %w", err)
	}
	c := &Claim{tx: tx}
	var p PendingEvent
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&p.Seq, &p.Event.Source, &p.Event.ID, &p.Event.Type,
		&p.OrderID, &p.Event.Time, &p.Event.Subject, &data}, func() error {
		p.Event.Data = json.RawMessage(append([]byte(nil), data...))
		c.Events = append(c.Events, p)
		return nil
	})
	if err != nil {
		tx.Rollback(ctx) //nolint:errcheck
		return nil, fmt.Errorf("claim events: %w", err)
	}
	return c, nil
}

// Done marks the given events relayed (with an optional note, e.g. why an
// event went nowhere) and releases the claim; events of the claim not named
// stay pending.
func (c *Claim) Done(ctx context.Context, relayed []int64, skipped []int64, note string) error {
	defer c.tx.Rollback(ctx) //nolint:errcheck
	if len(relayed) > 0 {
		if _, err := c.tx.Exec(ctx, `UPDATE events SET relayed_at = now() WHERE seq = ANY($1)`, relayed); err != nil {
			return fmt.Errorf("mark relayed: %w", err)
		}
		if _, err := c.tx.Exec(ctx, adoptOrphans, relayed); err != nil {
			return fmt.Errorf("adopt orphan scans: %w", err)
		}
	}
	if len(skipped) > 0 {
		if _, err := c.tx.Exec(ctx, `UPDATE events SET relayed_at = now(), relay_note = $2 WHERE seq = ANY($1)`,
			skipped, note); err != nil {
			return fmt.Errorf("mark skipped: %w", err)
		}
	}
	if c.hasInventory() {
		if _, err := c.tx.Exec(ctx, applyStock, append(relayed, skipped...)); err != nil {
			return fmt.Errorf("apply stock changes: %w", err)
		}
	}
	if err := c.tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit relay batch: %w", err)
	}
	return nil
}

// adoptOrphans gives carrier scans that named only a tracking number (and
// so reached no order) to the shipment that now names it, and queues them
// again: a carrier webhook that beats the shop's shipment is not lost.
const adoptOrphans = `UPDATE events o SET order_id = s.order_id, subject = 'order/' || s.order_id,
  data = o.data || jsonb_build_object('order_id', s.order_id, 'shipment_id', s.data->>'shipment_id'),
  relayed_at = NULL, relay_note = ''
FROM events s
WHERE s.seq = ANY($1) AND s.type = 'shipment.created' AND s.order_id <> '' AND s.data ? 'tracking_number'
  AND o.type = 'shipment.tracking' AND o.order_id = '' AND o.data->>'tracking_number' = s.data->>'tracking_number'`

// applyStock keeps the catalog's stock at what the last relayed
// inventory.changed of each SKU said was available; a SKU the catalog does
// not know yet is added with no category (no substitute comes from it).
// Malformed payloads are skipped here rather than failing the relay.
const applyStock = `INSERT INTO products (sku, stock)
SELECT DISTINCT ON (upper(data->>'sku')) upper(data->>'sku'), (data->>'available')::bigint FROM events
WHERE seq = ANY($1) AND type = 'inventory.changed' AND coalesce(data->>'sku', '') <> ''
  AND (data->>'available') ~ '^-?[0-9]{1,18}$'
ORDER BY upper(data->>'sku'), seq DESC
ON CONFLICT (sku) DO UPDATE SET stock = EXCLUDED.stock, updated_at = now()`

func (c *Claim) hasInventory() bool {
	for _, p := range c.Events {
		if p.Event.Type == recovery.TypeInventoryChanged {
			return true
		}
	}
	return false
}

// Abort releases the claim without marking anything.
func (c *Claim) Abort(ctx context.Context) { c.tx.Rollback(ctx) } //nolint:errcheck

// PendingCount returns how many events wait for the relay.
func (s *Store) PendingCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE relayed_at IS NULL`).Scan(&n)
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
	defer conn.Exec(context.WithoutCancel(ctx), "UNLISTEN "+NotifyChannel) //nolint:errcheck
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

const ordersWithSKU = `SELECT DISTINCT order_id FROM events
WHERE type = 'order.created' AND data->'lines' @> jsonb_build_array(jsonb_build_object('sku', $1::text))
  AND occurred_at > $2 AND order_id <> ''
ORDER BY order_id LIMIT $3`

// OrdersWithSKU returns the orders created within FanOutWindow of now that
// have a line of the SKU (at most limit of them).
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

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// benchTable is a copy of the events inbox (columns, defaults, unique key
// and indexes), so the raw baselines write the same rows into the same
// structure that the ingest path writes.
const benchTable = `DROP TABLE IF EXISTS bench_rows;
CREATE TABLE bench_rows (LIKE events INCLUDING ALL)`

const insertBenchRows = `INSERT INTO bench_rows (source, id, type, order_id, occurred_at, subject, data)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::text[], $7::jsonb[])`

// insertRaw writes the rows in one autocommit statement: the baseline.
func insertRaw(ctx context.Context, pool *pgxpool.Pool, evs []recovery.Event) error {
	n := len(evs)
	src, ids, types, orders, subj, data := make([]string, n), make([]string, n), make([]string, n),
		make([]string, n), make([]string, n), make([]string, n)
	times := make([]time.Time, n)
	for i, e := range evs {
		src[i], ids[i], types[i], subj[i], data[i] = e.Source, e.ID, e.Type, e.Subject, string(e.Data)
		orders[i], times[i] = e.Order(), e.Time
	}
	_, err := pool.Exec(ctx, insertBenchRows, src, ids, types, orders, times, subj, data)
	return err
}

// rows returns n single-event orders for the raw baselines.
func (b *bench) rows(n int) []recovery.Event { return b.events(n, 1) }

// events returns perOrder events for each of n new orders: order.created,
// shipment.created, then scans.
func (b *bench) events(n, perOrder int) []recovery.Event {
	now := time.Now().UTC()
	out := make([]recovery.Event, 0, n*perOrder)
	for range n {
		id := fmt.Sprintf("bench-%d-%d", now.UnixNano(), b.seq.Add(1))
		b.mu.Lock()
		if b.recording {
			b.orders = append(b.orders, id)
		}
		b.mu.Unlock()
		for k := range perOrder {
			out = append(out, benchEvent(id, k, now))
		}
	}
	return out
}

var benchScans = []string{recovery.StatusPickedUp, recovery.StatusInTransit, recovery.StatusOutForDelivery}

// benchEvent returns the k-th event of a correct journey for order id.
func benchEvent(id string, k int, now time.Time) recovery.Event {
	var typ string
	var data any
	switch {
	case k == 0:
		typ, data = recovery.TypeOrderCreated, recovery.OrderData{OrderID: id, Currency: "EUR", TotalMinor: 4999,
			Customer:        recovery.Customer{ID: "c-" + id, Email: "bench@example.com", Locale: "en-GB"},
			ShippingAddress: recovery.Location{City: "Berlin", PostalCode: "10115", Country: "DE"},
			Lines:           []recovery.OrderLine{{SKU: "SKU-1", Quantity: 1, UnitPriceMinor: 4999}}}
	case k == 1:
		typ, data = recovery.TypeShipmentCreated, recovery.ShipmentData{OrderID: id, ShipmentID: "s-1", Carrier: "dhl",
			Origin: &recovery.Location{City: "Leipzig", PostalCode: "04103", Country: "DE"},
			Lines:  []recovery.ShipmentLine{{SKU: "SKU-1", Quantity: 1}}}
	default:
		typ, data = recovery.TypeShipmentTracking, recovery.TrackingData{OrderID: id, ShipmentID: "s-1", Carrier: "dhl",
			Status:   benchScans[min(k-2, len(benchScans)-1)],
			Location: &recovery.Location{City: "Halle", PostalCode: "06108", Country: "DE"}}
	}
	raw, _ := json.Marshal(data)
	return recovery.Event{ID: fmt.Sprintf("%s-%d", id, k), Source: "bench", Type: typ,
		Time: now.Add(time.Duration(k) * time.Minute), Subject: "order/" + id, Data: raw, OrderID: id}
}

// benchBody writes {"events":[...]} by hand: the bench's own ids and types
// need no escaping, and json.Marshal would re-validate every payload, which
// on a small machine takes CPU from the server being measured.
func benchBody(evs []recovery.Event) []byte {
	buf := make([]byte, 0, 64+len(evs)*600)
	buf = append(buf, `{"events":[`...)
	for i, e := range evs {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"id":"`+e.ID+`","source":"`+e.Source+`","type":"`+e.Type+`","time":"`...)
		buf = e.Time.AppendFormat(buf, time.RFC3339Nano)
		buf = append(buf, `","subject":"`+e.Subject+`","data":`...)
		buf = append(buf, e.Data...)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

func numCPU() int { return runtime.NumCPU() }

// truncateInbox empties the events inbox between phases.
func truncateInbox(ctx context.Context, dbURL string) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `TRUNCATE events`); err != nil {
		return fmt.Errorf("empty the inbox between phases: %w", err)
	}
	return nil
}

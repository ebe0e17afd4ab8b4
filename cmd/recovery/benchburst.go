package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// burstStall is how long the burst waits for the next customer to be
// contacted before it calls the rest lost.
const burstStall = 2 * time.Minute

// burst is a carrier's bad day: n orders promised for the same moment and
// never delivered, so n order workflows' timers fire together and n late
// incidents each contact their customer. It reports whether every
// customer was contacted exactly once, how long after the promise the
// last one was, and the busiest ten seconds of sends against the email
// provider's rate limit (RECOVERY_SENDGRID_RPS).
func (b *bench) burst(ctx context.Context, s *stack, url string, hc *http.Client, pool *pgxpool.Pool, limit float64) error {
	n := b.o.burst
	if n <= 0 {
		return nil
	}
	now := time.Now().UTC()
	// Time to push the orders and start their workflows (a few hundred a
	// second here), with room to spare: the promise must still be ahead.
	due := now.Add(10*time.Second + time.Duration(n)*10*time.Millisecond).Truncate(time.Second)
	prefix := fmt.Sprintf("bench-burst-%d-", now.UnixNano())
	zone := middayZone(due)
	batch := make([]recovery.Event, 0, 100)
	for i := range n {
		id := fmt.Sprintf("%s%d", prefix, i)
		raw, _ := json.Marshal(recovery.OrderData{OrderID: id, Currency: "EUR", TotalMinor: 4999, PromisedDelivery: &due,
			Customer:        recovery.Customer{ID: "c-" + id, Email: id + "@example.com", Locale: "en-GB", TimeZone: zone},
			ShippingAddress: recovery.Location{City: "Berlin", PostalCode: "10115", Country: "DE"},
			Lines:           []recovery.OrderLine{{SKU: "SKU-1", Quantity: 1, UnitPriceMinor: 4999}}})
		batch = append(batch, recovery.Event{ID: id + "-0", Source: "bench", Type: recovery.TypeOrderCreated, Time: now,
			Subject: "order/" + id, Data: raw, OrderID: id})
		if len(batch) == cap(batch) || i == n-1 {
			if err := postBench(ctx, hc, url, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := drained(ctx, s.store); err != nil {
		return err
	}
	if time.Now().After(due) {
		return fmt.Errorf("burst: the %d orders took until after their promise (%s) to reach their workflows", n, due.Format(time.TimeOnly))
	}
	fmt.Fprintf(b.out, "%-40s %d orders promised for %s, none delivered (set up in %s)\n", "burst: late timers",
		n, due.Format(time.TimeOnly), time.Since(now).Round(time.Second))
	floor := time.Duration(float64(n) / limit * float64(time.Second))
	// It waits for as long as customers are still being contacted: how long
	// the last one takes is the figure, and it depends on the machine. Once
	// the first is, it gives up when none more has been for burstStall; in
	// any case at an hour.
	deadline := due.Add(max(time.Hour, 3*floor))
	var contacted, extra int
	progress, moved := 0, time.Now()
	stalled := false
	for {
		// Contacts per order, that is per customer: a second incident's
		// contact, or a second step, counts as contacting them again.
		err := pool.QueryRow(ctx, `SELECT count(DISTINCT i.order_id), count(*) - count(DISTINCT i.order_id)
			FROM incidents i JOIN contacts c ON c.incident_id = i.id WHERE i.order_id LIKE $1`, prefix+"%").Scan(&contacted, &extra)
		if err != nil {
			return err
		}
		if contacted != progress {
			progress, moved = contacted, time.Now()
		}
		// The first contact comes only once the timers' work has gone through
		// every stage, minutes after the promise for 10,000 at once; from
		// then on a customer should follow another.
		stalled = contacted > 0 && time.Since(moved) > burstStall
		if contacted >= n || stalled || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	if contacted == 0 {
		return fmt.Errorf("burst: none of the %d customers was contacted by %s", n, time.Now().Format(time.TimeOnly))
	}
	var last time.Time
	var peak int
	err := pool.QueryRow(ctx, `WITH firsts AS (
			SELECT min(c.created_at) AS at FROM incidents i JOIN contacts c ON c.incident_id = i.id
			WHERE i.order_id LIKE $1 GROUP BY i.id)
		SELECT max(at), coalesce((SELECT max(k) FROM (SELECT count(*) OVER (ORDER BY at RANGE BETWEEN CURRENT ROW AND interval '10 seconds' FOLLOWING) AS k FROM firsts) w), 0)
		FROM firsts`, prefix+"%").Scan(&last, &peak)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%-40s %d of %d contacted, %d more than once; the last %s after the promise (the provider's limit allows no less than %s)\n",
		"burst: contacted", contacted, n, extra, last.Sub(due).Round(100*time.Millisecond), floor.Round(time.Second))
	verdict(b.out, "burst: customers contacted exactly once (%)", 100*float64(contacted-extra)/float64(n), ">=", 100)
	verdict(b.out, "burst: busiest 10 s of sends, per second", float64(peak)/10, "<=", limit*1.1)
	if contacted < n {
		why := "by " + deadline.Format(time.TimeOnly)
		if stalled {
			why = fmt.Sprintf("(none for %s)", burstStall)
		}
		return fmt.Errorf("burst: %d of %d customers not contacted %s", n-contacted, n, why)
	}
	return nil
}

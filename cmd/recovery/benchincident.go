package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// The incident phases measure what a customer sees: from the 202 of the
// scan that reveals a misroute to the first attempt to contact them
// (auto-approved discount, email, inside the contact window, capture
// adapter). Each story's first three events are pushed and applied before
// the clock starts; only the revealing scan is timed.

// incidentStory returns an order's events: order, shipment and first scan
// (setup), then the scan from another country that reveals a misroute.
// Every order has its own customer, whose zone puts them at midday.
func incidentStory(id string, now time.Time) (setup []recovery.Event, reveal recovery.Event) {
	zone := middayZone(now)
	promised := now.Add(72 * time.Hour)
	mk := func(k int, typ string, data any) recovery.Event {
		raw, _ := json.Marshal(data)
		return recovery.Event{ID: fmt.Sprintf("%s-%d", id, k), Source: "bench", Type: typ,
			Time: now.Add(time.Duration(k-4) * time.Hour), Subject: "order/" + id, Data: raw, OrderID: id}
	}
	scan := func(status, city, postal, country string) recovery.TrackingData {
		return recovery.TrackingData{OrderID: id, ShipmentID: "s-1", Carrier: "dhl", Status: status,
			Location: &recovery.Location{City: city, PostalCode: postal, Country: country}}
	}
	setup = []recovery.Event{
		mk(0, recovery.TypeOrderCreated, recovery.OrderData{OrderID: id, Currency: "EUR", TotalMinor: 8999,
			PromisedDelivery: &promised,
			Customer: recovery.Customer{ID: "c-" + id, Name: "Bench Customer", Email: id + "@example.com",
				Locale: "en-GB", TimeZone: zone},
			ShippingAddress: recovery.Location{Line1: "Invalidenstr. 1", City: "Berlin", PostalCode: "10115", Country: "DE"},
			Lines:           []recovery.OrderLine{{SKU: "LAMP-01", Name: "Desk lamp", Quantity: 1, UnitPriceMinor: 8999}}}),
		mk(1, recovery.TypeShipmentCreated, recovery.ShipmentData{OrderID: id, ShipmentID: "s-1", Carrier: "dhl",
			Origin: &recovery.Location{City: "Leipzig", PostalCode: "04103", Country: "DE"},
			Lines:  []recovery.ShipmentLine{{SKU: "LAMP-01", Quantity: 1}}}),
		mk(2, recovery.TypeShipmentTracking, scan(recovery.StatusPickedUp, "Leipzig", "04103", "DE")),
	}
	return setup, mk(3, recovery.TypeShipmentTracking, scan(recovery.StatusInTransit, "Poznań", "60-001", "PL"))
}

// middayZone is a fixed zone (Etc/GMT±N) where it is about noon at now, so
// that a configured contact window never holds a bench contact back.
func middayZone(now time.Time) string {
	off := 12 - now.UTC().Hour() // hours east of UTC
	if off > 14 {
		off -= 24
	} else if off < -11 {
		off += 24
	}
	switch {
	case off == 0:
		return "Etc/GMT"
	case off > 0:
		return fmt.Sprintf("Etc/GMT-%d", off) // POSIX signs are inverted
	default:
		return fmt.Sprintf("Etc/GMT+%d", -off)
	}
}

// incidentBench runs the incident phases on a running stack.
type incidentBench struct {
	b    *bench
	hc   *http.Client
	url  string
	pool *pgxpool.Pool
	s    *stack
	// ready are prepared orders whose revealing scans are still unsent.
	ready []recovery.Event
	// polls counts contactTimes' queries.
	polls int
}

// prepare pushes the setup events of n new orders and waits until their
// workflows have applied them.
func (ib *incidentBench) prepare(ctx context.Context, n int) error {
	now := time.Now().UTC()
	var batch []recovery.Event
	var ids []string
	for i := range n {
		id := fmt.Sprintf("bench-inc-%d-%d", now.UnixNano(), i)
		setup, reveal := incidentStory(id, now)
		batch = append(batch, setup...)
		ib.ready = append(ib.ready, reveal)
		ids = append(ids, id)
		if len(batch) >= 99 || i == n-1 {
			if err := postBench(ctx, ib.hc, ib.url, batch); err != nil {
				return err
			}
			batch = batch[:0]
		}
	}
	if err := drained(ctx, ib.s.store); err != nil {
		return err
	}
	return ib.b.applied(ctx, ib.s, ids[max(0, len(ids)-10):], func(time.Time) {})
}

// take hands out n prepared revealing scans.
func (ib *incidentBench) take(n int) []recovery.Event {
	out := ib.ready[:n:n]
	ib.ready = ib.ready[n:]
	return out
}

// sent is one revealing scan and when its 202 came back.
type sent struct {
	ev  recovery.Event
	at  time.Time
	err error
}

// contactTimes waits until every order has a first contact attempt and
// returns each order's, with the relay lag (received to relayed) of each
// revealing scan.
func (ib *incidentBench) contactTimes(ctx context.Context, evs []recovery.Event, within, every time.Duration) (map[string]time.Time, map[string]time.Duration, error) {
	ids := make([]string, len(evs))
	evIDs := make([]string, len(evs))
	for i, e := range evs {
		ids[i], evIDs[i] = e.OrderID, e.ID
	}
	deadline := time.Now().Add(within)
	got := map[string]time.Time{}
	for {
		ib.polls++
		rows, err := ib.pool.Query(ctx, `SELECT i.order_id, min(c.created_at) FROM incidents i
			JOIN contacts c ON c.incident_id = i.id WHERE i.order_id = ANY($1) GROUP BY i.order_id`, ids)
		if err != nil {
			return nil, nil, err
		}
		for rows.Next() {
			var id string
			var at time.Time
			if err := rows.Scan(&id, &at); err != nil {
				rows.Close()
				return nil, nil, err
			}
			got[id] = at
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, nil, err
		}
		if len(got) == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			return nil, nil, fmt.Errorf("%d of %d revealed incidents not contacted within %s", len(ids)-len(got), len(ids), within)
		}
		time.Sleep(every)
	}
	lags := map[string]time.Duration{}
	rows, err := ib.pool.Query(ctx, `SELECT order_id, relayed_at - received_at FROM events
		WHERE source = 'bench' AND id = ANY($1) AND relayed_at IS NOT NULL`, evIDs)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var lag time.Duration
		if err := rows.Scan(&id, &lag); err != nil {
			return nil, nil, err
		}
		lags[id] = lag
	}
	return got, lags, rows.Err()
}

// post sends one revealing scan on its own, as a carrier's webhook does.
func (ib *incidentBench) post(ctx context.Context, e recovery.Event) sent {
	err := postBench(ctx, ib.hc, ib.url, []recovery.Event{e})
	return sent{ev: e, at: time.Now(), err: err}
}

// capacity pushes n revealing scans at once, conns at a time, and returns
// the rate at which their incidents were handled: first push to last
// contact attempt.
func (ib *incidentBench) capacity(ctx context.Context, n int) (float64, time.Duration, cpuSample, error) {
	evs := ib.take(n)
	ours0, temporal0, err := dbCommits(ctx, ib.pool)
	if err != nil {
		return 0, 0, cpuSample{}, err
	}
	start, cpu := time.Now(), cpuNow()
	ch := make(chan recovery.Event)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range ib.b.o.conns {
		wg.Go(func() {
			for e := range ch {
				if s := ib.post(ctx, e); s.err != nil {
					mu.Lock()
					firstErr = cmp.Or(firstErr, s.err)
					mu.Unlock()
				}
			}
		})
	}
	for _, e := range evs {
		ch <- e
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return 0, 0, cpuSample{}, firstErr
	}
	ib.polls = 0
	at, _, err := ib.contactTimes(ctx, evs, 10*time.Minute, 100*time.Millisecond)
	if err != nil {
		return 0, 0, cpuSample{}, err
	}
	used := cpuNow().sub(cpu)
	time.Sleep(1500 * time.Millisecond) // backends report their commits within a second
	ours, temporal, err := dbCommits(ctx, ib.pool)
	if err != nil {
		return 0, 0, cpuSample{}, err
	}
	// Polling for contacts commits too: counted apart by the poll count.
	fmt.Fprintf(ib.b.out, "%-40s %.1f transactions in our database (%.1f of them the bench's polls), %.1f in Temporal's\n",
		"  commits per incident", float64(ours-ours0)/float64(n), float64(ib.polls)/float64(n), float64(temporal-temporal0)/float64(n))
	var last time.Time
	for _, t := range at {
		if t.After(last) {
			last = t
		}
	}
	took := last.Sub(start)
	return float64(n) / took.Seconds(), took, used, nil
}

// paced sends n revealing scans at rate per second, each on schedule
// whatever the others' answers, and returns each one's latency from its
// 202 to its first contact attempt, and the relay lags.
func (ib *incidentBench) paced(ctx context.Context, n int, rate float64) ([]time.Duration, []time.Duration, error) {
	evs := ib.take(n)
	res := make([]sent, n)
	every := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	var wg sync.WaitGroup
	for i, e := range evs {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		wg.Go(func() { res[i] = ib.post(ctx, e) })
	}
	wg.Wait()
	for _, s := range res {
		if s.err != nil {
			return nil, nil, s.err
		}
	}
	at, lags, err := ib.contactTimes(ctx, evs, 5*time.Minute, 50*time.Millisecond)
	if err != nil {
		return nil, nil, err
	}
	lat := make([]time.Duration, 0, n)
	lag := make([]time.Duration, 0, n)
	for _, s := range res {
		lat = append(lat, max(0, at[s.ev.OrderID].Sub(s.at)))
		if l, ok := lags[s.ev.OrderID]; ok {
			lag = append(lag, l)
		}
	}
	return lat, lag, nil
}

// single sends n revealing scans one at a time, each after the last one's
// customer was contacted.
func (ib *incidentBench) single(ctx context.Context, n int) ([]time.Duration, error) {
	var lat []time.Duration
	for range n {
		s := ib.post(ctx, ib.take(1)[0])
		if s.err != nil {
			return nil, s.err
		}
		at, _, err := ib.contactTimes(ctx, []recovery.Event{s.ev}, time.Minute, 5*time.Millisecond)
		if err != nil {
			return nil, err
		}
		lat = append(lat, max(0, at[s.ev.OrderID].Sub(s.at)))
	}
	return lat, nil
}

// incidents runs the incident phases: capacity, then latency at 25%, 50%
// and 75% of it, then one story at a time.
func (b *bench) incidents(ctx context.Context, s *stack, url string, hc *http.Client, pool *pgxpool.Pool) error {
	ib := &incidentBench{b: b, hc: hc, url: url, pool: pool, s: s}
	n := b.o.incidents
	ours0, temporal0, err := dbBytes(ctx, pool)
	if err != nil {
		return err
	}
	if err := ib.prepare(ctx, n); err != nil {
		return err
	}
	rate, took, cpu, err := ib.capacity(ctx, n)
	if err != nil {
		return err
	}
	if err := b.storage(ctx, pool, "storage: per misrouted order, contacted", ours0, temporal0, n); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%-40s %9.1f incidents/s  (%d misroutes revealed at once, all contacted in %s)\n",
		"incidents: fully handled", rate, n, took.Round(time.Millisecond))
	fmt.Fprintf(b.out, "%-40s CPU %.1f ms here (API, relay, worker, embedded Temporal) + %.1f ms in Postgres, over %d cores\n",
		"  per incident", float64(cpu.self.Microseconds())/1000/float64(n), float64(cpu.postgres.Microseconds())/1000/float64(n), numCPU())
	verdict(b.out, "incidents handled per second", rate, ">=", 40)
	for _, f := range []float64{0.25, 0.5, 0.75} {
		r := rate * f
		m := max(40, int(r*b.o.duration.Seconds()*2))
		if err := ib.prepare(ctx, m); err != nil {
			return err
		}
		lat, lag, err := ib.paced(ctx, m, r)
		if err != nil {
			return err
		}
		name := fmt.Sprintf("latency at %.0f%% (%.1f/s, %d)", f*100, r, m)
		fmt.Fprintf(b.out, "%-40s p50 %s  p95 %s  p99 %s  (202 to first contact attempt)\n", name,
			ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)))
		fmt.Fprintf(b.out, "%-40s p50 %s  p95 %s  p99 %s  (received to relayed: commit to signal accepted, at most)\n", "  relay lag",
			ms(pct(lag, 50)), ms(pct(lag, 95)), ms(pct(lag, 99)))
		if f == 0.5 {
			verdict(b.out, "latency p99 at 50% of the rate (ms)", float64(pct(lat, 99).Milliseconds()), "<=", 1000)
			verdict(b.out, "relay lag p99 at 50% of the rate (ms)", float64(pct(lag, 99).Milliseconds()), "<=", 500)
		}
	}
	const singles = 20
	if err := ib.prepare(ctx, singles); err != nil {
		return err
	}
	lat, err := ib.single(ctx, singles)
	if err != nil {
		return err
	}
	fmt.Fprintf(b.out, "%-40s p50 %s  p95 %s  p99 %s  (%d stories one at a time)\n", "latency, single story",
		ms(pct(lat, 50)), ms(pct(lat, 95)), ms(pct(lat, 99)), singles)
	verdict(b.out, "latency p99, single story (ms)", float64(pct(lat, 99).Milliseconds()), "<=", 250)
	return nil
}

// pct is the p-th percentile (nearest rank) of ds.
func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := int(float64(len(s))*p/100+0.999999) - 1
	return s[min(max(k, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%5dms", d.Milliseconds()) }

// verdict prints a figure against an absolute target.
func verdict(w io.Writer, name string, got float64, op string, target float64) {
	ok := got >= target
	if op == "<=" {
		ok = got <= target
	}
	v := "meets"
	if !ok {
		v = "BELOW"
	}
	fmt.Fprintf(w, "target %-48s %8.1f  (target %s %.6g: %s)\n", name, got, op, target, v)
}

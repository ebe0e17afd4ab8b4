package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
)

// benchOpts are the flags of `recovery bench`.
type benchOpts struct {
	duration  time.Duration
	conns     int
	batch     int
	batchConn int
	signals   int
	orders    int
	perOrder  int
	incidents int
	burst     int
	phases    string
}

// runBench measures, in one run on one machine, each path of the engine
// against its raw baseline and prints the ratios (DESIGN §9).
func runBench(ctx context.Context, cfg Config, args []string, stdout io.Writer, log *slog.Logger) error {
	if len(args) > 0 && args[0] == "soak" {
		return runSoak(ctx, cfg, args[1:], stdout, log)
	}
	cfg = cfg.withDevPayloadKey() // every Temporal call encrypted, as in dev, the baseline's too
	var o benchOpts
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "how long each throughput phase runs")
	fs.IntVar(&o.conns, "conns", 32, "concurrent clients for single-row/single-event phases")
	fs.IntVar(&o.batch, "batch", 100, "rows/events per batch in the batch phases")
	fs.IntVar(&o.batchConn, "batch-conns", 8, "concurrent clients for the batch phases")
	fs.IntVar(&o.signals, "signals", 2000, "SignalWithStart calls in the bare Temporal baseline")
	fs.IntVar(&o.orders, "orders", 1000, "orders in the end-to-end phase")
	fs.IntVar(&o.perOrder, "events-per-order", 5, "events per order in the end-to-end phase")
	fs.IntVar(&o.incidents, "incidents", 300, "misroutes revealed at once to measure the rate of handled incidents")
	fs.IntVar(&o.burst, "burst", 10000, "orders whose promise passes in the same second, in the burst phase (0: none)")
	fs.StringVar(&o.phases, "phases", "all", "which phases to run: all, ingest, temporal or incidents")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (API, relay, worker and clients) to `file`")
	memProfile := fs.String("memprofile", "", "write this process's allocations (pprof, -sample_index=alloc_space) to `file` at the end")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("%v: %w", err, errUsage)
	}
	if o.phases != "all" && o.phases != "ingest" && o.phases != "temporal" && o.phases != "incidents" {
		return fmt.Errorf("-phases must be all, ingest, temporal or incidents, not %q: %w", o.phases, errUsage)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if *memProfile != "" {
		defer func() {
			f, err := os.Create(*memProfile)
			if err == nil {
				err = pprof.Lookup("allocs").WriteTo(f, 0)
				f.Close()
			}
			if err != nil {
				fmt.Fprintln(stdout, "memprofile:", err)
			}
		}()
	}
	log = slog.New(levelFilter{log.Handler(), slog.LevelWarn})
	dbURL, temporalAddr, cleanup, err := benchInfra(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()
	b := &bench{o: o, out: stdout, log: log}
	return b.run(ctx, cfg, dbURL, temporalAddr)
}

// benchInfra uses DATABASE_URL and TEMPORAL_ADDRESS when both are set, and
// otherwise starts a throwaway Postgres and embedded Temporal
// (benchThrowaway in embedded.go; a noembed build has neither).
func benchInfra(ctx context.Context, cfg Config, log *slog.Logger) (string, string, func(), error) {
	if cfg.DatabaseURL != "" && cfg.TemporalAddress != "" {
		return cfg.DatabaseURL, cfg.TemporalAddress, func() {}, nil
	}
	return benchThrowaway(ctx, cfg, log)
}

// bench holds one run's settings and results.
type bench struct {
	o   benchOpts
	out io.Writer
	log *slog.Logger
	seq atomic.Int64
	// orders, while recording, keeps the ids of the orders events builds.
	mu        sync.Mutex
	recording bool
	orders    []string
}

func (b *bench) run(ctx context.Context, cfg Config, dbURL, temporalAddr string) error {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := migrateDatabase(ctx, dbURL); err != nil { // the baseline table copies the inbox's
		return err
	}
	if _, err := pool.Exec(ctx, benchTable); err != nil {
		return fmt.Errorf("create bench table: %w", err)
	}
	fmt.Fprintf(b.out, "recovery bench: %d CPUs, %s per phase, %d clients (batches: %d x %d rows)\n",
		numCPU(), b.o.duration, b.o.conns, b.o.batchConn, b.o.batch)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: b.o.conns * 2}, Timeout: 30 * time.Second}
	cfg.Addr = "127.0.0.1:0"
	cfg.DevAPIKey = "bench"
	cfg.RateLimit = 0 // the benchmark is one caller at full speed
	if b.o.phases == "temporal" || b.o.phases == "incidents" {
		return b.temporalPhases(ctx, cfg, dbURL, temporalAddr, hc, pool)
	}
	api, err := startStack(ctx, cfg, dbURL, temporalAddr, parts{api: true}, true, b.log)
	if err != nil {
		return err
	}
	clients := newLoadClients(api.Addr(), "/v1/events", max(b.o.conns, b.o.batchConn))
	defer clients.close()
	rawOne, httpOne := b.pair(
		"postgres: one INSERT per request", b.o.conns, func(ctx context.Context) (int, error) {
			return 1, insertRaw(ctx, pool, b.rows(1))
		},
		"http: single-event ingest", b.o.conns, func(ctx context.Context) (int, error) {
			return 1, clients.post(ctx, b.events(1, 1))
		})
	rawBatch, httpBatch := b.pair(
		"postgres: batched INSERT", b.o.batchConn, func(ctx context.Context) (int, error) {
			return b.o.batch, insertRaw(ctx, pool, b.rows(b.o.batch))
		},
		"http: batch ingest", b.o.batchConn, func(ctx context.Context) (int, error) {
			return b.o.batch, clients.post(ctx, b.events(b.o.batch, 1))
		})
	api.Stop()
	// The baselines' million rows go, so that vacuuming them does not take
	// CPU from the phases after.
	if _, err := pool.Exec(ctx, `DROP TABLE bench_rows`); err != nil {
		return fmt.Errorf("drop bench table: %w", err)
	}

	fmt.Fprintln(b.out)
	ratio(b.out, "HTTP single-event ingest / one-INSERT baseline", httpOne, rawOne, 1.5)
	ratio(b.out, "HTTP batch ingest / batched INSERT", httpBatch, rawBatch, 0.7)
	if b.o.phases == "ingest" {
		return nil
	}
	return b.temporalPhases(ctx, cfg, dbURL, temporalAddr, hc, pool)
}

// temporalPhases compares a bare SignalWithStart loop with events carried
// end to end: HTTP ingest, commit, relay, SignalWithStart.
func (b *bench) temporalPhases(ctx context.Context, cfg Config, dbURL, temporalAddr string, hc *http.Client, pool *pgxpool.Pool) error {
	// The ingest phases left their events in the inbox; they are not part of
	// what the relay is measured on.
	if err := truncateInbox(ctx, dbURL); err != nil {
		return err
	}
	cfg.RateLimit = 0
	full, err := startStack(ctx, cfg, dbURL, temporalAddr, parts{api: true, relay: true, worker: true}, true, b.log)
	if err != nil {
		return err
	}
	defer full.Stop()
	url := "http://" + full.Addr() + "/v1/events"
	if b.o.phases == "incidents" {
		if err := b.incidents(ctx, full, url, hc, pool); err != nil {
			return err
		}
		return b.burst(ctx, full, url, hc, pool, cfg.SendGridRPS)
	}
	sig := relay.TemporalSignaler{Client: full.temporal}
	b.mu.Lock()
	b.recording, b.orders = true, nil
	b.mu.Unlock()
	bare, err := b.bareSignals(ctx, sig)
	if err != nil {
		return err
	}
	// The baseline's workflows settle first: what they write is not the
	// end-to-end orders' to count.
	b.mu.Lock()
	bareOrders := b.orders
	b.orders = nil
	b.mu.Unlock()
	if err := b.applied(ctx, full, bareOrders[max(0, len(bareOrders)-10):], func(time.Time) {}); err != nil {
		return err
	}
	ours0, temporal0, err := dbBytes(ctx, pool)
	if err != nil {
		return err
	}
	start := time.Now()
	e2e, err := b.endToEnd(ctx, hc, "http://"+full.Addr()+"/v1/events", full.store)
	b.mu.Lock()
	b.recording = false
	b.mu.Unlock()
	if err != nil {
		return err
	}
	ratio(b.out, "end-to-end events/s / bare SignalWithStart/s", e2e, bare, 1.0)
	processed, err := b.processed(ctx, full, start)
	if err != nil {
		return err
	}
	ratio(b.out, "end-to-end processed events/s / bare SignalWithStart/s", processed, bare, 3.0)
	if err := b.storage(ctx, pool, "storage: per order of 5 events", ours0, temporal0, len(b.orders)); err != nil {
		return err
	}
	if err := b.costPerOrder(ctx, full, url, hc); err != nil {
		return err
	}
	if err := b.incidents(ctx, full, url, hc, pool); err != nil {
		return err
	}
	return b.burst(ctx, full, url, hc, pool, cfg.SendGridRPS)
}

// bareSignals sends one SignalWithStart per event, conns at a time.
func (b *bench) bareSignals(ctx context.Context, sig relay.TemporalSignaler) (float64, error) {
	var next, failed atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for range b.o.conns {
		wg.Go(func() {
			for next.Add(1) <= int64(b.o.signals) {
				evs := b.events(1, 1)
				if err := sig.SignalOrder(ctx, evs[0].Order(), evs); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	rate := float64(b.o.signals) / time.Since(start).Seconds()
	fmt.Fprintf(b.out, "%-40s %9.0f signals/s  (%d calls, %d failed)\n", "temporal: bare SignalWithStart",
		rate, b.o.signals, failed.Load())
	if failed.Load() > 0 {
		return rate, fmt.Errorf("%d SignalWithStart calls failed", failed.Load())
	}
	return rate, nil
}

// endToEnd posts orders x perOrder events in batches and measures until the
// relay has delivered every one of them to Temporal.
func (b *bench) endToEnd(ctx context.Context, hc *http.Client, url string, st *store.Store) (float64, error) {
	total := b.o.orders * b.o.perOrder
	start := time.Now()
	var wg sync.WaitGroup
	var next atomic.Int64
	errs := make(chan error, b.o.batchConn)
	perBatch := max(1, b.o.batch/b.o.perOrder)
	for range b.o.batchConn {
		wg.Go(func() {
			for next.Add(int64(perBatch)) <= int64(b.o.orders+perBatch-1) {
				if err := postBench(ctx, hc, url, b.events(perBatch, b.o.perOrder)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return 0, err
	}
	for {
		n, err := st.PendingCount(ctx)
		if err != nil {
			return 0, err
		}
		if n == 0 {
			break
		}
		if time.Since(start) > 10*time.Minute {
			return 0, fmt.Errorf("relay still has %d events pending after 10 minutes", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	rate := float64(total) / time.Since(start).Seconds()
	fmt.Fprintf(b.out, "%-40s %9.0f events/s  (%d orders x %d events, ingest to signal accepted)\n",
		"end to end: HTTP -> relay -> Temporal", rate, b.o.orders, b.o.perOrder)
	return rate, nil
}

// phase runs op from conns goroutines for the configured duration and
// prints the rate of rows or events it reports.
// pair measures two operations in alternating slices (A B, B A, A B, ...)
// so that slow drift on the machine, such as a checkpoint or another
// process, weighs on both alike. It prints and returns each rate.
func (b *bench) pair(nameA string, connsA int, opA func(context.Context) (int, error),
	nameB string, connsB int, opB func(context.Context) (int, error)) (float64, float64) {
	const slices = 6
	var a, bb tally
	for i := range slices {
		d := b.o.duration / slices
		if i%2 == 0 {
			a.add(slice(d, connsA, opA))
			bb.add(slice(d, connsB, opB))
		} else {
			bb.add(slice(d, connsB, opB))
			a.add(slice(d, connsA, opA))
		}
	}
	return a.print(b.out, nameA), bb.print(b.out, nameB)
}

type tally struct {
	done, failed int64
	elapsed      time.Duration
	cpu          cpuSample
}

func (t *tally) add(o tally) {
	t.done, t.failed, t.elapsed = t.done+o.done, t.failed+o.failed, t.elapsed+o.elapsed
	t.cpu.self, t.cpu.postgres = t.cpu.self+o.cpu.self, t.cpu.postgres+o.cpu.postgres
}

// print prints the rate and the CPU time per row: this process's (for
// the HTTP phases the API and the bench's HTTP clients; for the raw ones
// the pgx clients) and Postgres's.
func (t tally) print(w io.Writer, name string) float64 {
	rate := float64(t.done) / t.elapsed.Seconds()
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(max(t.done, 1)) }
	fmt.Fprintf(w, "%-40s %9.0f rows/s    CPU %5.1f µs/row here + %5.1f µs in Postgres  (%d failed)\n",
		name, rate, per(t.cpu.self), per(t.cpu.postgres), t.failed)
	return rate
}

// slice runs op from conns clients for d.
func slice(d time.Duration, conns int, op func(context.Context) (int, error)) tally {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var done, failed atomic.Int64
	start, cpu := time.Now(), cpuNow()
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := op(ctx)
				if err != nil {
					if ctx.Err() == nil {
						failed.Add(1)
					}
					continue
				}
				done.Add(int64(n))
			}
		})
	}
	wg.Wait()
	return tally{done: done.Load(), failed: failed.Load(), elapsed: time.Since(start), cpu: cpuNow().sub(cpu)}
}

func ratio(w io.Writer, name string, got, base, target float64) {
	r := got / base
	verdict := "meets"
	if r < target {
		verdict = "BELOW"
	}
	fmt.Fprintf(w, "ratio  %-48s %6.2fx  (target >= %.1fx: %s)\n", name, r, target, verdict)
}

// storage prints how much the databases grew per order since ours0 and
// temporal0 were measured.
func (b *bench) storage(ctx context.Context, pool *pgxpool.Pool, name string, ours0, temporal0 int64, orders int) error {
	ours, temporal, err := dbBytes(ctx, pool)
	if err != nil {
		return err
	}
	per := func(grew int64) float64 { return float64(grew) / float64(max(orders, 1)) / 1024 }
	fmt.Fprintf(b.out, "%-46s ours %6.1f KiB  Temporal's %6.1f KiB  (pg_database_size grown over %d orders)\n",
		name, per(ours-ours0), per(temporal-temporal0), orders)
	return nil
}

func postBench(ctx context.Context, hc *http.Client, url string, evs []recovery.Event) error {
	body := benchBody(evs)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body) //nolint:errcheck
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /v1/events: %s", resp.Status)
	}
	return nil
}

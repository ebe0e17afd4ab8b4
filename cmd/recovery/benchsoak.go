package main

// `recovery bench soak` runs the engine as production runs it, a serve
// process (API and relay) and a worker process of this same binary, feeds
// it correct orders at a steady rate for a long time, and samples what
// should stay flat: each process's memory and goroutines, the open
// workflows, the relay's backlog and the databases' size. It writes the
// samples to soak.csv, draws them in soak.svg, and prints each series'
// slope and whether memory and goroutines grew, workflows finished and the
// backlog drained.

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/codec"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// soakOpts are the flags of `recovery bench soak`, and what tests set
// beside them.
type soakOpts struct {
	orders int
	rate   float64 // orders per second
	sample time.Duration
	idle   time.Duration // RECOVERY_ORDER_IDLE of the worker
	out    string        // where soak.csv and soak.svg go ("": a new temporary directory)
	// binary is the program run as serve and worker ("": this one), and
	// env what their environment gets beyond the soak's own settings
	// (a test runs its own binary as the real one with it).
	binary string
	env    []string
}

// tail is how long sampling goes on after the last order: long enough for
// every order's workflow to go idle and complete.
func (o soakOpts) tail() time.Duration { return 2*o.idle + 30*time.Second }

// parseSoakFlags reads the flags of `recovery bench soak`.
func parseSoakFlags(args []string) (soakOpts, error) {
	var o soakOpts
	fs := flag.NewFlagSet("bench soak", flag.ContinueOnError)
	fs.IntVar(&o.orders, "orders", 100000, "correct orders to send (5 events each)")
	fs.Float64Var(&o.rate, "rate", 20, "orders sent per second (the 2-core development machine keeps up with 20)")
	fs.DurationVar(&o.sample, "sample", 5*time.Second, "time between samples")
	fs.DurationVar(&o.idle, "idle", 30*time.Second, "how long a delivered order's workflow waits before it completes (RECOVERY_ORDER_IDLE)")
	fs.StringVar(&o.out, "out", "", "`directory` for soak.csv, soak.svg and the processes' logs (default: a new temporary directory)")
	if err := fs.Parse(args); err != nil {
		return o, fmt.Errorf("%v: %w", err, errUsage)
	}
	switch {
	case fs.NArg() > 0:
		return o, fmt.Errorf("bench soak takes no arguments, only flags (%q): %w", fs.Args(), errUsage)
	case o.orders < 1:
		return o, fmt.Errorf("-orders must be 1 or more: %w", errUsage)
	case o.rate <= 0 || o.rate > 100000:
		return o, fmt.Errorf("-rate must be above 0 and at most 100000 orders per second: %w", errUsage)
	case o.sample < 100*time.Millisecond:
		return o, fmt.Errorf("-sample must be 100ms or more: %w", errUsage)
	case o.idle < time.Second:
		return o, fmt.Errorf("-idle must be 1s or more: %w", errUsage)
	}
	return o, nil
}

// runSoak is `recovery bench soak`.
func runSoak(ctx context.Context, cfg Config, args []string, stdout io.Writer, log *slog.Logger) error {
	o, err := parseSoakFlags(args)
	if err != nil {
		return err
	}
	return soak(ctx, cfg, o, stdout, log)
}

// soak runs one soak: infrastructure, the two processes, load and
// sampling, then the summary, the CSV and the plot.
func soak(ctx context.Context, cfg Config, o soakOpts, stdout io.Writer, log *slog.Logger) error {
	// The processes encrypt payloads as bench does: the configured keys
	// (their environment carries them) or the built-in dev key.
	var keyEnv []string
	if len(cfg.PayloadKeys) == 0 {
		keyEnv = []string{"RECOVERY_PAYLOAD_KEYS=" + codec.DevKeyID + ":" + codec.DevKeyBase64}
	}
	cfg = cfg.withDevPayloadKey()
	log = slog.New(levelFilter{log.Handler(), slog.LevelWarn})
	if o.binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("find this binary to run as serve and worker: %w", err)
		}
		o.binary = exe
	}
	out, err := soakDir(o.out)
	if err != nil {
		return err
	}
	dbURL, temporalAddr, cleanup, err := benchInfra(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer cleanup()
	if err := migrateDatabase(ctx, dbURL); err != nil {
		return err
	}
	key := "soak-" + rand.Text()
	env := append(append(append(os.Environ(), o.env...), keyEnv...),
		"DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+temporalAddr, "TEMPORAL_NAMESPACE="+cfg.Namespace,
		"RECOVERY_API_KEYS="+key, "RECOVERY_ORDER_IDLE="+o.idle.String(), "RECOVERY_RATE_LIMIT=0",
		"RECOVERY_METRICS_ADDR=", "RECOVERY_LOG_LEVEL=warn", "RECOVERY_WORKER_STOP_TIMEOUT=5s")
	serve, err := startSoakProc(ctx, o.binary, "serve", env, out)
	if err != nil {
		return err
	}
	defer serve.stop(log)
	worker, err := startSoakProc(ctx, o.binary, "worker", env, out)
	if err != nil {
		return err
	}
	defer worker.stop(log)
	csvPath, svgPath := filepath.Join(out, "soak.csv"), filepath.Join(out, "soak.svg")
	samples, err := newSoakCSV(csvPath)
	if err != nil {
		return err
	}
	defer samples.close() //nolint:errcheck // closed below; this is for the errors on the way
	r, err := newSoakRun(ctx, cfg, o, dbURL, temporalAddr, key, serve, worker, log)
	if err != nil {
		return err
	}
	defer r.close()
	r.csv = samples
	fmt.Fprintf(stdout, "recovery bench soak: %d correct orders (5 events each) at %g/s, a sample every %s, orders idle %s, "+
		"sampling %s after the last; serve pid %d, worker pid %d; %d CPUs\n",
		o.orders, o.rate, o.sample, o.idle, o.tail(), serve.cmd.Process.Pid, worker.cmd.Process.Pid, numCPU())
	if err := r.run(ctx); err != nil {
		return fmt.Errorf("%w\n%s", err, tailLogs(serve, worker))
	}
	if err := samples.close(); err != nil {
		return err
	}
	if err := writeSoakPlot(svgPath, r.samples, o); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "sent %d orders in %s (%.1f orders/s), then sampled %s more; %d samples\n",
		o.orders, r.loadTook.Round(100*time.Millisecond), float64(o.orders)/r.loadTook.Seconds(), o.tail(), len(r.samples))
	summarise(stdout, r.samples, o)
	fmt.Fprintf(stdout, "samples: %s\nplot:    %s\nlogs:    %s, %s\n", csvPath, svgPath, serve.logPath, worker.logPath)
	return nil
}

// soakDir makes the output directory: dir, or a new temporary one.
func soakDir(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "recovery-soak-")
		if err != nil {
			return "", fmt.Errorf("make a directory for the soak's output: %w", err)
		}
		return d, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("make -out %s: %w", dir, err)
	}
	return dir, nil
}

// migrateDatabase applies the migrations (before a bench's processes
// start, and before its baseline copies the events table).
func migrateDatabase(ctx context.Context, dbURL string) error {
	st, err := store.Open(ctx, dbURL, 2)
	if err != nil {
		return fmt.Errorf("open the database to migrate it: %w", err)
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// soakProc is one process of the engine under soak: serve or worker, with
// its own address (health and /metrics) and log file.
type soakProc struct {
	name    string
	addr    string
	cmd     *exec.Cmd
	logPath string
	logFile *os.File
	done    chan struct{}
}

// startSoakProc starts `binary role` on a free loopback port and waits
// until its /readyz answers 200.
func startSoakProc(ctx context.Context, binary, role string, env []string, dir string) (*soakProc, error) {
	port, err := freeLoopbackPort()
	if err != nil {
		return nil, err
	}
	p := &soakProc{name: role, addr: fmt.Sprintf("127.0.0.1:%d", port), logPath: filepath.Join(dir, role+".log"),
		done: make(chan struct{})}
	if p.logFile, err = os.Create(p.logPath); err != nil {
		return nil, fmt.Errorf("%s's log: %w", role, err)
	}
	p.cmd = exec.Command(binary, role)
	p.cmd.Env = append(slices.Clip(env), "RECOVERY_ADDR="+p.addr) // the last of a repeated setting wins
	p.cmd.Stdout, p.cmd.Stderr = p.logFile, p.logFile
	if err := p.cmd.Start(); err != nil {
		p.logFile.Close()
		return nil, fmt.Errorf("start %s %s: %w", binary, role, err)
	}
	go func() { p.cmd.Wait(); close(p.done) }() //nolint:errcheck
	if err := p.waitReady(ctx, 2*time.Minute); err != nil {
		p.stop(nil)
		return nil, fmt.Errorf("%w\n%s", err, p.logTail())
	}
	return p, nil
}

// freeLoopbackPort asks the kernel for a free port on 127.0.0.1.
func freeLoopbackPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls /readyz until it answers 200, the process exits or
// within passes.
func (p *soakProc) waitReady(ctx context.Context, within time.Duration) error {
	deadline := time.Now().Add(within)
	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+p.addr+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := hc.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%s)", p.name, p.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not ready on %s within %s", p.name, p.addr, within)
		}
	}
}

// stop sends SIGTERM and waits for the process, killing it after 20 s.
func (p *soakProc) stop(log *slog.Logger) {
	defer p.logFile.Close()
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM) //nolint:errcheck
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		if log != nil {
			log.Warn("killed: it did not stop within 20 s of SIGTERM", "process", p.name)
		}
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.done
	}
}

// logTail is the last lines of the process's log, for an error.
func (p *soakProc) logTail() string {
	raw, err := os.ReadFile(p.logPath)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	return p.name + " log (" + p.logPath + "), last lines:\n" + strings.Join(lines[max(0, len(lines)-20):], "\n")
}

func tailLogs(ps ...*soakProc) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString(p.logTail() + "\n")
	}
	return b.String()
}

// The sampled series, in the CSV's and the plot's order. Each value is
// kept raw (bytes, counts); scale turns it into unit for the summary and
// the plot.
const (
	sAPIRSS = iota
	sAPIHeap
	sAPIGoroutines
	sWorkerRSS
	sWorkerHeap
	sWorkerGoroutines
	sOpenWorkflows
	sPending
	sDBSize
	nSeries
)

// soakSeries describes one sampled series: its CSV column, its label in
// the summary and the plot, and the unit the label's figures are in
// (scale raw values per unit).
type soakSeries struct {
	column, label, unit string
	scale               float64
}

var soakSeriesList = [nSeries]soakSeries{
	sAPIRSS:           {"api_rss_bytes", "API RSS (MiB)", "MiB", 1 << 20},
	sAPIHeap:          {"api_heap_inuse_bytes", "API heap in use (MiB)", "MiB", 1 << 20},
	sAPIGoroutines:    {"api_goroutines", "API goroutines", "goroutines", 1},
	sWorkerRSS:        {"worker_rss_bytes", "worker RSS (MiB)", "MiB", 1 << 20},
	sWorkerHeap:       {"worker_heap_inuse_bytes", "worker heap in use (MiB)", "MiB", 1 << 20},
	sWorkerGoroutines: {"worker_goroutines", "worker goroutines", "goroutines", 1},
	sOpenWorkflows:    {"open_workflows", "open workflows", "workflows", 1},
	sPending:          {"pending_events", "pending events", "events", 1},
	sDBSize:           {"db_size_bytes", "database size (MiB)", "MiB", 1 << 20},
}

// soakSample is one sample: when, how many orders were sent by then,
// whether orders were still being sent, and each series' value (NaN: it
// could not be read).
type soakSample struct {
	elapsed float64 // seconds since the load began
	sent    int
	loading bool
	values  [nSeries]float64
}

// soakRun is one soak under way.
type soakRun struct {
	o       soakOpts
	log     *slog.Logger
	hc      *http.Client
	url     string
	key     string
	serve   *soakProc
	worker  *soakProc
	st      *store.Store
	pool    *pgxpool.Pool
	tc      client.Client
	ns      string
	start   time.Time
	sent    atomic.Int64
	samples []soakSample
	csv     *soakCSV
	// loadTook is how long sending every order took.
	loadTook time.Duration
	// warned keeps one warning per series that could not be read.
	warned [nSeries]bool
}

func newSoakRun(ctx context.Context, cfg Config, o soakOpts, dbURL, temporalAddr, key string, serve, worker *soakProc, log *slog.Logger) (*soakRun, error) {
	r := &soakRun{o: o, log: log, key: key, serve: serve, worker: worker, ns: cfg.Namespace,
		url: "http://" + serve.addr + "/v1/events",
		hc:  &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: soakSenders}, Timeout: 30 * time.Second}}
	var err error
	if r.st, err = store.Open(ctx, dbURL, 2); err != nil {
		return nil, fmt.Errorf("open the database to sample it: %w", err)
	}
	if r.pool, err = pgxpool.New(ctx, dbURL); err != nil {
		r.st.Close()
		return nil, fmt.Errorf("open the database to sample its size: %w", err)
	}
	opts := temporalOptions(cfg.temporalBase(temporalAddr), temporalAddr, cfg.Namespace, nil, log)
	opts.Logger = quietTemporalLogger(log)
	if r.tc, err = client.DialContext(ctx, opts); err != nil {
		r.pool.Close()
		r.st.Close()
		return nil, fmt.Errorf("temporal client for %s: %w", temporalAddr, err)
	}
	return r, nil
}

func (r *soakRun) close() {
	r.tc.Close()
	r.pool.Close()
	r.st.Close()
}

// run sends the orders while sampling every o.sample, then samples for
// o.tail() more. A process that exits ends the run with an error.
func (r *soakRun) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r.start = time.Now()
	loadDone := make(chan error, 1)
	go func() { loadDone <- r.load(ctx) }()
	defer func() {
		if loadDone != nil { // sampling failed: stop the load first
			cancel()
			<-loadDone
		}
	}()
	tick := time.NewTicker(r.o.sample)
	defer tick.Stop()
	if err := r.take(ctx, true); err != nil {
		return err
	}
	var tailEnd time.Time
	for {
		select {
		case err := <-loadDone:
			loadDone = nil
			if err != nil {
				return err
			}
			r.loadTook = time.Since(r.start)
			if err := r.take(ctx, true); err != nil { // the load's last sample: every order sent
				return err
			}
			tailEnd = time.Now().Add(r.o.tail())
		case <-tick.C:
			if err := r.take(ctx, loadDone != nil); err != nil {
				return err
			}
			if loadDone == nil && !time.Now().Before(tailEnd) {
				return nil
			}
		case <-r.serve.done:
			return fmt.Errorf("serve exited during the soak (%s)", r.serve.cmd.ProcessState)
		case <-r.worker.done:
			return fmt.Errorf("worker exited during the soak (%s)", r.worker.cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// soakSenders is how many batches may be in flight at once.
const soakSenders = 4

// load sends o.orders correct orders at o.rate per second, in batches on
// a fixed schedule: a batch whose time has come waits only for a free
// sender, so that a slow answer delays no later batch beyond it.
func (r *soakRun) load(ctx context.Context) error {
	perBatch := max(1, min(20, int(r.o.rate/10)))
	every := time.Duration(float64(perBatch) / r.o.rate * float64(time.Second))
	batches := make(chan []recovery.Event)
	errs := make(chan error, soakSenders)
	var wg sync.WaitGroup
	for range soakSenders {
		wg.Go(func() {
			for evs := range batches {
				if err := r.post(ctx, evs); err != nil {
					errs <- err
					return
				}
				r.sent.Add(int64(len(evs) / soakEventsPerOrder))
			}
		})
	}
	stamp := time.Now().UnixNano()
	var err error
schedule:
	for i, n := 0, 0; n < r.o.orders; i++ {
		if d := time.Until(r.start.Add(time.Duration(i) * every)); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				err = ctx.Err()
				break schedule
			}
		}
		k := min(perBatch, r.o.orders-n)
		evs := make([]recovery.Event, 0, k*soakEventsPerOrder)
		now := time.Now().UTC()
		for j := range k {
			evs = append(evs, correctOrder(fmt.Sprintf("soak-%d-%d", stamp, n+j), now)...)
		}
		n += k
		select {
		case batches <- evs:
		case err = <-errs:
			break schedule
		case <-ctx.Done():
			err = ctx.Err()
			break schedule
		}
	}
	close(batches)
	wg.Wait()
	close(errs)
	return cmp.Or(err, <-errs)
}

// soakEventsPerOrder is the length of correctOrder's journey.
const soakEventsPerOrder = 5

// correctOrder is the journey of an order that goes right: created,
// shipped, picked up, in transit, delivered.
func correctOrder(id string, now time.Time) []recovery.Event {
	evs := make([]recovery.Event, 0, soakEventsPerOrder)
	for k := range soakEventsPerOrder - 1 {
		evs = append(evs, benchEvent(id, k, now))
	}
	raw, _ := json.Marshal(recovery.TrackingData{OrderID: id, ShipmentID: "s-1", Carrier: "dhl", Status: recovery.StatusDelivered,
		Location: &recovery.Location{City: "Berlin", PostalCode: "10115", Country: "DE"}})
	return append(evs, recovery.Event{ID: fmt.Sprintf("%s-%d", id, soakEventsPerOrder-1), Source: "bench",
		Type: recovery.TypeShipmentTracking, Time: now.Add((soakEventsPerOrder - 1) * time.Minute),
		Subject: "order/" + id, Data: raw, OrderID: id})
}

// post sends one batch, trying three times: ingest is idempotent by event
// id, so a batch whose answer was lost is merely sent again.
func (r *soakRun) post(ctx context.Context, evs []recovery.Event) error {
	body := benchBody(evs)
	var err error
	for try := range 3 {
		if try > 0 {
			r.log.Warn("soak: batch failed, sending it again", "err", err)
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if err = postEvents(ctx, r.hc, r.url, r.key, body); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return fmt.Errorf("a batch of %d events failed three times: %w", len(evs), err)
}

// postEvents posts a body of events with an API key and wants 202.
func postEvents(ctx context.Context, hc *http.Client, url, key string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("POST /v1/events: %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// take records one sample and writes it to the CSV. A value that cannot
// be read is NaN, with one warning per series.
func (r *soakRun) take(ctx context.Context, loading bool) error {
	s := soakSample{elapsed: time.Since(r.start).Seconds(), sent: int(r.sent.Load()), loading: loading}
	for i := range s.values {
		s.values[i] = math.NaN()
	}
	ctx, cancel := context.WithTimeout(ctx, max(r.o.sample, 5*time.Second))
	defer cancel()
	for _, read := range []struct {
		into []int
		read func(context.Context) ([]float64, error)
	}{
		{[]int{sAPIRSS, sAPIHeap, sAPIGoroutines}, r.scraper(r.serve.addr)},
		{[]int{sWorkerRSS, sWorkerHeap, sWorkerGoroutines}, r.scraper(r.worker.addr)},
		{[]int{sOpenWorkflows}, r.openWorkflows},
		{[]int{sPending}, r.pending},
		{[]int{sDBSize}, r.dbSize},
	} {
		vals, err := read.read(ctx)
		r.note(&s, read.into, vals, err)
	}
	r.samples = append(r.samples, s)
	return r.csv.add(s)
}

// note puts read values into s at idx, or warns once per series.
func (r *soakRun) note(s *soakSample, idx []int, vals []float64, err error) {
	for k, i := range idx {
		if err == nil {
			s.values[i] = vals[k]
		} else if !r.warned[i] {
			r.warned[i] = true
			r.log.Warn("soak: a series could not be read (left empty)", "series", soakSeriesList[i].column, "err", err)
		}
	}
}

// soakMetrics are what each process's /metrics gives, in this order.
var soakMetrics = []string{"process_resident_memory_bytes", "go_memstats_heap_inuse_bytes", "go_goroutines"}

// scraper reads a process's RSS, heap in use and goroutines.
func (r *soakRun) scraper(addr string) func(context.Context) ([]float64, error) {
	return func(ctx context.Context) ([]float64, error) { return r.scrape(ctx, addr) }
}

func (r *soakRun) scrape(ctx context.Context, addr string) ([]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s/metrics: %s", addr, resp.Status)
	}
	return metricValues(resp.Body, soakMetrics)
}

// metricValues reads the values of unlabelled metrics from Prometheus'
// text format, in the order of names.
func metricValues(body io.Reader, names []string) ([]float64, error) {
	out := make([]float64, len(names))
	found := make([]bool, len(names))
	sc := bufio.NewScanner(body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		for i, n := range names {
			if name == n {
				v, err := strconv.ParseFloat(strings.Fields(val)[0], 64)
				if err != nil {
					return nil, fmt.Errorf("metric %s: %w", n, err)
				}
				out[i], found[i] = v, true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	for i, ok := range found {
		if !ok {
			return nil, fmt.Errorf("no metric %s", names[i])
		}
	}
	return out, nil
}

// openWorkflows counts the namespace's running workflows (a visibility
// query: it may lag a moment behind).
func (r *soakRun) openWorkflows(ctx context.Context) ([]float64, error) {
	res, err := r.tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: r.ns,
		Query: "ExecutionStatus = 'Running'"})
	if err != nil {
		return nil, fmt.Errorf("count running workflows: %w", err)
	}
	return []float64{float64(res.GetCount())}, nil
}

// pending counts the events the relay has yet to deliver.
func (r *soakRun) pending(ctx context.Context) ([]float64, error) {
	n, err := r.st.PendingCount(ctx)
	return []float64{float64(n)}, err
}

// dbSize is the size of every database on the server but the templates
// and postgres: the engine's and, on a throwaway server, Temporal's.
func (r *soakRun) dbSize(ctx context.Context) ([]float64, error) {
	var n int64
	err := r.pool.QueryRow(ctx, `SELECT coalesce(sum(pg_database_size(datname)), 0)::bigint
		FROM pg_database WHERE NOT datistemplate AND datname <> 'postgres'`).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("database size: %w", err)
	}
	return []float64{float64(n)}, nil
}

// soakCSV is soak.csv, written a row per sample as the run goes, so that
// a run cut short keeps what it sampled: elapsed seconds, orders sent,
// phase (load or idle), then each series raw (empty: unread).
type soakCSV struct {
	path string
	f    *os.File
	w    *csv.Writer
}

// newSoakCSV creates the file with its header.
func newSoakCSV(path string) (*soakCSV, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("soak CSV: %w", err)
	}
	c := &soakCSV{path: path, f: f, w: csv.NewWriter(f)}
	header := []string{"elapsed_s", "orders_sent", "phase"}
	for _, s := range soakSeriesList {
		header = append(header, s.column)
	}
	if err := c.write(header); err != nil {
		f.Close()
		return nil, err
	}
	return c, nil
}

// add writes one sample.
func (c *soakCSV) add(s soakSample) error {
	phase := "idle"
	if s.loading {
		phase = "load"
	}
	row := []string{strconv.FormatFloat(s.elapsed, 'f', 1, 64), strconv.Itoa(s.sent), phase}
	for _, v := range s.values {
		cell := ""
		if !math.IsNaN(v) {
			cell = strconv.FormatFloat(v, 'f', -1, 64)
		}
		row = append(row, cell)
	}
	return c.write(row)
}

func (c *soakCSV) write(row []string) error {
	c.w.Write(row) //nolint:errcheck // c.w.Error below
	c.w.Flush()
	if err := c.w.Error(); err != nil {
		return fmt.Errorf("soak CSV %s: %w", c.path, err)
	}
	return nil
}

func (c *soakCSV) close() error {
	if err := c.f.Close(); err != nil {
		return fmt.Errorf("soak CSV %s: %w", c.path, err)
	}
	return nil
}

// summarise prints each series' slope per 10,000 orders while orders were
// sent, the growth of memory and goroutines from the first orders to the
// last, and whether the workflows finished and the backlog drained.
func summarise(w io.Writer, samples []soakSample, o soakOpts) {
	orders := o.orders
	var sent []float64
	var loadIdx []int
	for i, s := range samples {
		if s.loading {
			loadIdx = append(loadIdx, i)
			sent = append(sent, float64(s.sent))
		}
	}
	col := func(series int, only []int) []float64 {
		out := make([]float64, len(only))
		for k, i := range only {
			out[k] = samples[i].values[series]
		}
		return out
	}
	for i, s := range soakSeriesList {
		name := s.label + " per 10,000 orders"
		if m, ok := slope(sent, col(i, loadIdx)); ok {
			fmt.Fprintf(w, "slope  %-48s %+10.2f\n", name, m*10000/s.scale)
		} else {
			fmt.Fprintf(w, "slope  %-48s %10s\n", name, "n/a")
		}
	}
	window, size := "10,000", 10000.0
	if orders < 20000 {
		window, size = "10%", float64(orders)/10
	}
	fmt.Fprintf(w, "growth: the mean of the samples over the last %s of the orders against the first %s\n", window, window)
	// Open workflows, and the worker's goroutines and memory with them,
	// climb for the first idle time, until orders finish as fast as they
	// come; a first window not much longer than that climb holds little
	// else.
	if ramp := o.rate * o.idle.Seconds(); ramp > size/10 {
		fmt.Fprintf(w, "note: the first window (%.0f orders) is mostly the climb to a steady state (%.0f orders, -rate x -idle): "+
			"the worker's growth means little in so short a run\n", size, ramp)
	}
	for _, i := range []int{sAPIRSS, sWorkerRSS, sAPIGoroutines, sWorkerGoroutines} {
		label, _, _ := strings.Cut(soakSeriesList[i].label, " (")
		name := fmt.Sprintf("%s growth, first-last %s (%%)", label, window)
		pct, _, _, ok := growth(sent, col(i, loadIdx), orders)
		if !ok {
			pct = math.NaN()
		}
		verdict(w, name, pct, "<=", 10)
	}
	all := make([]int, len(samples))
	for i := range all {
		all[i] = i
	}
	open := col(sOpenWorkflows, all)
	peak := math.NaN()
	for _, v := range open {
		if !math.IsNaN(v) && (math.IsNaN(peak) || v > peak) {
			peak = v
		}
	}
	end := math.NaN()
	if len(samples) > 0 {
		end = samples[len(samples)-1].values[sOpenWorkflows]
	}
	verdict(w, fmt.Sprintf("open workflows at the end (peak %.0f)", peak), end, "<=", openTarget(orders))
	pendingEnd := math.NaN()
	if len(samples) > 0 {
		pendingEnd = samples[len(samples)-1].values[sPending]
	}
	verdict(w, "pending events at the end", pendingEnd, "<=", 0)
}

// openTarget is how many workflows may still be open at the end: back
// near zero: 10, or 0.01% of the orders when that is more.
func openTarget(orders int) float64 { return max(10, math.Floor(float64(orders)/10000)) }

// slope is the least-squares slope of ys against xs, skipping NaNs; false
// when fewer than two points or a single x remain.
func slope(xs, ys []float64) (float64, bool) {
	var n, sx, sy float64
	for i := range xs {
		if !math.IsNaN(xs[i]) && !math.IsNaN(ys[i]) {
			n, sx, sy = n+1, sx+xs[i], sy+ys[i]
		}
	}
	if n < 2 {
		return 0, false
	}
	mx, my := sx/n, sy/n
	var sxy, sxx float64
	for i := range xs {
		if !math.IsNaN(xs[i]) && !math.IsNaN(ys[i]) {
			sxy += (xs[i] - mx) * (ys[i] - my)
			sxx += (xs[i] - mx) * (xs[i] - mx)
		}
	}
	if sxx == 0 {
		return 0, false
	}
	return sxy / sxx, true
}

// growth compares the mean of ys over the first orders sent with the mean
// over the last (sent is the orders sent at each sample, orders the
// run's total): windows of 10,000 orders, or 10% of the orders in a run
// under 20,000. The first window takes samples with 0 < sent <= window
// (the first sample after 0 when none), the last those with sent >=
// orders - window (the last sample when none); NaNs are skipped. It
// returns the growth in percent and both means; false when a window has
// no value or the first mean is 0.
func growth(sent, ys []float64, orders int) (pct, first, last float64, ok bool) {
	w := 10000.0
	if orders < 20000 {
		w = float64(orders) / 10
	}
	mean := func(in func(float64) bool) (float64, bool) {
		var sum, n float64
		for i := range sent {
			if in(sent[i]) && !math.IsNaN(ys[i]) {
				sum, n = sum+ys[i], n+1
			}
		}
		return sum / n, n > 0
	}
	first, ok1 := mean(func(x float64) bool { return x > 0 && x <= w })
	if !ok1 {
		for i := range sent {
			if sent[i] > 0 && !math.IsNaN(ys[i]) {
				first, ok1 = ys[i], true
				break
			}
		}
	}
	last, ok2 := mean(func(x float64) bool { return x >= float64(orders)-w })
	if !ok2 {
		for i := len(sent) - 1; i >= 0; i-- {
			if !math.IsNaN(ys[i]) {
				last, ok2 = ys[i], true
				break
			}
		}
	}
	if !ok1 || !ok2 || first == 0 {
		return 0, first, last, false
	}
	return (last - first) / first * 100, first, last, true
}

package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/brands"
	"github.com/recoveryhq/recovery/internal/catalog"
	"github.com/recoveryhq/recovery/internal/codec"
	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/metrics"
	"github.com/recoveryhq/recovery/internal/outbound"
	"github.com/recoveryhq/recovery/internal/policy"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/tracing"
	"github.com/recoveryhq/recovery/internal/web"
	"github.com/recoveryhq/recovery/workflows"
)

// How many activities a worker runs at once: on the workflows' queue
// (each may hold a database connection), and on each provider's queue.
const (
	workerActivities = 16 // webhooks, and older histories' database steps
	workerLocalSteps = 16 // database steps as local activities
	sendActivities   = 16
	// workerPollers long-poll each of the workflows' task queues (workflow
	// and activity tasks): a task that finds a poller waiting is handed
	// over at once, one that finds none is written to Temporal's database
	// and read back, which costs a burst several times more.
	workerPollers = 8
)

// poolSize sizes the database pool for the roles a process runs: the
// API's handlers and the inbox's flushers, the relay's claims, LISTEN and
// mailbox, and the worker's activities (workerActivities and
// workerLocalSteps at once, and the sends' ledger writes). It stays well
// under Postgres's default of 100 connections for a process that runs
// every role.
func poolSize(p parts) int32 {
	n := int32(2)
	if p.api {
		n += 24
	}
	if p.relay {
		n += 4
	}
	if p.worker {
		n += workerActivities + workerLocalSteps + sendActivities
	}
	return n
}

// parts selects which roles a process runs.
type parts struct {
	api, relay, worker bool
}

// stack is a running set of roles against one database and one Temporal.
type stack struct {
	// templates are the messages' words (nil: the built-ins); brands the
	// shops the deployment speaks for (nil: one).
	templates *messaging.Templates
	brands    *brands.Set
	// metrics are this process's, served at /metrics; extraServers are
	// listeners beside the main one (metrics), shut down with it.
	metrics      *metrics.Metrics
	extraServers []*http.Server
	// acts are the worker's activities (nil without a worker); namespace
	// is the Temporal namespace they work in.
	acts      *activities.Activities
	namespace string
	log       *slog.Logger
	store     *store.Store
	temporal  client.Client
	inbox     *store.Inbox
	relay     *relay.Relay
	// workers: the workflows' queue, then one queue per provider whose
	// sends are rate-limited across every worker.
	workers  []worker.Worker
	http     *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	// workerStarted is set once the worker runs (it waits for Temporal).
	workerStarted atomic.Bool
	// codec encrypts temporal's payloads (nil: they are not encrypted).
	codec *codec.Codec
	// traces is the tracer provider (nil: nothing is traced); ownTraces
	// says this stack built it and shuts it down.
	traces    *sdktrace.TracerProvider
	ownTraces bool
}

// startStack migrates the database and starts the selected roles. The HTTP
// listener is bound before it returns, so its address is known.
func startStack(ctx context.Context, cfg Config, dbURL, temporalAddr string, p parts, dev bool, log *slog.Logger) (*stack, error) {
	s := &stack{log: log, metrics: metrics.New()}
	pol := policy.Default()
	if cfg.PolicyFile != "" && p.worker {
		var err error
		if pol, err = policy.Load(cfg.PolicyFile); err != nil {
			return nil, fmt.Errorf("RECOVERY_POLICY_FILE:\n%w", err)
		}
	}
	var tmpl *messaging.Templates
	if p.worker || p.api { // what messages say, and what pages, calls and SMS replies say
		var err error
		if tmpl, err = loadTemplates(cfg.TemplatesDir, log); err != nil {
			return nil, err
		}
	}
	s.templates = tmpl
	if cfg.BrandsFile != "" && (p.worker || p.api) {
		var err error
		if s.brands, err = brands.Load(cfg.BrandsFile); err != nil {
			return nil, fmt.Errorf("RECOVERY_BRANDS:\n%w", err)
		}
		if err := s.brands.LoadTemplates(tmpl); err != nil {
			return nil, fmt.Errorf("RECOVERY_BRANDS:\n%w", err)
		}
		log.Info("brands loaded", "brands", len(s.brands.Brands()))
	}
	var err error
	if s.store, err = openDatabase(ctx, dbURL, store.Options{MaxConns: poolSize(p), Logger: log,
		OptOutKey: cfg.optOutKey(dev)}, log); err != nil {
		return nil, err
	}
	if err := loadCatalog(ctx, s.store, cfg, dev, log); err != nil {
		s.store.Close()
		return nil, err
	}
	if s.codec, err = cfg.payloadCodec(); err != nil {
		s.store.Close()
		return nil, fmt.Errorf("RECOVERY_PAYLOAD_KEYS: %w", err)
	}
	if s.traces = cfg.Traces; s.traces == nil && cfg.OTLPEndpoint != "" {
		if s.traces, err = tracing.OTLP(ctx, cfg.ServiceName); err != nil {
			s.store.Close()
			return nil, err
		}
		s.ownTraces = true
	}
	if p.relay || p.worker || p.api {
		// Lazy: nothing here waits for Temporal. The API takes events while
		// it is away, the relay keeps them until it returns, and the worker
		// starts once it answers.
		opts := temporalOptions(cfg.temporalBase(temporalAddr), temporalAddr, cfg.Namespace, s.codec, log)
		if opts.MetricsHandler, err = s.metrics.TemporalHandler(); err != nil {
			s.store.Close()
			return nil, fmt.Errorf("temporal metrics: %w", err)
		}
		if s.traces != nil {
			ti, err := tracing.TemporalInterceptor(s.traces)
			if err != nil {
				s.store.Close()
				return nil, fmt.Errorf("temporal tracing: %w", err)
			}
			opts.Interceptors = append(opts.Interceptors, ti)
		}
		s.temporal, err = client.NewLazyClient(opts)
		if err != nil {
			s.store.Close()
			return nil, fmt.Errorf("temporal client for %s: %w", temporalAddr, err)
		}
	}
	// The API listens on RECOVERY_ADDR, bound first: customer links in
	// messages name its address. A relay or a worker alone serves its
	// health there when RECOVERY_ADDR is set.
	if p.api || cfg.AddrSet {
		if s.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
			s.Stop()
			return nil, fmt.Errorf("listen on %s (set RECOVERY_ADDR to use another address): %w", cfg.Addr, err)
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	if p.worker {
		wf := worker.New(s.temporal, cfg.TaskQueue, worker.Options{WorkerStopTimeout: cfg.WorkerStopTimeout,
			MaxConcurrentActivityExecutionSize: workerActivities, MaxConcurrentLocalActivityExecutionSize: workerLocalSteps,
			MaxConcurrentWorkflowTaskPollers: workerPollers, MaxConcurrentActivityTaskPollers: workerPollers})
		s.workers = []worker.Worker{wf}
		var outbox recovery.Outbox = s.store // capture: kept in captured_webhooks
		if cfg.OutboundURL != "" {
			outbox = &outbound.Sender{URL: cfg.OutboundURL, Secret: cfg.OutboundSecret}
		}
		messenger := cfg.messenger(&messaging.Capture{Sink: s.store}, dev)
		var missing []string
		for _, ch := range []string{recovery.ChannelVoice, recovery.ChannelSMS, recovery.ChannelEmail} {
			if !messenger.Sends(ch) {
				missing = append(missing, ch)
			}
		}
		if len(missing) > 0 {
			log.Warn("no provider configured: ladder steps on these channels are skipped", "channels", missing)
		}
		acts := &activities.Activities{
			Tracer:   s.tracer(),
			Metrics:  s.metrics,
			Policy:   pol,
			Store:    s.store,
			Remedies: s.store,
			Outbox:   outbox,
			Settings: activities.RemedySettings{DailyBudget: cfg.DailyBudget, WebhookAttempts: cfg.WebhookAttempts,
				WebhookInterval: cfg.WebhookRetry, Windows: cfg.windows(dev), StepTimeout: cfg.LadderStep,
				Reporting: cfg.reporting(), ConfirmWait: cfg.ConfirmWait},
			Consent:     s.store,
			Links:       cfg.signer(dev, s.Addr()),
			ReplyDomain: cfg.ReplyDomain,
			LinkTTL:     cfg.LinkTTL,
			Messenger:   messenger,
			Remedy: recovery.RemedyConfig{Remedy: recovery.RemedyDiscount,
				DiscountPercent: cfg.DiscountPercent, MaxMinor: cfg.DiscountMax},
			Detection: cfg.Detection,
			Templates: tmpl,
			Brands:    s.brands,
		}
		workflows.Register(wf, acts)
		if n := cfg.notifier(s.store, messenger, dev, s.Addr(), log); n != nil {
			s.wg.Go(func() { n.Run(runCtx) })
		}
		if len(cfg.DigestTo) > 0 && messenger.Sends(recovery.ChannelEmail) {
			d := &console.Digest{Wall: s.store, Insights: s.store, Mail: messenger, To: cfg.DigestTo, ConsoleURL: cfg.ConsoleURL, Logger: log}
			s.wg.Go(func() { d.Run(runCtx) })
		}
		s.acts, s.namespace = acts, cfg.Namespace
		for _, p := range []struct {
			channel string
			rate    float64
		}{{recovery.ChannelEmail, cfg.SendGridRPS}, {recovery.ChannelSMS, cfg.TwilioRPS}} {
			w := worker.New(s.temporal, workflows.SendQueue(cfg.TaskQueue, p.channel), worker.Options{
				WorkerStopTimeout: cfg.WorkerStopTimeout, TaskQueueActivitiesPerSecond: p.rate,
				MaxConcurrentActivityExecutionSize: sendActivities})
			w.RegisterActivity(acts)
			s.workers = append(s.workers, w)
		}
		s.wg.Go(func() { s.startWorker(runCtx) })
	}
	if p.relay {
		s.relay = relay.New(s.store, relay.TemporalSignaler{Client: s.temporal, TaskQueue: cfg.TaskQueue},
			relay.Config{Lease: cfg.RelayLease, Tracer: s.tracer()}, log)
		s.wg.Go(func() { s.relay.Run(runCtx) }) //nolint:errcheck
		s.wg.Go(func() { deliverMail(runCtx, s.store, s.temporal, log) })
		if cfg.Retention > 0 {
			s.wg.Go(func() { purgeOld(runCtx, s.store, cfg.Retention, log) })
		}
	}
	if p.api || p.relay {
		s.metrics.WatchDatabase(func(ctx context.Context) (metrics.Gauges, error) {
			b, err := s.store.Backlog(ctx)
			if err != nil {
				return metrics.Gauges{}, err
			}
			waiting, err := s.store.AwaitingApproval(ctx)
			return metrics.Gauges{Pending: b.Pending, OldestPending: b.Oldest, Dead: b.Dead, AwaitingApproval: waiting}, err
		})
	}
	switch {
	case p.api:
		if err := s.serveHTTP(cfg, dev, p); err != nil {
			s.Stop()
			return nil, err
		}
	case s.listener != nil:
		s.serveHealth(p)
	}
	if cfg.MetricsAddr != "" {
		if err := s.serveMetrics(cfg.MetricsAddr); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

// serveMetrics serves /metrics on its own listener (RECOVERY_METRICS_ADDR).
func (s *stack) serveMetrics(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (RECOVERY_METRICS_ADDR): %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("metrics server stopped", "err", err)
		}
	})
	s.extraServers = append(s.extraServers, srv)
	return nil
}

// temporalOptions are the options of a Temporal client of this service:
// with a codec, every payload it writes is encrypted (inputs, results,
// signals, updates, queries, memos, heartbeats, failure details), and so
// are failures' messages and stack traces (EncodeCommonAttributes); what
// it reads is decrypted, and payloads written before encryption are read
// as they are. Workers inherit it from their client.
func temporalOptions(base client.Options, addr, namespace string, pc *codec.Codec, log *slog.Logger) client.Options {
	o := base
	o.HostPort, o.Namespace, o.Logger = addr, namespace, temporalLogger(log)
	if pc != nil {
		o.DataConverter = codec.DataConverter(pc)
		o.FailureConverter = temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
			DataConverter: o.DataConverter, EncodeCommonAttributes: true})
	}
	return o
}

// startWorkers starts every worker, or none.
func (s *stack) startWorkers() error {
	for i, w := range s.workers {
		if err := w.Start(); err != nil {
			for _, started := range s.workers[:i] {
				started.Stop()
			}
			return err
		}
	}
	return nil
}

// startWorker starts the worker once Temporal answers, retrying until
// then; its pollers reconnect by themselves after that.
func (s *stack) startWorker(ctx context.Context) {
	backoff := 200 * time.Millisecond
	for ctx.Err() == nil {
		hctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.temporal.CheckHealth(hctx, &client.CheckHealthRequest{})
		cancel()
		if err == nil {
			s.detectSearchAttributes(ctx, s.namespace)
			if err = s.startWorkers(); err == nil {
				s.workerStarted.Store(true)
				s.log.Info("worker started")
				return
			}
		}
		s.log.Warn("worker waits for Temporal", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// checks are the readiness checks of this process's roles. The API needs
// Postgres only: in serve the relay and the worker are shown but
// Temporal's absence never stops ingest; in dev they decide too, so that
// a ready dev stack handles what it is sent. A process that is only a
// relay or a worker is ready when its role is.
func (s *stack) checks(p parts, dev bool) []web.Check {
	optional := p.api && !dev
	checks := []web.Check{{Name: "database", Ready: s.store.Ping}}
	if p.api {
		checks[0].Name = "ingest"
	}
	if p.relay {
		checks = append(checks, web.Check{Name: "relay", Ready: s.relay.Ready, Optional: optional,
			Details: func(ctx context.Context) (any, error) {
				b, err := s.store.Backlog(ctx)
				return map[string]any{"pending": b.Pending, "oldest_pending_seconds": b.Oldest.Seconds(),
					"dead": b.Dead}, err
			}})
	}
	if p.worker {
		checks = append(checks, web.Check{Name: "worker", Optional: optional, Ready: func(context.Context) error {
			if !s.workerStarted.Load() {
				return relay.HealthError("the worker waits for Temporal")
			}
			return nil
		}})
	}
	return checks
}

// serveHealth serves /healthz and /readyz for a process without the API
// (a relay or a worker) on its listener.
func (s *stack) serveHealth(p parts) {
	srv := &web.Server{Checks: s.checks(p, false), Logger: s.log, Metrics: s.metrics}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle("/", srv.HealthHandler())
	s.serve(mux)
}

// serve runs the HTTP server on the listener.
func (s *stack) serve(handler http.Handler) {
	ln := s.listener
	s.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	s.wg.Go(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	})
}

// inboxFlushers is how many group commits of events may be in flight at
// once. Two keep ingest going while one commit waits for the disk (or
// for a lock), and let the groups grow: on 2 cores, 32 clients posting
// one event each made groups of 4 events with 4 flushers and of 7.5 with
// 2, which took single-event ingest from 8,100 to 11,200 events/s (less
// CPU per event in both the API and Postgres).
const inboxFlushers = 2

func (s *stack) serveHTTP(cfg Config, dev bool, p parts) error {
	s.inbox = store.NewInbox(s.store, inboxFlushers, 1000)
	s.inbox.OnCommit = s.metrics.Commit
	if err := cfg.checkCredentials(dev); err != nil {
		return err
	}
	srv := &web.Server{Templates: s.templates, Brands: s.brands, Inbox: s.inbox, Incidents: s.store, Credentials: cfg.credentials(dev), EventSigners: cfg.eventSigners(dev),
		Checks: s.checks(p, dev), Logger: s.log, WebhookSecrets: cfg.secrets(dev), Tracking: s.store, Codes: s.store, Events: s.store, Insights: s.store,
		Privacy: s.store, Replays: s.store, PublicURL: cfg.PublicURL}
	srv.Remedies = remedyClient{client: s.temporal, mail: s.store}
	srv.RateLimit = web.RateLimit{PerSecond: cfg.RateLimit}
	srv.Customers = customers{Store: s.store, temporal: s.temporal}
	srv.Links = cfg.signer(dev, s.Addr())
	srv.Twilio = web.TwilioWebhooks{AuthToken: cfg.Twilio.AuthToken, PublicURL: cfg.PublicURL}
	srv.SendGrid = web.SendGridWebhooks{PublicKey: cfg.SendGridKey}
	srv.Ops = web.OpsContact{Phone: cfg.OpsPhone, Email: cfg.OpsEmail}
	if cfg.InboundSecret != "" {
		srv.Inbound = web.InboundReplies{Secret: cfg.InboundSecret, Signer: cfg.signer(dev, s.Addr()), Replies: s.store}
	}
	if dev {
		srv.Dev = s.store
	}
	srv.Metrics = s.metrics
	handler := srv.Handler()
	if s.traces != nil {
		handler = tracing.Server(s.tracer(), handler)
	}
	// /metrics on the main listener, outside the API's routes (a scraper
	// holds no API key), unless RECOVERY_METRICS_ADDR gives it its own.
	outer := http.NewServeMux()
	if cfg.MetricsAddr == "" {
		outer.Handle("GET /metrics", s.metrics.Handler())
	}
	if dev {
		// Dev serves the codec server protocol itself under /codec/, so
		// that a Temporal UI pointed at http://<RECOVERY_ADDR>/codec shows
		// the payloads. It authorises its callers itself (a loopback
		// caller, a read key, an OIDC token), outside the API's routes.
		outer.Handle("/codec/", http.StripPrefix("/codec", s.codecServer(cfg, true).Handler()))
	}
	// The ops console, beside the API, acting through the same interfaces.
	cons := (&console.Server{Remedies: srv.Remedies, Logger: s.log, Insecure: dev, TemporalUI: cfg.TemporalUIURL,
		Namespace: cfg.Namespace, OIDC: cfg.ConsoleOIDC, NoPasswords: cfg.ConsoleNoPasswords}).WithStore(s.store)
	cons.Policies = consolePolicies(cfg, s.store, s.log)
	outer.Handle("/console/", cons.Handler())
	outer.Handle("GET /console", http.RedirectHandler("/console/", http.StatusMovedPermanently))
	outer.Handle("/", handler)
	s.serve(outer)
	return nil
}

// notifier tells approvers by email what waits for them in the console,
// from a worker with an email provider (dev: captured), when the
// console's address is known (RECOVERY_CONSOLE_URL, RECOVERY_PUBLIC_URL,
// or dev's own) and RECOVERY_NOTIFY_EVERY is not 0.
func (c Config) notifier(st *store.Store, mail messaging.Router, dev bool, addr string, log *slog.Logger) *console.Notifier {
	url := c.ConsoleURL
	if url == "" && dev {
		url = "http://" + cmp.Or(addr, c.Addr) + "/console"
	}
	switch {
	case c.NotifyEvery == 0:
		return nil
	case url == "":
		log.Info("approvers get no emails: set RECOVERY_CONSOLE_URL or RECOVERY_PUBLIC_URL for the console's links")
		return nil
	case !mail.Sends(recovery.ChannelEmail):
		log.Info("approvers get no emails: no email provider (SENDGRID_API_KEY)")
		return nil
	}
	return &console.Notifier{Incidents: st, Store: st, Mail: mail, ConsoleURL: url, Every: c.NotifyEvery, Logger: log}
}

// loadCatalog loads RECOVERY_CATALOG_FILE, or in dev the seed catalog
// (only into an empty catalog, so stock changes survive restarts).
func loadCatalog(ctx context.Context, st *store.Store, cfg Config, dev bool, log *slog.Logger) error {
	var ps []recovery.Product
	switch {
	case cfg.CatalogFile != "":
		var err error
		if ps, err = catalog.Load(cfg.CatalogFile); err != nil {
			return fmt.Errorf("RECOVERY_CATALOG_FILE: %w", err)
		}
	case dev:
		if n, err := st.ProductCount(ctx); err != nil || n > 0 {
			return err
		}
		ps = catalog.DevSeed()
	default:
		return nil
	}
	if err := st.UpsertProducts(ctx, ps); err != nil {
		return err
	}
	log.Info("loaded catalog", "products", len(ps))
	return nil
}

// Addr returns the bound HTTP address.
func (s *stack) Addr() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Stop shuts the roles down in dependency order: stop taking requests,
// commit what was queued, stop relaying, stop the worker.
func (s *stack) Stop() {
	if s.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.http.Shutdown(ctx) //nolint:errcheck
		cancel()
	} else if s.listener != nil {
		s.listener.Close() //nolint:errcheck
	}
	for _, srv := range s.extraServers {
		srv.Close() //nolint:errcheck
	}
	if s.inbox != nil {
		s.inbox.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.workerStarted.Load() {
		for _, w := range s.workers {
			w.Stop()
		}
	}
	if s.temporal != nil {
		s.temporal.Close()
	}
	s.store.Close()
	if s.ownTraces {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.traces.Shutdown(ctx) //nolint:errcheck
		cancel()
	}
}

// tracer is the service's tracer (a no-op one when nothing is traced).
func (s *stack) tracer() trace.Tracer {
	if s.traces == nil {
		return tracing.Tracer(nil)
	}
	return tracing.Tracer(s.traces)
}

// consolePolicies is the active remedy policy for the console's policy
// page (RECOVERY_POLICY_FILE, or the built-in one), and the store's past
// incidents for its dry-runs. A policy file that does not load is shown as
// such; the worker refuses to start with it.
func consolePolicies(cfg Config, st *store.Store, log *slog.Logger) console.Policies {
	ps := console.Policies{Active: policy.Default(), Source: string(policy.DefaultText()), Past: console.PastFrom(st)}
	if cfg.PolicyFile == "" {
		return ps
	}
	text, err := os.ReadFile(cfg.PolicyFile)
	if err == nil {
		ps.Active, err = policy.Parse(cfg.PolicyFile, text)
	}
	if err != nil {
		log.Warn("the console shows no policy: RECOVERY_POLICY_FILE does not load", "err", err)
		ps.Active, ps.Source = nil, "RECOVERY_POLICY_FILE ("+cfg.PolicyFile+") does not load:\n"+err.Error()
		return ps
	}
	ps.Source = string(text)
	return ps
}

// DatabaseWait is how long a process waits at start for Postgres (one that
// restarts, or is not up yet) before it gives up.
const DatabaseWait = 60 * time.Second

// openDatabase opens the database and applies the migrations, waiting up
// to DatabaseWait for a Postgres that does not answer or drops the
// connection (a restart, a failover): a process started meanwhile comes
// up once it is back, instead of exiting. A URL that does not parse fails
// at once.
func openDatabase(ctx context.Context, dbURL string, o store.Options, log *slog.Logger) (*store.Store, error) {
	deadline := time.Now().Add(DatabaseWait)
	backoff := 250 * time.Millisecond
	for {
		st, err := store.OpenWith(ctx, dbURL, o)
		if err == nil {
			var n int
			if n, err = st.Migrate(ctx); err == nil {
				if n > 0 {
					log.Info("applied migrations", "count", n)
				}
				return st, nil
			}
			st.Close()
		}
		var parse *pgconn.ParseConfigError
		if errors.As(err, &parse) || ctx.Err() != nil || time.Now().Add(backoff).After(deadline) {
			return nil, err
		}
		log.Warn("waiting for Postgres", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// loadTemplates merges RECOVERY_TEMPLATES_DIR over the built-in message
// templates and renders every message once: a template that does not
// parse or render stops the start, with its file and line, rather than a
// send. What is only doubtful (an SMS over its segments) is logged.
func loadTemplates(dir string, log *slog.Logger) (*messaging.Templates, error) {
	tmpl, err := messaging.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("RECOVERY_TEMPLATES_DIR (%s): the message templates do not render "+
			"(`recovery templates check` lists the same):\n%w", dir, err)
	}
	for _, o := range tmpl.Overrides() {
		log.Info("message templates overridden", "file", o.Path, "lang", o.Lang, "added_language", o.Added,
			"defines", strings.Join(o.Defines, ","))
	}
	for _, w := range tmpl.Warnings() {
		log.Warn("message template", "problem", w.String())
	}
	return tmpl, nil
}

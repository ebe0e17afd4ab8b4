package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/recoveryhq/recovery/activities"
	"github.com/recoveryhq/recovery/internal/catalog"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/outbound"
	"github.com/recoveryhq/recovery/internal/policy"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/relay"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/web"
	"github.com/recoveryhq/recovery/workflows"
)

// parts selects which roles a process runs.
type parts struct {
	api, relay, worker bool
}

// stack is a running set of roles against one database and one Temporal.
type stack struct {
	log      *slog.Logger
	store    *store.Store
	temporal client.Client
	inbox    *store.Inbox
	relay    *relay.Relay
	worker   worker.Worker
	http     *http.Server
	listener net.Listener
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startStack migrates the database and starts the selected roles. The HTTP
// listener is bound before it returns, so its address is known.
func startStack(ctx context.Context, cfg Config, dbURL, temporalAddr string, p parts, dev bool, log *slog.Logger) (*stack, error) {
	s := &stack{log: log}
	pol := policy.Default()
	if cfg.PolicyFile != "" && p.worker {
		var err error
		if pol, err = policy.Load(cfg.PolicyFile); err != nil {
			return nil, fmt.Errorf("RECOVERY_POLICY_FILE:\n%w", err)
		}
	}
	var err error
	if s.store, err = store.Open(ctx, dbURL, 40); err != nil {
		return nil, err
	}
	if n, err := s.store.Migrate(ctx); err != nil {
		s.store.Close()
		return nil, err
	} else if n > 0 {
		log.Info("applied migrations", "count", n)
	}
	if err := loadCatalog(ctx, s.store, cfg, dev, log); err != nil {
		s.store.Close()
		return nil, err
	}
	if p.relay || p.worker {
		s.temporal, err = client.Dial(client.Options{HostPort: temporalAddr, Namespace: cfg.Namespace,
			Logger: quietTemporalLogger(log)})
		if err != nil {
			s.store.Close()
			return nil, fmt.Errorf("connect to temporal at %s: %w", temporalAddr, err)
		}
	}
	if p.api {
		// Bound first: customer links in messages name its address.
		if s.listener, err = net.Listen("tcp", cfg.Addr); err != nil {
			s.Stop()
			return nil, fmt.Errorf("listen on %s (set RECOVERY_ADDR to use another address): %w", cfg.Addr, err)
		}
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	var workerReady atomic.Bool
	if p.worker {
		s.worker = worker.New(s.temporal, workflows.TaskQueue, worker.Options{})
		var outbox recovery.Outbox = s.store // capture: kept in captured_webhooks
		if cfg.OutboundURL != "" {
			outbox = &outbound.Sender{URL: cfg.OutboundURL, Secret: cfg.OutboundSecret}
		}
		acts := &activities.Activities{
			Policy:   pol,
			Store:    s.store,
			Remedies: s.store,
			Outbox:   outbox,
			Settings: activities.RemedySettings{DailyBudget: cfg.DailyBudget, WebhookAttempts: cfg.WebhookAttempts,
				WebhookInterval: cfg.WebhookRetry, Windows: cfg.windows(dev), StepTimeout: cfg.LadderStep},
			Consent:   s.store,
			Links:     cfg.signer(dev, s.Addr()),
			LinkTTL:   cfg.LinkTTL,
			Messenger: cfg.messenger(&messaging.Capture{Sink: s.store}),
			Remedy: recovery.RemedyConfig{Remedy: recovery.RemedyDiscount,
				DiscountPercent: cfg.DiscountPercent, MaxMinor: cfg.DiscountMax},
			Detection: cfg.Detection,
		}
		workflows.Register(s.worker, acts)
		if err := s.worker.Start(); err != nil {
			s.Stop()
			return nil, fmt.Errorf("start worker: %w", err)
		}
		workerReady.Store(true)
	}
	if p.relay {
		s.relay = relay.New(s.store, relay.TemporalSignaler{Client: s.temporal}, relay.Config{}, log)
		s.wg.Go(func() { s.relay.Run(runCtx) }) //nolint:errcheck
	}
	if p.api {
		if err := s.serveHTTP(cfg, dev, p, &workerReady); err != nil {
			s.Stop()
			return nil, err
		}
	}
	return s, nil
}

func (s *stack) serveHTTP(cfg Config, dev bool, p parts, workerReady *atomic.Bool) error {
	s.inbox = store.NewInbox(s.store, 4, 1000)
	checks := []web.Check{{Name: "ingest", Ready: s.store.Ping}}
	if p.relay {
		checks = append(checks, web.Check{Name: "relay", Ready: s.relay.Ready})
	}
	if p.worker {
		checks = append(checks, web.Check{Name: "worker", Ready: func(context.Context) error {
			if !workerReady.Load() {
				return errors.New("worker not started")
			}
			return nil
		}})
	}
	srv := &web.Server{Inbox: s.inbox, Incidents: s.store, APIKeys: cfg.keys(dev), Checks: checks, Logger: s.log,
		WebhookSecrets: cfg.secrets(dev), Tracking: s.store, Approvers: cfg.approvers(dev), Codes: s.store, Events: s.store}
	if s.temporal != nil {
		srv.Remedies = remedyClient{client: s.temporal}
	}
	srv.Customers = customers{Store: s.store, temporal: s.temporal}
	srv.Links = cfg.signer(dev, s.Addr())
	srv.Twilio = web.TwilioWebhooks{AuthToken: cfg.Twilio.AuthToken, PublicURL: cfg.PublicURL}
	srv.SendGrid = web.SendGridWebhooks{PublicKey: cfg.SendGridKey}
	srv.Ops = web.OpsContact{Phone: cfg.OpsPhone, Email: cfg.OpsEmail}
	if dev {
		srv.Dev = s.store
	}
	ln := s.listener
	s.http = &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 60 * time.Second, WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	s.wg.Go(func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	})
	return nil
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
	if s.inbox != nil {
		s.inbox.Close()
	}
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
	if s.worker != nil {
		s.worker.Stop()
	}
	if s.temporal != nil {
		s.temporal.Close()
	}
	s.store.Close()
}

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// runDev runs the whole engine in one process: a private Postgres under the
// data directory unless DATABASE_URL is set, an embedded Temporal server on
// it unless TEMPORAL_ADDRESS is set, then API, relay and worker. It returns
// when ctx ends (Ctrl-C), after stopping everything.
func runDev(ctx context.Context, cfg Config, stdout io.Writer, log *slog.Logger) error {
	cfg = cfg.withDevPayloadKey() // unless RECOVERY_PAYLOAD_KEYS is set
	if err := cfg.checkDevAddr(); err != nil {
		return err
	}
	if err := cfg.checkCredentials(true); err != nil {
		return err
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	start := time.Now()
	// What is not configured, dev runs itself (embedded.go; a noembed
	// build has neither and says so).
	dbURL, temporalAddr, stopInfra := cfg.DatabaseURL, cfg.TemporalAddress, func() {}
	embedded := temporalAddr == ""
	if embedded && cfg.TemporalUIPort != 0 && cfg.TemporalUIURL == "" {
		cfg.TemporalUIURL = fmt.Sprintf("http://127.0.0.1:%d", cfg.TemporalUIPort) // the console links to it
	}
	if dbURL == "" || temporalAddr == "" {
		if dbURL, temporalAddr, stopInfra, err = devInfra(ctx, cfg, dataDir, log); err != nil {
			return err
		}
	}
	defer stopInfra()
	s, err := startStack(ctx, cfg, dbURL, temporalAddr, parts{api: true, relay: true, worker: true}, true, log)
	if err != nil {
		return err
	}
	base := "http://" + s.Addr()
	// Quick, and not to be cut short by a Ctrl-C during start-up.
	if err := ensureDevAccount(context.WithoutCancel(ctx), s.store); err != nil {
		s.Stop()
		return err
	}
	// The Temporal Web UI, beside the Temporal dev runs itself (one given
	// in TEMPORAL_ADDRESS has its own).
	uiLine := "off (RECOVERY_TEMPORAL_UI_PORT=off)"
	switch {
	case !embedded:
		uiLine = "not served: TEMPORAL_ADDRESS names a Temporal of its own"
	case cfg.TemporalUIPort != 0:
		ui, err := startTemporalUI(cfg.TemporalUIPort, temporalAddr, cfg.Namespace, base+"/codec", log)
		if err != nil {
			log.Warn("no Temporal UI", "err", err)
			uiLine = "not served: " + err.Error()
		} else {
			defer ui.Stop()
			uiLine = ui.URL + "   (the workflows, payloads decoded through the codec endpoint)"
		}
	}
	fmt.Fprintf(stdout, `Recovery dev stack is up (%s).
  API:       %s   (POST /v1/events, GET /v1/incidents)
  Ready:     %s/readyz
  API key:   %s   (Authorization: Bearer %s)
  Webhooks:  %s/v1/webhooks/{easypost,shippo,aftership,shopify}   (unset secrets are %q)
  Approvals: POST %s/v1/incidents/{id}/approve|reject|offer   (%s)
  Outbound:  %s
  Messages:  %s/dev/messages   (%s; answer as the customer there)
  Console:   %s/console/   (sign in as %s, password %q: an approver, up to 1000 in each currency)
  Postgres:  %s
  Temporal:  %s (namespace %s)
  Temporal UI: %s
  Payloads:  %s
  Codec:     %s/codec   (the Temporal UI's codec endpoint; callers on this machine need no key; origins %s)
  Data:      %s
Try it:      go run ./cmd/recovery events demo
Stop:        Ctrl-C
`, time.Since(start).Round(100*time.Millisecond), base, base, cfg.DevAPIKey, cfg.DevAPIKey,
		base, DevWebhookSecret, base, approverHint(cfg), outboundHint(cfg), base, messagesHint(cfg), base, DevConsoleUser, DevConsolePassword, maskURL(dbURL), temporalAddr, cfg.Namespace, uiLine,
		payloadHint(s.codec), base, strings.Join(cfg.codecOrigins(true), ", "), dataDir)
	<-ctx.Done()
	fmt.Fprintln(stdout, "Stopping…")
	s.Stop()
	return nil
}

// runServe runs the selected roles against external Postgres and Temporal.
func runServe(ctx context.Context, cfg Config, p parts, log *slog.Logger) error {
	if cfg.DatabaseURL == "" || cfg.TemporalAddress == "" {
		return errors.New("DATABASE_URL and TEMPORAL_ADDRESS must be set (or use `recovery dev`)")
	}
	if p.api {
		if err := cfg.checkCredentials(false); err != nil {
			return err
		}
	}
	s, err := startStack(ctx, cfg, cfg.DatabaseURL, cfg.TemporalAddress, p, false, log)
	if err != nil {
		return err
	}
	if s.codec != nil {
		log.Info("payloads are encrypted", "encrypting_key", s.codec.EncryptingKeyID(), "keys", s.codec.KeyIDs())
	} else {
		log.Info("payloads are not encrypted: RECOVERY_PAYLOAD_KEYS is not set")
	}
	log.Info("started", "http", s.Addr(), "api", p.api, "relay", p.relay, "worker", p.worker)
	<-ctx.Done()
	s.Stop()
	return nil
}

// runMigrate applies the migrations to DATABASE_URL.
func runMigrate(ctx context.Context, cfg Config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL must be set")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.Migrate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
	return nil
}

func stopLogged(log *slog.Logger, what string, stop func() error) {
	if err := stop(); err != nil {
		log.Warn("stop "+what, "err", err)
	}
}

func approverHint(cfg Config) string {
	if cfg.approverConfigured() {
		return "the configured approvers' keys"
	}
	return fmt.Sprintf("approver %q, limit %d in each currency, key %s", DevApprover.Name, DevApprover.Limits.Default, DevApprover.Key)
}

func outboundHint(cfg Config) string {
	if cfg.OutboundURL != "" {
		return "remedy webhooks signed to " + cfg.OutboundURL
	}
	return "remedy webhooks captured in the captured_webhooks table (set RECOVERY_OUTBOUND_URL to send them)"
}

// messagesHint says which channels are captured and which really sent.
func messagesHint(cfg Config) string {
	switch {
	case cfg.Twilio.AccountSID != "" && cfg.SendGrid.APIKey != "":
		return "SMS and calls by Twilio, email by SendGrid"
	case cfg.Twilio.AccountSID != "":
		return "SMS and calls by Twilio, email captured"
	case cfg.SendGrid.APIKey != "":
		return "email by SendGrid, SMS and calls captured"
	}
	return "captured, none sent"
}

// The console account dev creates when it has none of that name: well
// known, like dev's keys, since dev listens on loopback only.
const (
	DevConsoleUser = "dev-ops"
	// DevConsoleEmail is where dev tells dev-ops what waits (captured:
	// see /dev/messages).
	DevConsoleEmail    = "dev-ops@recovery.invalid"
	DevConsolePassword = "dev-console-password"
)

// ensureDevAccount creates dev's console account unless it exists (a
// changed password or role is kept).
func ensureDevAccount(ctx context.Context, st *store.Store) error {
	if _, err := st.ConsoleUser(ctx, DevConsoleUser); err == nil || !errors.Is(err, recovery.ErrNotFound) {
		return err
	}
	hash, err := console.HashPassword(DevConsolePassword, console.DefaultParams)
	if err != nil {
		return err
	}
	return st.PutConsoleUser(ctx, store.ConsoleUser{Name: DevConsoleUser, PasswordHash: hash, Role: "approver",
		Limits: map[string]int64{"default": 1000}, Email: DevConsoleEmail})
}

package main

import (
	"crypto/ecdsa"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/contrib/envconfig"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/codec"
	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/tracing"
	"github.com/recoveryhq/recovery/internal/web"
)

// Config is every setting of the binary, read once from the environment.
// Each variable is listed in docs/configuration.md.
type Config struct {
	Addr string // RECOVERY_ADDR
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// instead of the main one.
	MetricsAddr string // RECOVERY_METRICS_ADDR
	// OTLPEndpoint, when set, exports traces over OTLP/gRPC (the exporter
	// reads the other OTEL_EXPORTER_OTLP_* variables itself); ServiceName
	// names this process in them.
	OTLPEndpoint string // OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
	ServiceName  string // OTEL_SERVICE_NAME (default recovery)
	// Traces, when set, is the tracer provider to use instead of one built
	// from OTLPEndpoint (tests record spans in memory with it).
	Traces *sdktrace.TracerProvider
	// AddrSet says RECOVERY_ADDR was given: a relay or a worker alone then
	// serves its health there.
	AddrSet   bool
	DevAPIKey string // RECOVERY_DEV_API_KEY
	// DevPublic lets dev listen beyond loopback once its well-known keys
	// and secrets are replaced (RECOVERY_DEV_PUBLIC).
	DevPublic bool
	// Credentials are the configured API keys with their rights:
	// RECOVERY_KEYS_FILE or RECOVERY_KEYS, then the legacy shorthands
	// RECOVERY_API_KEYS and RECOVERY_APPROVERS. Dev adds its own
	// (credentials).
	Credentials []auth.Credential
	// EventSigners are the Standard Webhooks secrets of /v1/events, each
	// bound to sources: signing_secrets of the keys, then the legacy
	// RECOVERY_EVENTS_SIGNING_SECRETS (any source).
	EventSigners    []auth.Signer
	DatabaseURL     string // DATABASE_URL
	TemporalAddress string // TEMPORAL_ADDRESS
	Namespace       string // TEMPORAL_NAMESPACE
	// Temporal is the client's connection settings (TLS, API key, gRPC
	// metadata) from the TEMPORAL_* variables (see loadTemporal).
	Temporal        client.Options
	DataDir         string // RECOVERY_DATA_DIR
	TemporalPort    int    // RECOVERY_TEMPORAL_PORT
	LogLevel        slog.Level
	DiscountPercent int64 // RECOVERY_DISCOUNT_PERCENT
	DiscountMax     int64 // RECOVERY_DISCOUNT_MAX_MINOR
	// Detection: RECOVERY_STALL_LIMITS, RECOVERY_STALL_DEFAULT,
	// RECOVERY_PICKUP_LIMIT, RECOVERY_MOVE_AWAY_KM, RECOVERY_SETTLE,
	// RECOVERY_FOLLOW_UP, RECOVERY_HEAL_WINDOW.
	Detection recovery.DetectionConfig
	// Webhook secrets per provider (comma-separated, two during
	// rotation): EASYPOST_, SHIPPO_, AFTERSHIP_, SHOPIFY_WEBHOOK_SECRETS.
	WebhookSecrets map[string][]string
	PolicyFile     string // RECOVERY_POLICY_FILE ("" = the built-in policy)
	// TemplatesDir holds <lang>.tmpl files merged over the built-in
	// message templates, define by define ("" = the built-in ones).
	TemplatesDir string // RECOVERY_TEMPLATES_DIR
	// BrandsFile lists the shops one deployment speaks for
	// (RECOVERY_BRANDS; docs/templates.md).
	BrandsFile string
	// Remedies.
	DailyBudget     map[string]int64 // RECOVERY_DAILY_BUDGET: EUR:50000,... (minor units)
	OutboundURL     string           // RECOVERY_OUTBOUND_URL ("" = capture in the database)
	OutboundSecret  string           // RECOVERY_OUTBOUND_SECRET
	WebhookAttempts int32            // RECOVERY_WEBHOOK_ATTEMPTS
	WebhookRetry    time.Duration    // RECOVERY_WEBHOOK_RETRY (the first retry delay)
	CatalogFile     string           // RECOVERY_CATALOG_FILE ("" = the dev seed in dev)
	// Providers: with credentials set, the real ones; otherwise capture.
	Twilio    messaging.TwilioConfig   // TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, TWILIO_API_BASE
	SendGrid  messaging.SendGridConfig // SENDGRID_API_KEY, SENDGRID_FROM, SENDGRID_FROM_NAME, SENDGRID_API_BASE
	PublicURL string                   // RECOVERY_PUBLIC_URL: where customers and providers reach the engine
	// SendGridKey verifies SendGrid's signed Event Webhook.
	SendGridKey *ecdsa.PublicKey // SENDGRID_WEBHOOK_PUBLIC_KEY
	// LinkSecret signs the customer links (choice page, unsubscribe).
	LinkSecret string // RECOVERY_LINK_SECRET
	// ReplyDomain and InboundSecret take customers' email replies through
	// SendGrid's Inbound Parse: apology emails reply to r+…@ReplyDomain,
	// and the webhook's path ends in InboundSecret.
	ReplyDomain   string // RECOVERY_REPLY_DOMAIN
	InboundSecret string // RECOVERY_INBOUND_SECRET
	// OptOutKey keys the hashes an erased customer's opt-outs are kept
	// as; it must not change once used (the link secret by default).
	OptOutKey string // RECOVERY_OPT_OUT_KEY
	// Retention is how long events, contacts and captured messages are
	// kept (0: for ever).
	Retention time.Duration // RECOVERY_RETENTION
	LinkTTL   time.Duration // RECOVERY_LINK_TTL
	// Ops is how customers reach a person.
	OpsPhone, OpsEmail string // RECOVERY_OPS_PHONE, RECOVERY_OPS_EMAIL
	// Windows are the contact windows; LadderStep how long a ladder step
	// waits for news.
	Windows    recovery.WindowSettings // RECOVERY_CONTACT_WINDOW, RECOVERY_CONTACT_WINDOWS
	WindowSet  bool                    // RECOVERY_CONTACT_WINDOW was given (dev is open round the clock otherwise)
	LadderStep time.Duration           // RECOVERY_LADDER_STEP
	// ConfirmWait is how long an unconfirmed step waits for its provider's
	// news before it is sent again (providers that report every message).
	ConfirmWait time.Duration // RECOVERY_CONFIRM_WAIT
	// TaskQueue is the Temporal task queue of the workflows and their
	// activities (one per deployment sharing a namespace).
	TaskQueue string // RECOVERY_TASK_QUEUE
	// RelayLease is how long the relay holds the events it claimed.
	RelayLease time.Duration // RECOVERY_RELAY_LEASE
	// WorkerStopTimeout is how long a stopping worker lets the activities
	// in flight finish (sends complete on a deploy instead of becoming
	// unconfirmed).
	WorkerStopTimeout time.Duration // RECOVERY_WORKER_STOP_TIMEOUT
	// TwilioRPS and SendGridRPS bound each provider's sends per second
	// across every worker (their task queue's rate).
	TwilioRPS, SendGridRPS float64 // RECOVERY_TWILIO_RPS, RECOVERY_SENDGRID_RPS
	// RateLimit bounds each caller's requests per second (0: none).
	RateLimit float64 // RECOVERY_RATE_LIMIT
	// Payload encryption (internal/codec): RECOVERY_PAYLOAD_KEYS, the
	// first encrypting, all decrypting. Unset: dev and bench use the
	// built-in dev key, serve and worker encrypt nothing.
	PayloadKeys []codec.Key
	// Codec server: where `recovery codec-server` listens
	// (RECOVERY_CODEC_ADDR), the browser origins allowed to call it
	// (RECOVERY_CODEC_CORS_ORIGIN), the OIDC issuer and audience of the
	// access tokens it accepts (RECOVERY_CODEC_OIDC_ISSUER,
	// RECOVERY_CODEC_OIDC_AUDIENCE), and its TLS certificate and key
	// (RECOVERY_CODEC_TLS_CERT, RECOVERY_CODEC_TLS_KEY).
	CodecAddr    string
	CodecOrigins []string
	// TemporalUIPort is where dev serves the Temporal Web UI on loopback
	// (RECOVERY_TEMPORAL_UI_PORT, default 8233; 0: off).
	TemporalUIPort int
	// TemporalUIURL is the Temporal Web UI's address the console links
	// each incident's workflow to (RECOVERY_TEMPORAL_UI_URL; dev: its own).
	TemporalUIURL                      string
	CodecOIDCIssuer, CodecOIDCAudience string
	// ConsoleOIDC signs people in to the console through an identity
	// provider (RECOVERY_OIDC_*; nil: local accounts only);
	// ConsoleNoPasswords turns local passwords off
	// (RECOVERY_CONSOLE_PASSWORDS=off).
	ConsoleOIDC        *console.OIDC
	ConsoleNoPasswords bool
	// ConsoleURL is the console's address in the emails that tell
	// approvers what waits (RECOVERY_CONSOLE_URL; default
	// $RECOVERY_PUBLIC_URL/console); NotifyEvery how long a worker gathers
	// them into one email (RECOVERY_NOTIFY_EVERY, default 1m; 0: none).
	ConsoleURL  string
	NotifyEvery time.Duration
	// DigestTo are the addresses of the weekly digest (RECOVERY_DIGEST_TO).
	DigestTo                  []string
	CodecTLSCert, CodecTLSKey string
	URL                       string // RECOVERY_URL (client commands)
	ClientKey                 string // RECOVERY_API_KEY (client commands)
	OpsKey                    string // RECOVERY_OPS_KEY (ops commands: events dead, events retry)
}

// loadTemporal reads the Temporal client's settings the standard way
// (go.temporal.io/sdk/contrib/envconfig, as the temporal CLI does):
// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS and
// TEMPORAL_TLS_* (client certificate and key, server CA, server name),
// TEMPORAL_GRPC_META_*, and a profile of TEMPORAL_CONFIG_FILE
// (TEMPORAL_PROFILE) when either is set. Without any, the client is plain
// (dev's embedded server).
func (c *Config) loadTemporal(getenv func(string) string) error {
	profile := getenv("TEMPORAL_CONFIG_FILE") != "" || getenv("TEMPORAL_PROFILE") != ""
	if c.TemporalAddress == "" && !profile {
		return nil
	}
	opts, err := envconfig.LoadClientOptions(envconfig.LoadClientOptionsRequest{EnvLookup: envLookup(getenv),
		DisableFile: !profile})
	if err != nil {
		return fmt.Errorf("Temporal client settings (TEMPORAL_*): %w", err)
	}
	if c.TemporalAddress == "" {
		c.TemporalAddress = opts.HostPort
	}
	if strings.TrimSpace(getenv("TEMPORAL_NAMESPACE")) == "" && opts.Namespace != "" {
		c.Namespace = opts.Namespace
	}
	c.Temporal = opts
	return nil
}

// temporalBase is the client options to start from for a Temporal at
// addr: the configured ones for the configured address, plain ones for
// dev's embedded server.
func (c Config) temporalBase(addr string) client.Options {
	if addr != "" && addr == c.TemporalAddress {
		return c.Temporal
	}
	return client.Options{}
}

// envLookup gives envconfig the environment loadConfig reads.
type envLookup func(string) string

func (e envLookup) LookupEnv(k string) (string, bool) {
	v := strings.TrimSpace(e(k))
	return v, v != ""
}

func (e envLookup) Environ() []string { return os.Environ() } // TEMPORAL_GRPC_META_* only

// loadConfig reads the environment through getenv (os.Getenv in main).
func loadConfig(getenv func(string) string) (Config, error) {
	get := func(k, def string) string {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
		return def
	}
	c := Config{
		Addr:            get("RECOVERY_ADDR", "127.0.0.1:8080"),
		AddrSet:         get("RECOVERY_ADDR", "") != "",
		MetricsAddr:     get("RECOVERY_METRICS_ADDR", ""),
		OTLPEndpoint:    tracing.Endpoint(func(k string) string { return get(k, "") }),
		ServiceName:     get("OTEL_SERVICE_NAME", "recovery"),
		DevAPIKey:       get("RECOVERY_DEV_API_KEY", "dev"),
		DatabaseURL:     get("DATABASE_URL", ""),
		TemporalAddress: get("TEMPORAL_ADDRESS", ""),
		Namespace:       get("TEMPORAL_NAMESPACE", "default"),
		DataDir:         get("RECOVERY_DATA_DIR", ".recovery"),
		PolicyFile:      get("RECOVERY_POLICY_FILE", ""),
		TemplatesDir:    get("RECOVERY_TEMPLATES_DIR", ""),
		BrandsFile:      get("RECOVERY_BRANDS", ""),
	}
	var err error
	if err := c.loadTemporal(getenv); err != nil {
		return c, err
	}
	if c.DevPublic, err = strconv.ParseBool(get("RECOVERY_DEV_PUBLIC", "false")); err != nil {
		return c, fmt.Errorf("RECOVERY_DEV_PUBLIC: %q is not 1 or 0", get("RECOVERY_DEV_PUBLIC", ""))
	}
	if c.TemporalPort, err = atoi(get("RECOVERY_TEMPORAL_PORT", "7233"), "RECOVERY_TEMPORAL_PORT", 1, 65000); err != nil {
		return c, err
	}
	pct, err := atoi(get("RECOVERY_DISCOUNT_PERCENT", "15"), "RECOVERY_DISCOUNT_PERCENT", 0, 100)
	if err != nil {
		return c, err
	}
	c.DiscountPercent = int64(pct)
	max, err := atoi(get("RECOVERY_DISCOUNT_MAX_MINOR", "0"), "RECOVERY_DISCOUNT_MAX_MINOR", 0, 1<<31-1)
	if err != nil {
		return c, err
	}
	c.DiscountMax = int64(max)
	if err := c.LogLevel.UnmarshalText([]byte(get("RECOVERY_LOG_LEVEL", "info"))); err != nil {
		return c, fmt.Errorf("RECOVERY_LOG_LEVEL: %w", err)
	}
	if c.Detection, err = loadDetection(get); err != nil {
		return c, err
	}
	c.WebhookSecrets = map[string][]string{}
	for name, env := range providerSecretEnv {
		for _, sec := range strings.Split(getenv(env), ",") {
			if sec = strings.TrimSpace(sec); sec != "" {
				c.WebhookSecrets[name] = append(c.WebhookSecrets[name], sec)
			}
		}
		if len(c.WebhookSecrets[name]) > 2 {
			return c, fmt.Errorf("%s: at most two secrets (the current one and, during rotation, the next)", env)
		}
	}
	if err := c.loadCredentials(get); err != nil {
		return c, err
	}
	if err := c.loadRemedies(get); err != nil {
		return c, err
	}
	if err := c.loadCodec(get); err != nil {
		return c, err
	}
	if err := c.loadConsole(get); err != nil {
		return c, err
	}
	c.TaskQueue = get("RECOVERY_TASK_QUEUE", "recovery")
	for _, d := range []struct {
		env, def string
		dst      *time.Duration
	}{{"RECOVERY_RELAY_LEASE", "30s", &c.RelayLease}, {"RECOVERY_WORKER_STOP_TIMEOUT", "30s", &c.WorkerStopTimeout}} {
		v, err := time.ParseDuration(get(d.env, d.def))
		if err != nil || v <= 0 {
			return c, fmt.Errorf("%s: %q is not a positive duration such as %s", d.env, get(d.env, ""), d.def)
		}
		*d.dst = v
	}
	for _, r := range []struct {
		env, def string
		dst      *float64
	}{{"RECOVERY_TWILIO_RPS", "10", &c.TwilioRPS}, {"RECOVERY_SENDGRID_RPS", "100", &c.SendGridRPS},
		{"RECOVERY_RATE_LIMIT", "500", &c.RateLimit}} {
		v, err := strconv.ParseFloat(get(r.env, r.def), 64)
		if err != nil || v < 0 || v == 0 && r.dst != &c.RateLimit || v > 100000 {
			return c, fmt.Errorf("%s: %q is not a rate of sends per second such as %s", r.env, get(r.env, ""), r.def)
		}
		*r.dst = v
	}
	c.URL = get("RECOVERY_URL", "http://"+c.Addr)
	c.ClientKey = get("RECOVERY_API_KEY", c.DevAPIKey)
	c.OpsKey = get("RECOVERY_OPS_KEY", DevApprover.Key)
	return c, nil
}

// loadConsole reads how people sign in to the console: an OIDC provider
// (issuer, client, the callback, the groups claim and what each group
// may do), and whether local passwords stay on.
func (c *Config) loadConsole(get func(k, def string) string) error {
	c.ConsoleURL = strings.TrimSuffix(get("RECOVERY_CONSOLE_URL", ""), "/")
	if c.ConsoleURL == "" && c.PublicURL != "" {
		c.ConsoleURL = c.PublicURL + "/console"
	}
	if u, err := url.Parse(c.ConsoleURL); c.ConsoleURL != "" && (err != nil || u.Host == "" || u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("RECOVERY_CONSOLE_URL: %q is not an http(s) URL such as https://recovery.example.com/console", c.ConsoleURL)
	}
	every := get("RECOVERY_NOTIFY_EVERY", "1m")
	d, err := time.ParseDuration(every)
	if err != nil || d < 0 || d > 0 && d < time.Second {
		return fmt.Errorf("RECOVERY_NOTIFY_EVERY: %q is not a duration such as 1m (0: approvers get no emails)", every)
	}
	c.NotifyEvery = d
	for _, to := range splitList(get("RECOVERY_DIGEST_TO", "")) {
		if !recovery.PlausibleEmail(to) {
			return fmt.Errorf("RECOVERY_DIGEST_TO: %q is not an email address (a comma-separated list of bare addresses)", to)
		}
		c.DigestTo = append(c.DigestTo, to)
	}
	issuer := get("RECOVERY_OIDC_ISSUER", "")
	pw := get("RECOVERY_CONSOLE_PASSWORDS", "on")
	switch pw {
	case "on", "off":
		c.ConsoleNoPasswords = pw == "off"
	default:
		return fmt.Errorf("RECOVERY_CONSOLE_PASSWORDS: %q is not on or off", pw)
	}
	if issuer == "" {
		for _, k := range []string{"RECOVERY_OIDC_CLIENT_ID", "RECOVERY_OIDC_CLIENT_SECRET", "RECOVERY_OIDC_REDIRECT_URL", "RECOVERY_OIDC_ROLES"} {
			if get(k, "") != "" {
				return fmt.Errorf("%s is set but RECOVERY_OIDC_ISSUER is not: set the identity provider's issuer URL too", k)
			}
		}
		if c.ConsoleNoPasswords {
			return errors.New("RECOVERY_CONSOLE_PASSWORDS=off needs an identity provider (RECOVERY_OIDC_ISSUER), or nobody could sign in to the console")
		}
		return nil
	}
	if u, err := url.Parse(issuer); err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && loopback(hostPort(u))) {
		return fmt.Errorf("RECOVERY_OIDC_ISSUER: %q is not an https URL (http only on loopback)", issuer)
	}
	o := &console.OIDC{Issuer: issuer, ClientID: get("RECOVERY_OIDC_CLIENT_ID", ""), ClientSecret: get("RECOVERY_OIDC_CLIENT_SECRET", ""),
		GroupsClaim: get("RECOVERY_OIDC_GROUPS_CLAIM", "groups"), Label: get("RECOVERY_OIDC_LABEL", "")}
	if o.ClientID == "" {
		return errors.New("RECOVERY_OIDC_ISSUER is set: RECOVERY_OIDC_CLIENT_ID is required too (the console's client at the provider)")
	}
	o.RedirectURL = get("RECOVERY_OIDC_REDIRECT_URL", "")
	if o.RedirectURL == "" {
		if c.PublicURL == "" {
			return errors.New("RECOVERY_OIDC_ISSUER is set: give RECOVERY_OIDC_REDIRECT_URL (https://HOST/console/oidc/callback) or RECOVERY_PUBLIC_URL")
		}
		o.RedirectURL = c.PublicURL + "/console/oidc/callback"
	}
	if u, err := url.Parse(o.RedirectURL); err != nil || u.Host == "" || u.Path != "/console/oidc/callback" ||
		!(u.Scheme == "https" || u.Scheme == "http" && loopback(hostPort(u))) {
		return fmt.Errorf("RECOVERY_OIDC_REDIRECT_URL: %q is not https://HOST/console/oidc/callback (http only on loopback)", o.RedirectURL)
	}
	roles, err := console.ParseRoles(get("RECOVERY_OIDC_ROLES", ""))
	if err != nil {
		return fmt.Errorf("RECOVERY_OIDC_ROLES (GROUP=ROLE;..., such as ops-leads=approver:100:EUR,0:default;ops=viewer): %w", err)
	}
	o.Roles, c.ConsoleOIDC = roles, o
	return nil
}

// loadCodec reads the payload keys and the codec server's settings.
// Errors name a key by its position or id, never its material.
func (c *Config) loadCodec(get func(k, def string) string) error {
	if spec := get("RECOVERY_PAYLOAD_KEYS", ""); spec != "" {
		keys, err := codec.ParseKeys(spec)
		if err != nil {
			return fmt.Errorf("RECOVERY_PAYLOAD_KEYS: %w (a comma-separated list of id:base64key, 32-byte keys, the first encrypting)", err)
		}
		c.PayloadKeys = keys
	}
	switch ui := get("RECOVERY_TEMPORAL_UI_PORT", "8233"); ui {
	case "off":
		c.TemporalUIPort = 0
	default:
		n, err := strconv.Atoi(ui)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("RECOVERY_TEMPORAL_UI_PORT: %q is not a port (1-65535) or off", ui)
		}
		c.TemporalUIPort = n
	}
	if c.TemporalUIURL = get("RECOVERY_TEMPORAL_UI_URL", ""); c.TemporalUIURL != "" {
		if u, err := url.Parse(c.TemporalUIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("RECOVERY_TEMPORAL_UI_URL: %q is not an http(s) URL such as https://temporal.example.com", c.TemporalUIURL)
		}
	}
	c.CodecAddr = get("RECOVERY_CODEC_ADDR", "127.0.0.1:8081")
	if _, _, err := net.SplitHostPort(c.CodecAddr); err != nil {
		return fmt.Errorf("RECOVERY_CODEC_ADDR: %q is not host:port", c.CodecAddr)
	}
	for _, o := range splitList(get("RECOVERY_CODEC_CORS_ORIGIN", "")) {
		origin, err := parseOrigin(o)
		if err != nil {
			return fmt.Errorf("RECOVERY_CODEC_CORS_ORIGIN: %w", err)
		}
		c.CodecOrigins = append(c.CodecOrigins, origin)
	}
	c.CodecOIDCIssuer, c.CodecOIDCAudience = get("RECOVERY_CODEC_OIDC_ISSUER", ""), get("RECOVERY_CODEC_OIDC_AUDIENCE", "")
	switch {
	case c.CodecOIDCIssuer != "" && c.CodecOIDCAudience == "":
		return errors.New("RECOVERY_CODEC_OIDC_ISSUER is set: RECOVERY_CODEC_OIDC_AUDIENCE is required too (the audience the access tokens are for)")
	case c.CodecOIDCIssuer == "" && c.CodecOIDCAudience != "":
		return errors.New("RECOVERY_CODEC_OIDC_AUDIENCE is set: RECOVERY_CODEC_OIDC_ISSUER is required too (the identity provider's issuer URL)")
	case c.CodecOIDCIssuer != "":
		u, err := url.Parse(c.CodecOIDCIssuer)
		if err != nil || u.Host == "" || !(u.Scheme == "https" || u.Scheme == "http" && loopback(hostPort(u))) {
			return fmt.Errorf("RECOVERY_CODEC_OIDC_ISSUER: %q is not an https URL (http only on loopback)", c.CodecOIDCIssuer)
		}
	}
	c.CodecTLSCert, c.CodecTLSKey = get("RECOVERY_CODEC_TLS_CERT", ""), get("RECOVERY_CODEC_TLS_KEY", "")
	if (c.CodecTLSCert == "") != (c.CodecTLSKey == "") {
		return errors.New("RECOVERY_CODEC_TLS_CERT and RECOVERY_CODEC_TLS_KEY go together: set both (certificate and key files) or neither")
	}
	return nil
}

// hostPort is a URL's host with a port, for loopback.
func hostPort(u *url.URL) string {
	if u.Port() != "" {
		return u.Host
	}
	return net.JoinHostPort(u.Hostname(), "443")
}

// parseOrigin checks a browser origin: scheme and host (and port), nothing
// else, and never a wildcard.
func parseOrigin(s string) (string, error) {
	bad := fmt.Errorf("%q is not an origin such as http://localhost:8233 (scheme, host and port; no path, no wildcard)", s)
	if strings.Contains(s, "*") {
		return "", bad
	}
	u, err := url.Parse(strings.TrimSuffix(s, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Path != "" ||
		u.RawQuery != "" || u.Fragment != "" {
		return "", bad
	}
	return u.Scheme + "://" + u.Host, nil
}

// DevCodecOrigins are the Temporal UI origins dev's codec endpoint allows
// unless RECOVERY_CODEC_CORS_ORIGIN says otherwise: the UI dev serves
// itself (and the temporal CLI's dev server, temporal server start-dev,
// serves on the same port), by name and by address.
var DevCodecOrigins = []string{"http://localhost:8233", "http://127.0.0.1:8233"}

// codecOrigins returns the browser origins allowed to call the codec
// endpoints: the configured ones, else in dev those of the Temporal UI on
// RECOVERY_TEMPORAL_UI_PORT (DevCodecOrigins by default), else none.
func (c Config) codecOrigins(dev bool) []string {
	if len(c.CodecOrigins) == 0 && dev {
		if c.TemporalUIPort == 0 || c.TemporalUIPort == 8233 {
			return DevCodecOrigins
		}
		p := strconv.Itoa(c.TemporalUIPort)
		return []string{"http://localhost:" + p, "http://127.0.0.1:" + p}
	}
	return c.CodecOrigins
}

// payloadCodec returns the codec of every Temporal client and of the codec
// server: RECOVERY_PAYLOAD_KEYS, or nil (payloads are not encrypted).
func (c Config) payloadCodec() (*codec.Codec, error) {
	if len(c.PayloadKeys) == 0 {
		return nil, nil
	}
	return codec.New(c.PayloadKeys...)
}

// withDevPayloadKey gives the built-in dev key to a configuration without
// RECOVERY_PAYLOAD_KEYS: what `recovery dev`, `recovery bench` and
// `recovery codec-server --dev` run with. The roles' own start (startStack)
// never adds it, so that a dev-like API in a test talks to a worker
// process as serve does.
func (c Config) withDevPayloadKey() Config {
	if len(c.PayloadKeys) == 0 {
		c.PayloadKeys = []codec.Key{codec.DevKey()}
	}
	return c
}

// payloadHint says in a line how payloads are encrypted (key ids only).
func payloadHint(pc *codec.Codec) string {
	switch {
	case pc == nil:
		return "not encrypted (set RECOVERY_PAYLOAD_KEYS to encrypt them)"
	case pc.EncryptingKeyID() == codec.DevKeyID:
		return fmt.Sprintf("encrypted with the built-in dev key %s (well known: set RECOVERY_PAYLOAD_KEYS for your own)", codec.DevKeyID)
	}
	return fmt.Sprintf("encrypted with key %s; readable with %s", pc.EncryptingKeyID(), strings.Join(pc.KeyIDs(), ", "))
}

// providerSecretEnv names each provider webhook's secrets variable.
var providerSecretEnv = map[string]string{"easypost": "EASYPOST_WEBHOOK_SECRETS", "shippo": "SHIPPO_WEBHOOK_SECRETS",
	"aftership": "AFTERSHIP_WEBHOOK_SECRETS", "shopify": "SHOPIFY_WEBHOOK_SECRETS",
	"zendesk": "ZENDESK_WEBHOOK_SECRETS", "gorgias": "GORGIAS_WEBHOOK_SECRETS"}

// loadCredentials reads the keys (RECOVERY_KEYS_FILE or RECOVERY_KEYS,
// docs/credentials.md), then the legacy shorthands: RECOVERY_API_KEYS
// (ingest for any source, read, redeem, choose), RECOVERY_APPROVERS
// (approve with one limit in every currency, and read) and
// RECOVERY_EVENTS_SIGNING_SECRETS (signing for any source). What depends
// on how the server runs (key lengths, keys equal to secrets) is checked
// by checkCredentials.
func (c *Config) loadCredentials(get func(k, def string) string) error {
	file, inline := get("RECOVERY_KEYS_FILE", ""), get("RECOVERY_KEYS", "")
	var doc []byte
	from := "RECOVERY_KEYS"
	switch {
	case file != "" && inline != "":
		return errors.New("RECOVERY_KEYS_FILE and RECOVERY_KEYS are both set: use one (the same content, in a file or inline)")
	case file != "":
		from = "RECOVERY_KEYS_FILE"
		var err error
		if doc, err = os.ReadFile(file); err != nil {
			return fmt.Errorf("RECOVERY_KEYS_FILE: %w", err)
		}
	case inline != "":
		doc = []byte(inline)
	}
	if doc != nil {
		f, err := auth.ParseFile(doc)
		if err != nil {
			return fmt.Errorf("%s: %w (see docs/credentials.md)", from, err)
		}
		c.Credentials, c.EventSigners = f.Keys, f.Signers
	}
	for i, k := range splitList(get("RECOVERY_API_KEYS", "")) {
		c.Credentials = append(c.Credentials, auth.APIKey(fmt.Sprintf("api-key-%d", i+1), k))
	}
	// An entry that is not name:limit:key is named by its position only:
	// any part of it may be the key (a bare key, or the parts in another
	// order), and keys are never printed.
	for i, entry := range splitList(get("RECOVERY_APPROVERS", "")) {
		parts := strings.SplitN(entry, ":", 3)
		if len(parts) != 3 || parts[0] == "" || len(parts[2]) < 8 {
			return fmt.Errorf("RECOVERY_APPROVERS: entry %d is not name:limit:key (limit in whole currency units, -1 for none; a key of 8 characters or more)",
				i+1)
		}
		limit, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil || limit < -1 {
			return fmt.Errorf("RECOVERY_APPROVERS: entry %d: the limit is not a whole number (-1 for none)", i+1)
		}
		c.Credentials = append(c.Credentials, auth.Approver(parts[0], parts[2], limit))
	}
	if secrets := splitList(get("RECOVERY_EVENTS_SIGNING_SECRETS", "")); len(secrets) > 0 {
		if len(secrets) > 2 {
			return errors.New("RECOVERY_EVENTS_SIGNING_SECRETS: at most two secrets (the current one and, during rotation, the next)")
		}
		c.EventSigners = append(c.EventSigners, auth.Signer{Name: "RECOVERY_EVENTS_SIGNING_SECRETS", Secrets: secrets,
			Sources: []string{auth.AnySource}})
	}
	return nil
}

// loadRemedies reads the budget, the outbound webhook and the catalog
// settings.
func (c *Config) loadRemedies(get func(k, def string) string) error {
	c.DailyBudget = map[string]int64{}
	for _, entry := range splitList(get("RECOVERY_DAILY_BUDGET", "")) {
		cur, amount, ok := strings.Cut(entry, ":")
		n, err := strconv.ParseInt(amount, 10, 64)
		if !ok || !recovery.ValidCurrency(cur) || err != nil || n < 0 {
			return fmt.Errorf("RECOVERY_DAILY_BUDGET: %q is not CURRENCY:minor-units, e.g. EUR:50000", entry)
		}
		c.DailyBudget[cur] = n
	}
	c.OutboundURL, c.OutboundSecret = get("RECOVERY_OUTBOUND_URL", ""), get("RECOVERY_OUTBOUND_SECRET", "")
	if c.OutboundURL != "" {
		if u, err := url.Parse(c.OutboundURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("RECOVERY_OUTBOUND_URL: %q is not an http(s) URL", c.OutboundURL)
		}
		if c.OutboundSecret == "" {
			return fmt.Errorf("RECOVERY_OUTBOUND_SECRET: required with RECOVERY_OUTBOUND_URL (whsec_ and base64, as Standard Webhooks)")
		}
	}
	attempts, err := atoi(get("RECOVERY_WEBHOOK_ATTEMPTS", "8"), "RECOVERY_WEBHOOK_ATTEMPTS", 1, 1000)
	if err != nil {
		return err
	}
	c.WebhookAttempts = int32(attempts)
	if c.WebhookRetry, err = time.ParseDuration(get("RECOVERY_WEBHOOK_RETRY", "2s")); err != nil || c.WebhookRetry <= 0 {
		return fmt.Errorf("RECOVERY_WEBHOOK_RETRY: %q is not a positive duration such as 2s", get("RECOVERY_WEBHOOK_RETRY", ""))
	}
	c.CatalogFile = get("RECOVERY_CATALOG_FILE", "")
	c.Twilio = messaging.TwilioConfig{AccountSID: get("TWILIO_ACCOUNT_SID", ""), AuthToken: get("TWILIO_AUTH_TOKEN", ""),
		From: get("TWILIO_FROM", ""), APIBase: get("TWILIO_API_BASE", "")}
	if c.Twilio.AccountSID != "" && (c.Twilio.AuthToken == "" || c.Twilio.From == "") {
		return fmt.Errorf("TWILIO_ACCOUNT_SID is set: TWILIO_AUTH_TOKEN and TWILIO_FROM (a number or an MG… messaging service) are required too")
	}
	c.SendGrid = messaging.SendGridConfig{APIKey: get("SENDGRID_API_KEY", ""), From: get("SENDGRID_FROM", ""),
		FromName: get("SENDGRID_FROM_NAME", ""), APIBase: get("SENDGRID_API_BASE", "")}
	if c.SendGrid.APIKey != "" && c.SendGrid.From == "" {
		return fmt.Errorf("SENDGRID_API_KEY is set: SENDGRID_FROM (the sender address) is required too")
	}
	c.PublicURL = strings.TrimSuffix(get("RECOVERY_PUBLIC_URL", ""), "/")
	c.Twilio.PublicURL, c.Twilio.CallerID = c.PublicURL, get("TWILIO_CALLER_ID", "")
	if c.Twilio.AccountSID != "" && c.PublicURL == "" {
		return fmt.Errorf("TWILIO_ACCOUNT_SID is set: RECOVERY_PUBLIC_URL is required too (Twilio calls it back)")
	}
	if k := get("SENDGRID_WEBHOOK_PUBLIC_KEY", ""); k != "" {
		var err error
		if c.SendGridKey, err = web.ParseSendGridKey(k); err != nil {
			return fmt.Errorf("SENDGRID_WEBHOOK_PUBLIC_KEY: %w", err)
		}
	}
	c.LinkSecret = get("RECOVERY_LINK_SECRET", "")
	c.OptOutKey = get("RECOVERY_OPT_OUT_KEY", c.LinkSecret)
	c.ReplyDomain, c.InboundSecret = strings.ToLower(get("RECOVERY_REPLY_DOMAIN", "")), get("RECOVERY_INBOUND_SECRET", "")
	switch {
	case c.ReplyDomain != "" && c.InboundSecret == "":
		return errors.New("RECOVERY_REPLY_DOMAIN is set: RECOVERY_INBOUND_SECRET is required too (the last path segment of the Inbound Parse webhook)")
	case c.InboundSecret != "" && c.ReplyDomain == "":
		return errors.New("RECOVERY_INBOUND_SECRET is set: RECOVERY_REPLY_DOMAIN is required too (the domain whose mail SendGrid's Inbound Parse receives)")
	case c.InboundSecret != "" && (len(c.InboundSecret) < 24 || !console.NameChars(c.InboundSecret)):
		return errors.New("RECOVERY_INBOUND_SECRET: at least 24 letters, digits and . _ - @ (it is a URL path segment)")
	case c.ReplyDomain != "" && (strings.ContainsAny(c.ReplyDomain, "@/ ") || !strings.Contains(c.ReplyDomain, ".")):
		return fmt.Errorf("RECOVERY_REPLY_DOMAIN: %q is not a domain such as reply.shop.example", c.ReplyDomain)
	}
	if raw := get("RECOVERY_RETENTION", ""); raw != "" {
		if c.Retention, err = recovery.ParseDays(raw); err != nil || c.Retention < 0 || (c.Retention > 0 && c.Retention < 24*time.Hour) {
			return fmt.Errorf("RECOVERY_RETENTION: %q is not a duration of a day or more such as 400d (0 keeps everything)", raw)
		}
	}
	if c.LinkTTL, err = time.ParseDuration(get("RECOVERY_LINK_TTL", "720h")); err != nil || c.LinkTTL <= 0 {
		return fmt.Errorf("RECOVERY_LINK_TTL: %q is not a positive duration such as 720h", get("RECOVERY_LINK_TTL", ""))
	}
	c.OpsPhone, c.OpsEmail = get("RECOVERY_OPS_PHONE", ""), get("RECOVERY_OPS_EMAIL", "")
	c.WindowSet = get("RECOVERY_CONTACT_WINDOW", "") != ""
	if c.Windows.Default, err = recovery.ParseWindow(get("RECOVERY_CONTACT_WINDOW", "08:00-21:00")); err != nil {
		return fmt.Errorf("RECOVERY_CONTACT_WINDOW: %w", err)
	}
	if c.Windows.ByCountry, err = recovery.ParseWindows(get("RECOVERY_CONTACT_WINDOWS", "")); err != nil {
		return fmt.Errorf("RECOVERY_CONTACT_WINDOWS: %w", err)
	}
	if c.ConfirmWait, err = time.ParseDuration(get("RECOVERY_CONFIRM_WAIT", "15m")); err != nil || c.ConfirmWait <= 0 {
		return fmt.Errorf("RECOVERY_CONFIRM_WAIT: %q is not a positive duration such as 15m", get("RECOVERY_CONFIRM_WAIT", ""))
	}
	if c.LadderStep, err = time.ParseDuration(get("RECOVERY_LADDER_STEP", "30m")); err != nil || c.LadderStep <= 0 {
		return fmt.Errorf("RECOVERY_LADDER_STEP: %q is not a positive duration such as 30m", get("RECOVERY_LADDER_STEP", ""))
	}
	return nil
}

// windows returns the contact windows; dev, unless told otherwise, may
// contact at any hour, so that a demo at night shows its messages.
func (c Config) windows(dev bool) recovery.WindowSettings {
	if dev && !c.WindowSet {
		return recovery.WindowSettings{Default: recovery.ContactWindow{StartMin: 0, EndMin: 24 * 60}, ByCountry: c.Windows.ByCountry}
	}
	return c.Windows
}

// optOutKey is the key of erased customers' opt-out hashes: the
// configured one, else the link secret (dev's in dev); nil when there is
// none, and erasure refuses.
func (c Config) optOutKey(dev bool) []byte {
	switch {
	case c.OptOutKey != "":
		return []byte("opt-out:" + c.OptOutKey)
	case dev:
		return []byte("opt-out:" + DevLinkSecret)
	}
	return nil
}

// DevLinkSecret signs customer links in dev when none is configured.
const DevLinkSecret = "dev-link-secret"

// signer returns the link signer: the configured secret, the dev one in
// dev, or nil (no customer links) when neither.
//
// Links point at RECOVERY_PUBLIC_URL, else at the address this process
// listens on, else (a worker, which listens on none) at RECOVERY_ADDR.
func (c Config) signer(dev bool, addr string) *links.Signer {
	secret, base := c.LinkSecret, c.PublicURL
	if dev && secret == "" {
		secret = DevLinkSecret
	}
	if addr == "" {
		addr = c.Addr
	}
	if base == "" {
		base = "http://" + addr
	}
	if secret == "" {
		return nil
	}
	return &links.Signer{Secret: []byte(secret), Base: base}
}

// messenger routes each channel to its provider when configured; in dev
// the rest goes to the capture adapter, elsewhere a channel without a
// provider is skipped by the ladder (never captured and counted as sent).
func (c Config) messenger(capture recovery.Messenger, dev bool) messaging.Router {
	r := messaging.Router{}
	if dev {
		r.Fallback = capture
	}
	if c.Twilio.AccountSID != "" {
		tw := messaging.NewTwilio(c.Twilio)
		r.SMS, r.Voice = tw, tw
	}
	if c.SendGrid.APIKey != "" {
		r.Email = messaging.NewSendGrid(c.SendGrid)
	}
	return r
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// DevApprover approves offers in dev when no credential that may approve
// is configured: 1000 in each currency, and it reads and erases.
var DevApprover = auth.Credential{Name: "ops", Key: "dev-ops-key", Rights: []auth.Right{auth.Approve, auth.Read, auth.Erase},
	Limits: auth.Limits{Default: 1000}}

// approverConfigured reports whether a configured credential may approve.
func (c Config) approverConfigured() bool {
	for _, cr := range c.Credentials {
		if _, ok := cr.ApproveLimit(""); ok {
			return true
		}
	}
	return false
}

// credentials returns every credential the API accepts: the configured
// ones and, in dev, the dev key (ingest for any source, read, redeem,
// choose) and, unless one is configured, DevApprover.
func (c Config) credentials(dev bool) []auth.Credential {
	if !dev {
		return c.Credentials
	}
	out := append([]auth.Credential{auth.APIKey("dev", c.DevAPIKey)}, c.Credentials...)
	if !c.approverConfigured() {
		out = append(out, DevApprover)
	}
	return out
}

// eventSigners returns the signing secrets of /v1/events; in dev, when
// none is configured, DevWebhookSecret for any source.
func (c Config) eventSigners(dev bool) []auth.Signer {
	if dev && len(c.EventSigners) == 0 {
		return []auth.Signer{{Name: "dev", Secrets: []string{DevWebhookSecret}, Sources: []string{auth.AnySource}}}
	}
	return c.EventSigners
}

// checkCredentials refuses credentials the API must not start with: in
// serve (and in a dev listening beyond loopback) a key shorter than
// auth.MinKeyLen; anywhere,
// two credentials with one key or name, a key equal to a secret. The error
// never shows a key.
func (c Config) checkCredentials(dev bool) error {
	creds := c.credentials(dev)
	if !dev && len(creds) == 0 {
		return errors.New("no API key: set RECOVERY_KEYS_FILE, RECOVERY_KEYS or RECOVERY_API_KEYS (see docs/credentials.md)")
	}
	var secrets []auth.Secret
	provider := c.secrets(dev)
	for _, name := range slices.Sorted(maps.Keys(provider)) {
		for _, sec := range provider[name] {
			secrets = append(secrets, auth.Secret{Where: providerSecretEnv[name], Value: sec})
		}
	}
	secrets = append(secrets, auth.Secret{Where: "RECOVERY_OUTBOUND_SECRET", Value: c.OutboundSecret})
	if s := c.signer(dev, ""); s != nil {
		secrets = append(secrets, auth.Secret{Where: "RECOVERY_LINK_SECRET", Value: string(s.Secret)})
	}
	minLen := auth.MinKeyLen
	if dev && loopback(c.Addr) {
		minLen = 0 // dev on this machine only: dev and dev-ops-key do
	}
	if err := auth.Check(creds, c.eventSigners(dev), secrets, minLen); err != nil {
		return fmt.Errorf("credentials: %w", err)
	}
	return nil
}

// loadDetection reads the detection limits over their defaults.
func loadDetection(get func(k, def string) string) (recovery.DetectionConfig, error) {
	d := recovery.DefaultDetection()
	var err error
	if d.Stall, err = recovery.ParseStallLimits(get("RECOVERY_STALL_LIMITS", "")); err != nil {
		return d, fmt.Errorf("RECOVERY_STALL_LIMITS: %w", err)
	}
	for _, v := range []struct {
		env string
		dst *time.Duration
	}{{"RECOVERY_STALL_DEFAULT", &d.DefaultStall}, {"RECOVERY_PICKUP_LIMIT", &d.PickupLimit}, {"RECOVERY_HEAL_WINDOW", &d.HealWindow}} {
		if raw := get(v.env, ""); raw != "" {
			x, err := recovery.ParseDays(raw)
			if err != nil || x < 0 {
				return d, fmt.Errorf("%s: %q is not a duration such as 72h or 3d (0 turns it off)", v.env, raw)
			}
			*v.dst = x
		}
	}
	if raw := get("RECOVERY_ORDER_IDLE", ""); raw != "" {
		x, err := recovery.ParseDays(raw)
		if err != nil || x < 0 {
			return d, fmt.Errorf("RECOVERY_ORDER_IDLE: %q is not a duration such as 14d or 336h (0: orders never finish)", raw)
		}
		d.OrderIdle = x
		if x == 0 {
			d.OrderIdle = -1
		}
	}
	if raw := get("RECOVERY_MOVE_AWAY_KM", ""); raw != "" {
		km, err := strconv.ParseFloat(raw, 64)
		if err != nil || km < 0 {
			return d, fmt.Errorf("RECOVERY_MOVE_AWAY_KM: %q is not a distance in km (0 turns it off)", raw)
		}
		d.MoveAwayKm = km
	}
	if d.Settle, err = recovery.ParseSettle(get("RECOVERY_SETTLE", "")); err != nil {
		return d, fmt.Errorf("RECOVERY_SETTLE: %w", err)
	}
	if raw := get("RECOVERY_FOLLOW_UP", "true"); raw != "" {
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return d, fmt.Errorf("RECOVERY_FOLLOW_UP: %q is not true or false", raw)
		}
		d.FollowUpOnHeal = b
	}
	return d, nil
}

func atoi(s, name string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: %q is not a whole number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// DevWebhookSecret signs every integration in dev when none is configured.
const DevWebhookSecret = "dev-webhook-secret"

// secrets returns the webhook secrets per provider; in dev a provider
// without any gets DevWebhookSecret, so that signed requests can be tried
// without accounts.
func (c Config) secrets(dev bool) map[string][]string {
	out := map[string][]string{}
	for k, v := range c.WebhookSecrets {
		out[k] = v
	}
	if dev {
		for k := range providerSecretEnv {
			if len(out[k]) == 0 {
				out[k] = []string{DevWebhookSecret}
			}
		}
	}
	return out
}

// loopback reports whether a listen address is reachable from this
// machine only.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// checkDevAddr refuses to let dev listen beyond this machine with its
// well-known keys and secrets: anyone who can reach it could post events,
// approve offers and act as customers. A non-loopback RECOVERY_ADDR needs
// RECOVERY_DEV_PUBLIC=1 and every default replaced; the error lists what
// is left to do (variables' names only, never a value).
func (c Config) checkDevAddr() error {
	if loopback(c.Addr) {
		return nil
	}
	var todo []string
	if !c.DevPublic {
		todo = append(todo, "set RECOVERY_DEV_PUBLIC=1")
	}
	if c.DevAPIKey == "dev" || len(c.DevAPIKey) < auth.MinKeyLen {
		todo = append(todo, fmt.Sprintf("set RECOVERY_DEV_API_KEY to a key of %d characters or more (replaces dev)", auth.MinKeyLen))
	}
	if !c.approverConfigured() {
		todo = append(todo, "configure an approver: an approve key in RECOVERY_KEYS_FILE or RECOVERY_KEYS, or RECOVERY_APPROVERS (replaces dev-ops-key)")
	}
	defaulted := func(secrets []string) bool { return len(secrets) == 0 || slices.Contains(secrets, DevWebhookSecret) }
	var signing []string
	for _, sg := range c.EventSigners {
		signing = append(signing, sg.Secrets...)
	}
	if defaulted(signing) {
		todo = append(todo, "set RECOVERY_EVENTS_SIGNING_SECRETS or signing_secrets in the keys (replaces dev-webhook-secret)")
	}
	for _, name := range slices.Sorted(maps.Keys(providerSecretEnv)) {
		if defaulted(c.WebhookSecrets[name]) {
			todo = append(todo, fmt.Sprintf("set %s (replaces dev-webhook-secret)", providerSecretEnv[name]))
		}
	}
	if c.LinkSecret == "" || c.LinkSecret == DevLinkSecret {
		todo = append(todo, "set RECOVERY_LINK_SECRET (replaces dev-link-secret)")
	}
	if len(todo) == 0 {
		return nil
	}
	return fmt.Errorf("RECOVERY_ADDR=%s listens beyond this machine, and recovery dev's keys and secrets are well known "+
		"(dev, dev-ops-key, dev-webhook-secret, dev-link-secret).\n"+
		"Listen on loopback (RECOVERY_ADDR=127.0.0.1:8080), or, to serve dev to others:\n  - %s",
		c.Addr, strings.Join(todo, "\n  - "))
}

// maskURL hides the password of a connection URL for printing.
func maskURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable URL)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// newLogger returns the process logger: text on w at the configured level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	if w == nil {
		w = os.Stderr
	}
	return slog.New(tracing.LogHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level})))
}

// reporting lists the channels whose provider reports every message it
// takes: email through SendGrid with its signed Event Webhook, SMS and
// calls through Twilio (whose status callbacks every message asks for).
// An unconfirmed step on them is sent again when no news comes.
func (c Config) reporting() []string {
	var out []string
	if c.SendGrid.APIKey != "" && c.SendGridKey != nil {
		out = append(out, recovery.ChannelEmail)
	}
	if c.Twilio.AccountSID != "" {
		out = append(out, recovery.ChannelSMS, recovery.ChannelVoice)
	}
	return out
}

package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Config is every setting of the binary, read once from the environment.
// Each variable is listed in the README's configuration table.
type Config struct {
	Addr            string   // RECOVERY_ADDR
	DevAPIKey       string   // RECOVERY_DEV_API_KEY
	APIKeys         []string // RECOVERY_API_KEYS
	DatabaseURL     string   // DATABASE_URL
	TemporalAddress string   // TEMPORAL_ADDRESS
	Namespace       string   // TEMPORAL_NAMESPACE
	DataDir         string   // RECOVERY_DATA_DIR
	TemporalPort    int      // RECOVERY_TEMPORAL_PORT
	LogLevel        slog.Level
	DiscountPercent int64  // RECOVERY_DISCOUNT_PERCENT
	DiscountMax     int64  // RECOVERY_DISCOUNT_MAX_MINOR
	URL             string // RECOVERY_URL (client commands)
	ClientKey       string // RECOVERY_API_KEY (client commands)
}

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
		DevAPIKey:       get("RECOVERY_DEV_API_KEY", "dev"),
		DatabaseURL:     get("DATABASE_URL", ""),
		TemporalAddress: get("TEMPORAL_ADDRESS", ""),
		Namespace:       get("TEMPORAL_NAMESPACE", "default"),
		DataDir:         get("RECOVERY_DATA_DIR", ".recovery"),
	}
	for _, k := range strings.Split(getenv("RECOVERY_API_KEYS"), ",") {
		if k = strings.TrimSpace(k); k != "" {
			c.APIKeys = append(c.APIKeys, k)
		}
	}
	var err error
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
	c.URL = get("RECOVERY_URL", "http://"+c.Addr)
	c.ClientKey = get("RECOVERY_API_KEY", c.DevAPIKey)
	return c, nil
}

func atoi(s, name string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, fmt.Errorf("%s: %q is not a whole number from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// keys returns every accepted API key: the configured ones and, in dev, the
// dev key.
func (c Config) keys(dev bool) []string {
	if dev {
		return append([]string{c.DevAPIKey}, c.APIKeys...)
	}
	return c.APIKeys
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
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

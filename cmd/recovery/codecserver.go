package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/codec"
	"github.com/recoveryhq/recovery/internal/web"
)

// newCodecServer returns the codec server of a configuration: pc's keys,
// the credentials with the read right (in dev, dev's own keys too), the
// OIDC issuer when configured, loopback callers in dev, and the allowed
// browser origins.
func newCodecServer(cfg Config, pc *codec.Codec, dev bool, log *slog.Logger) *web.CodecServer {
	s := &web.CodecServer{Codec: pc, Credentials: cfg.credentials(dev), DevLoopback: dev, Origins: cfg.codecOrigins(dev),
		Logger: log}
	if cfg.CodecOIDCIssuer != "" {
		// Only fails without an issuer or an audience, which loadConfig refuses.
		if o, err := auth.NewOIDC(cfg.CodecOIDCIssuer, cfg.CodecOIDCAudience, nil); err == nil {
			s.OIDC = o
		}
	}
	return s
}

// codecServer is the codec server dev serves under /codec/.
func (s *stack) codecServer(cfg Config, dev bool) *web.CodecServer {
	return newCodecServer(cfg, s.codec, dev, s.log)
}

// runCodecServer runs `recovery codec-server [--dev]`: the codec server
// protocol on RECOVERY_CODEC_ADDR, for the Temporal UI (or the temporal
// CLI) to show the payloads RECOVERY_PAYLOAD_KEYS encrypted.
func runCodecServer(ctx context.Context, cfg Config, args []string, stdout io.Writer, log *slog.Logger) error {
	fs := flag.NewFlagSet("codec-server", flag.ContinueOnError)
	fs.SetOutput(stdout)
	dev := fs.Bool("dev", false, "dev mode: callers on this machine need no credential, the built-in dev key "+
		"unless RECOVERY_PAYLOAD_KEYS is set, the UI of temporal server start-dev as the allowed origin; loopback only")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("codec-server: %w: %w", err, errUsage)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("codec-server takes no arguments, only --dev: %w", errUsage)
	}
	if *dev {
		cfg = cfg.withDevPayloadKey()
	}
	pc, err := cfg.payloadCodec()
	if err != nil {
		return fmt.Errorf("RECOVERY_PAYLOAD_KEYS: %w", err)
	}
	if pc == nil {
		return errors.New("codec-server: RECOVERY_PAYLOAD_KEYS is not set: there is nothing to decode " +
			"(the same keys as the workers', or --dev for the built-in dev key)")
	}
	if *dev && !loopback(cfg.CodecAddr) {
		return fmt.Errorf("codec-server --dev lets any caller on this machine decode, and its keys are well known: "+
			"RECOVERY_CODEC_ADDR=%s must be a loopback address (127.0.0.1:8081)", cfg.CodecAddr)
	}
	if len(cfg.Credentials) > 0 || *dev {
		if err := cfg.checkCredentials(*dev); err != nil {
			return err
		}
	}
	srv := newCodecServer(cfg, pc, *dev, log)
	readers := 0
	for _, c := range srv.Credentials {
		if c.Has(auth.Read) {
			readers++
		}
	}
	if !*dev && readers == 0 && srv.OIDC == nil {
		return errors.New("codec-server: nobody could call it: set RECOVERY_CODEC_OIDC_ISSUER and RECOVERY_CODEC_OIDC_AUDIENCE " +
			"(the Temporal UI's access tokens), or give a key the read right (RECOVERY_KEYS_FILE, RECOVERY_KEYS; docs/credentials.md)")
	}
	ln, err := net.Listen("tcp", cfg.CodecAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (set RECOVERY_CODEC_ADDR to use another address): %w", cfg.CodecAddr, err)
	}
	scheme := "http"
	if cfg.CodecTLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.CodecTLSCert, cfg.CodecTLSKey)
		if err != nil {
			ln.Close()
			// The error names the files, never their content.
			return fmt.Errorf("RECOVERY_CODEC_TLS_CERT, RECOVERY_CODEC_TLS_KEY: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	} else if !loopback(cfg.CodecAddr) {
		log.Warn("the codec server listens beyond this machine without TLS: tokens and payloads cross the network in the clear " +
			"(set RECOVERY_CODEC_TLS_CERT and RECOVERY_CODEC_TLS_KEY, or put it behind a TLS proxy; " +
			"the Temporal UI passes its access token to an https endpoint only)")
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 60 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()
	endpoint := scheme + "://" + ln.Addr().String()
	callers := []string{}
	if *dev {
		callers = append(callers, "any caller on this machine")
	}
	if readers > 0 {
		callers = append(callers, fmt.Sprintf("%d key(s) with the read right", readers))
	}
	if srv.OIDC != nil {
		callers = append(callers, "access tokens of "+cfg.CodecOIDCIssuer+" for "+cfg.CodecOIDCAudience)
	}
	log.Info("codec server started", "endpoint", endpoint, "encrypting_key", pc.EncryptingKeyID(), "keys", pc.KeyIDs(),
		"callers", strings.Join(callers, "; "), "origins", srv.Origins, "dev", *dev)
	fmt.Fprintf(stdout, "Codec server: %s   (Temporal UI codec endpoint; POST /{namespace}/decode)\n  Payloads:  %s\n  Callers:   %s\n  Origins:   %s\n",
		endpoint, payloadHint(pc), strings.Join(callers, "; "), originsHint(srv.Origins))
	select {
	case <-ctx.Done():
	case err := <-done:
		return fmt.Errorf("codec server: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(sctx)
}

func originsHint(origins []string) string {
	if len(origins) == 0 {
		return "none (set RECOVERY_CODEC_CORS_ORIGIN to the Temporal UI's origin for browsers to call it)"
	}
	return strings.Join(origins, ", ")
}

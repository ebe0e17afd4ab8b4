package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/codec"
)

// MaxCodecBody bounds a codec request: Temporal's own limit on one
// payload is 2 MiB, and the UI sends the payloads of one event at a time.
const MaxCodecBody = 8 << 20

// TokenVerifier checks an OIDC access token (auth.OIDC).
type TokenVerifier interface {
	Verify(ctx context.Context, token string) error
}

// CodecServer serves Temporal's codec server protocol, so that the
// Temporal UI (or the temporal CLI) can show encrypted payloads: POST
// /encode and /decode, or /{namespace}/encode and /{namespace}/decode,
// with a Payloads document in proto JSON ({"payloads": [{"metadata":
// {...}, "data": "<base64>"}]}) answered with one, as the SDK's
// converter.NewPayloadCodecHTTPHandler does; errors are
// application/problem+json.
//
// Who may call: a loopback caller when DevLoopback is set (dev only), a
// bearer key with the read right, or an OIDC access token that OIDC
// accepts. Browsers may call from Origins only (CORS, with credentials).
// Payloads are never logged.
type CodecServer struct {
	Codec converter.PayloadCodec
	// Credentials are the keys; those with the read right may use it.
	Credentials []auth.Credential
	// OIDC verifies the Temporal UI's access tokens; nil: none accepted.
	OIDC TokenVerifier
	// DevLoopback lets a caller on this machine in without a credential
	// (a request from and to a loopback address).
	DevLoopback bool
	// Origins are the browser origins (such as the Temporal UI's,
	// http://localhost:8233) allowed to call; exact matches only.
	Origins []string
	Logger  *slog.Logger
}

// Handler returns the codec server's handler.
func (s *CodecServer) Handler() http.Handler {
	keys := auth.NewSet(s.Credentials)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		who, op, n := "", "", 0
		defer func() {
			if p := recover(); p != nil {
				s.Logger.Error("codec handler panic", "path", r.URL.Path, "panic", p)
				writeError(sw, errPanic)
			}
			if sw.status >= 500 || s.Logger.Enabled(r.Context(), slog.LevelDebug) {
				// Who (a key's name, "oidc" or "dev-loopback"), what and
				// how many: never a payload, never a token's subject.
				s.Logger.Info("codec", "method", r.Method, "path", r.URL.Path, "op", op, "payloads", n, "caller", who,
					"status", sw.status, "duration", time.Since(start))
			}
		}()
		who, op, n = s.serve(sw, r, keys)
	})
}

// serve answers one request and returns who called, the operation and
// how many payloads it carried, for the log.
func (s *CodecServer) serve(w http.ResponseWriter, r *http.Request, keys *auth.Set) (who, op string, n int) {
	w.Header().Add("Vary", "Origin")
	origin := r.Header.Get("Origin")
	allowed := origin != "" && slices.Contains(s.Origins, origin)
	if allowed {
		w.Header().Set("Access-Control-Allow-Origin", origin)
		w.Header().Set("Access-Control-Allow-Credentials", "true")
	}
	path := strings.Trim(r.URL.Path, "/")
	if path == "healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return "", "", 0
	}
	op = codecOp(path)
	if op == "" {
		writeProblem(w, http.StatusNotFound, "not-found", "Not found",
			"The codec server answers POST /encode and /decode, or /{namespace}/encode and /{namespace}/decode.")
		return "", "", 0
	}
	if origin != "" && !allowed {
		// A browser page of another origin: refused before anything else,
		// preflight or not (RECOVERY_CODEC_CORS_ORIGIN names the allowed).
		writeProblem(w, http.StatusForbidden, "cross-origin", "Origin not allowed",
			fmt.Sprintf("Requests from the origin %q are not allowed; RECOVERY_CODEC_CORS_ORIGIN lists those that are.", origin))
		return "", op, 0
	}
	if r.Method == http.MethodOptions {
		if !allowed {
			writeProblem(w, http.StatusForbidden, "cross-origin", "Not a CORS preflight",
				"OPTIONS answers the preflight of an allowed browser origin only.")
			return "", op, 0
		}
		w.Header().Set("Access-Control-Allow-Methods", "POST, OPTIONS")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Namespace")
		w.Header().Set("Access-Control-Max-Age", "600")
		w.WriteHeader(http.StatusNoContent)
		return "", op, 0
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST, OPTIONS")
		writeProblem(w, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			fmt.Sprintf("/%s takes POST with a Payloads document.", op))
		return "", op, 0
	}
	who, ok := s.authorize(w, r, keys)
	if !ok {
		return "", op, 0
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeProblem(w, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"Send the payloads as Content-Type: application/json.")
		return who, op, 0
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxCodecBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "too-large", "Request too large",
				fmt.Sprintf("A codec request may carry at most %d MiB.", MaxCodecBody>>20))
		} else {
			writeProblem(w, http.StatusBadRequest, "bad-request", "Unreadable request", "The body could not be read.")
		}
		return who, op, 0
	}
	var in commonpb.Payloads
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(body, &in); err != nil {
		// The parser's message may quote the body: not shown.
		writeProblem(w, http.StatusBadRequest, "malformed", "Malformed payloads",
			`The body is not a Payloads document in proto JSON: {"payloads": [{"metadata": {"encoding": "<base64>"}, "data": "<base64>"}]}.`)
		return who, op, 0
	}
	n = len(in.Payloads)
	for i, p := range in.Payloads {
		if p == nil {
			writeProblem(w, http.StatusBadRequest, "malformed", "Malformed payloads", fmt.Sprintf("payloads[%d] is null.", i))
			return who, op, n
		}
	}
	out := in.Payloads
	if op == "encode" {
		out, err = s.Codec.Encode(in.Payloads)
	} else {
		out, err = s.Codec.Decode(in.Payloads)
	}
	if err != nil {
		var unknown *codec.UnknownKeyError
		var undecryptable *codec.DecryptError
		switch {
		case errors.As(err, &unknown):
			writeProblem(w, http.StatusBadRequest, "unknown-key", "Unknown key", unknown.Error())
		case errors.As(err, &undecryptable):
			writeProblem(w, http.StatusBadRequest, "undecryptable", "Payload cannot be decrypted", undecryptable.Error())
		default:
			s.Logger.Warn("codec failed", "op", op, "payloads", n, "err", err)
			writeProblem(w, http.StatusBadRequest, "codec-failed", "The payloads could not be "+op+"d",
				"The codec refused the payloads; the server logged why.")
		}
		return who, op, n
	}
	doc, err := protojson.Marshal(&commonpb.Payloads{Payloads: out})
	if err != nil {
		writeError(w, err)
		return who, op, n
	}
	w.Header().Set("Content-Type", "application/json")
	jsonHeaders(w)
	w.WriteHeader(http.StatusOK)
	w.Write(doc) //nolint:errcheck
	return who, op, n
}

// codecOp returns "encode" or "decode" for /encode, /decode,
// /{namespace}/encode and /{namespace}/decode; "" for anything else.
func codecOp(path string) string {
	parts := strings.Split(path, "/")
	if len(parts) > 2 || len(parts) == 2 && parts[0] == "" {
		return ""
	}
	switch last := parts[len(parts)-1]; last {
	case "encode", "decode":
		return last
	}
	return ""
}

// authorize finds who calls: a key with the read right, an OIDC access
// token, or (dev) a loopback caller without any credential. It answers
// 401, 403 or 503 itself when nobody is found.
func (s *CodecServer) authorize(w http.ResponseWriter, r *http.Request, keys *auth.Set) (string, bool) {
	h := r.Header.Get("Authorization")
	if h == "" {
		if s.DevLoopback && loopbackRequest(r) {
			return "dev-loopback", true
		}
		s.codecUnauthorized(w, "")
		return "", false
	}
	token, ok := strings.CutPrefix(h, "Bearer ")
	token = strings.TrimSpace(token)
	if !ok || token == "" {
		s.codecUnauthorized(w, "")
		return "", false
	}
	if c, ok := keys.Lookup(token); ok {
		if !c.Has(auth.Read) {
			writeProblem(w, http.StatusForbidden, "forbidden", "Forbidden",
				fmt.Sprintf("The credential %q does not have the read right the codec server needs (see docs/credentials.md).", c.Name))
			return "", false
		}
		return "key:" + c.Name, true
	}
	if s.OIDC != nil && auth.LooksLikeJWT(token) {
		err := s.OIDC.Verify(r.Context(), token)
		switch {
		case err == nil:
			return "oidc", true
		case errors.Is(err, auth.ErrIssuerUnavailable):
			s.Logger.Warn("codec: the OIDC issuer could not be reached", "err", err)
			writeProblem(w, http.StatusServiceUnavailable, "issuer-unavailable", "Identity provider unavailable",
				"The access token cannot be checked now: the identity provider did not answer. Try again shortly.")
			return "", false
		case errors.Is(err, auth.ErrTokenExpired):
			s.codecUnauthorized(w, "The access token has expired.")
			return "", false
		}
		s.Logger.Debug("codec: access token refused", "err", err)
		s.codecUnauthorized(w, "The access token was not accepted (issuer, audience or signature).")
		return "", false
	}
	s.codecUnauthorized(w, "")
	return "", false
}

func (s *CodecServer) codecUnauthorized(w http.ResponseWriter, why string) {
	if why == "" {
		why = "Send 'Authorization: Bearer <token>': an API key with the read right"
		if s.OIDC != nil {
			why += ", or an access token of the configured identity provider (the Temporal UI's, with its codec setting \"pass access token\")"
		}
		why += "."
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="recovery-codec"`)
	writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized", why)
}

// loopbackRequest reports whether a request comes from this machine and
// names this machine: a loopback peer, and a loopback Host (so that a web
// page whose name was rebound to 127.0.0.1 is not let in).
func loopbackRequest(r *http.Request) bool {
	peer, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	if ip := net.ParseIP(peer); ip == nil || !ip.IsLoopback() {
		return false
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

package web

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/auth/oidctest"
	"github.com/recoveryhq/recovery/internal/codec"
)

// testIssuer is an OIDC identity provider on loopback (oidctest) that
// signs access tokens.
type testIssuer struct{ *oidctest.Provider }

func newTestIssuer(t *testing.T) *testIssuer {
	t.Helper()
	return &testIssuer{oidctest.New(t, "recovery-codec-client", "")}
}

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// token signs claims (RS256) with key, or the issuer's own when nil.
func (is *testIssuer) token(t *testing.T, claims map[string]any, key *rsa.PrivateKey) string {
	t.Helper()
	return is.Sign(claims, key)
}

// claims are a valid access token's for the audience, altered by edit.
func (is *testIssuer) claims(aud string, edit func(map[string]any)) map[string]any {
	now := time.Now()
	c := map[string]any{"iss": is.URL, "sub": "user-42", "aud": aud, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if edit != nil {
		edit(c)
	}
	return c
}

const codecAudience = "recovery-codec"

func testCodec(t *testing.T, spec string) *codec.Codec {
	t.Helper()
	c, err := codec.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	keyA = "a:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xa}, 32))
	keyB = "b:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xb}, 32))
)

// codecServer is a codec server with keys A, a read key, an ingest key,
// an approver, the issuer's tokens and the UI origin http://localhost:8233.
func codecServer(t *testing.T, is *testIssuer, log io.Writer) *CodecServer {
	t.Helper()
	if log == nil {
		log = io.Discard
	}
	s := &CodecServer{Codec: testCodec(t, keyA), Origins: []string{"http://localhost:8233"},
		Credentials: []auth.Credential{
			{Name: "reader", Key: "reader-key-0123456789", Rights: []auth.Right{auth.Read}},
			{Name: "shop", Key: "shop-key-0123456789", Rights: []auth.Right{auth.Ingest}, Sources: []string{"*"}},
			auth.Approver("alice", "alice-key-0123456789", 100),
		},
		Logger: slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if is != nil {
		o, err := auth.NewOIDC(is.URL, codecAudience, nil)
		if err != nil {
			t.Fatal(err)
		}
		s.OIDC = o
	}
	return s
}

// secretPayload is what the tests encrypt: a payload whose data must
// never show in a log.
func secretPayload(t *testing.T) *commonpb.Payload {
	t.Helper()
	p, err := converter.GetDefaultDataConverter().ToPayload(map[string]string{"note": "payload-content-never-logged"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func payloadsBody(t *testing.T, ps ...*commonpb.Payload) string {
	t.Helper()
	b, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func codecRequest(method, path, body string, header ...string) *http.Request {
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.RemoteAddr = "192.0.2.7:40000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

func TestCodecServerAuthorization(t *testing.T) {
	is := newTestIssuer(t)
	var logged bytes.Buffer
	s := codecServer(t, is, &logged)
	orig := secretPayload(t)
	enc, err := s.Codec.Encode([]*commonpb.Payload{orig})
	if err != nil {
		t.Fatal(err)
	}
	body := payloadsBody(t, enc...)
	otherKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	bearer := func(tok string) []string { return []string{"Authorization", "Bearer " + tok} }
	valid := is.token(t, is.claims(codecAudience, nil), nil)
	for _, tc := range []struct {
		name   string
		header []string
		remote string // RemoteAddr, when not the default non-loopback one
		host   string
		dev    bool
		want   int
	}{
		{name: "no credential", want: 401},
		{name: "a wrong key", header: bearer("wrong-key-0123456789"), want: 401},
		{name: "a non-bearer scheme", header: []string{"Authorization", "Basic cmVhZGVyLWtleS0wMTIzNDU2Nzg5Og=="}, want: 401},
		{name: "an empty bearer", header: []string{"Authorization", "Bearer "}, want: 401},
		{name: "a key without read", header: bearer("shop-key-0123456789"), want: 403},
		{name: "a read key", header: bearer("reader-key-0123456789"), want: 200},
		{name: "an approver (approve carries read)", header: bearer("alice-key-0123456789"), want: 200},
		{name: "a valid OIDC token", header: bearer(valid), want: 200},
		{name: "an audience list with ours", header: bearer(is.token(t, is.claims("", func(c map[string]any) {
			c["aud"] = []string{"temporal-ui", codecAudience}
		}), nil)), want: 200},
		{name: "a token for another audience", header: bearer(is.token(t, is.claims("temporal-ui", nil), nil)), want: 401},
		{name: "an expired token", header: bearer(is.token(t, is.claims(codecAudience, func(c map[string]any) {
			c["exp"] = time.Now().Add(-time.Minute).Unix()
		}), nil)), want: 401},
		{name: "a token without expiry", header: bearer(is.token(t, is.claims(codecAudience, func(c map[string]any) {
			delete(c, "exp")
		}), nil)), want: 401},
		{name: "a token of another issuer", header: bearer(is.token(t, is.claims(codecAudience, func(c map[string]any) {
			c["iss"] = "https://elsewhere.example"
		}), nil)), want: 401},
		{name: "a token signed with another key", header: bearer(is.token(t, is.claims(codecAudience, nil), otherKey)), want: 401},
		{name: "a token with its claims changed", header: bearer(func() string {
			parts := strings.Split(valid, ".")
			forged, _ := json.Marshal(is.claims("", func(c map[string]any) { c["aud"] = codecAudience; c["sub"] = "admin" }))
			return parts[0] + "." + b64url(forged) + "." + parts[2]
		}()), want: 401},
		{name: "three dotted parts of nothing", header: bearer("a.b.c"), want: 401},
		{name: "dev: a loopback caller without credential", dev: true, remote: "127.0.0.1:5000", host: "127.0.0.1:8081", want: 200},
		{name: "dev: loopback by name", dev: true, remote: "[::1]:5000", host: "localhost:8081", want: 200},
		{name: "dev: a remote caller", dev: true, host: "127.0.0.1:8081", want: 401},
		{name: "dev: a loopback peer naming another host (rebinding)", dev: true, remote: "127.0.0.1:5000", host: "evil.example:8081", want: 401},
		{name: "dev: a loopback caller with a wrong key", dev: true, remote: "127.0.0.1:5000", host: "127.0.0.1:8081",
			header: bearer("wrong-key-0123456789"), want: 401},
		{name: "not dev: a loopback caller without credential", remote: "127.0.0.1:5000", host: "127.0.0.1:8081", want: 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s.DevLoopback = tc.dev
			h := s.Handler()
			r := codecRequest("POST", "/default/decode", body, tc.header...)
			if tc.remote != "" {
				r.RemoteAddr = tc.remote
			}
			if tc.host != "" {
				r.Host = tc.host
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if tc.want != 200 {
				if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Fatalf("a %d answered as %q, want application/problem+json", tc.want, ct)
				}
				if strings.Contains(rec.Body.String(), "payload-content") {
					t.Fatalf("a refusal shows the payload: %s", rec.Body)
				}
				return
			}
			var out commonpb.Payloads
			if err := protojson.Unmarshal(rec.Body.Bytes(), &out); err != nil || len(out.Payloads) != 1 || !proto.Equal(out.Payloads[0], orig) {
				t.Fatalf("decoded %s (%v), want the original payload", rec.Body, err)
			}
		})
	}
	// Nothing logged at debug level shows a payload, a key or a token.
	for _, secret := range []string{"payload-content", base64.StdEncoding.EncodeToString(orig.Data), "reader-key", "alice-key",
		strings.Split(valid, ".")[2], "user-42"} {
		if strings.Contains(logged.String(), secret) {
			t.Errorf("the log shows %q:\n%s", secret, logged.String())
		}
	}
	if !strings.Contains(logged.String(), "caller=key:reader") || !strings.Contains(logged.String(), "caller=oidc") {
		t.Errorf("the log does not say who called:\n%s", logged.String())
	}
}

// The issuer away: a token cannot be checked (503), keys still work, and
// the issuer is asked again once it is back.
func TestCodecServerIssuerUnavailable(t *testing.T) {
	is := newTestIssuer(t)
	tok := is.token(t, is.claims(codecAudience, nil), nil)
	o, err := auth.NewOIDC("http://127.0.0.1:1", codecAudience, nil) // nothing listens there
	if err != nil {
		t.Fatal(err)
	}
	s := codecServer(t, nil, nil)
	s.OIDC = o
	body := payloadsBody(t, secretPayload(t))
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, codecRequest("POST", "/encode", body, "Authorization", "Bearer "+tok))
	if rec.Code != 503 || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Fatalf("with the issuer away: %d %s, want a 503 problem", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, codecRequest("POST", "/encode", body, "Authorization", "Bearer reader-key-0123456789"))
	if rec.Code != 200 {
		t.Fatalf("a read key with the issuer away: %d %s", rec.Code, rec.Body)
	}
}

func TestCodecServerCORS(t *testing.T) {
	s := codecServer(t, nil, nil)
	h := s.Handler()
	preflight := func(origin string) *httptest.ResponseRecorder {
		r := codecRequest("OPTIONS", "/default/decode", "", "Origin", origin, "Access-Control-Request-Method", "POST",
			"Access-Control-Request-Headers", "authorization,content-type,x-namespace")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := preflight("http://localhost:8233")
	if rec.Code != 204 {
		t.Fatalf("preflight from the UI's origin: %d %s", rec.Code, rec.Body)
	}
	hd := rec.Header()
	if hd.Get("Access-Control-Allow-Origin") != "http://localhost:8233" || hd.Get("Access-Control-Allow-Credentials") != "true" ||
		!strings.Contains(hd.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight headers: %v", hd)
	}
	for _, want := range []string{"Authorization", "Content-Type", "X-Namespace"} {
		if !strings.Contains(hd.Get("Access-Control-Allow-Headers"), want) {
			t.Fatalf("Access-Control-Allow-Headers %q lacks %s", hd.Get("Access-Control-Allow-Headers"), want)
		}
	}
	for _, origin := range []string{"http://evil.example", "http://localhost:8234", "null", "https://localhost:8233"} {
		rec := preflight(origin)
		if rec.Code == 204 || rec.Code == 200 || rec.Header().Get("Access-Control-Allow-Origin") != "" {
			t.Fatalf("preflight from %s: %d %v, want it refused without Access-Control-Allow-Origin", origin, rec.Code, rec.Header())
		}
	}
	// The request itself: the allowed origin gets its CORS headers, any
	// other is refused, credential or not.
	body := payloadsBody(t, secretPayload(t))
	for _, tc := range []struct {
		origin string
		want   int
	}{{"http://localhost:8233", 200}, {"http://evil.example", 403}, {"", 200}} {
		r := codecRequest("POST", "/default/encode", body, "Authorization", "Bearer reader-key-0123456789", "X-Namespace", "default")
		if tc.origin != "" {
			r.Header.Set("Origin", tc.origin)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		acao := rec.Header().Get("Access-Control-Allow-Origin")
		if rec.Code != tc.want || tc.origin == "http://localhost:8233" && acao != tc.origin || tc.origin != "http://localhost:8233" && acao != "" {
			t.Fatalf("POST from %q: %d, Access-Control-Allow-Origin %q", tc.origin, rec.Code, acao)
		}
		if !strings.Contains(strings.Join(rec.Header().Values("Vary"), ","), "Origin") {
			t.Fatalf("POST from %q: no Vary: Origin", tc.origin)
		}
	}
	// No wildcard, ever: an origin list of "*" allows nothing but "*".
	s.Origins = []string{"*"}
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, codecRequest("OPTIONS", "/decode", "", "Origin", "http://evil.example", "Access-Control-Request-Method", "POST"))
	if rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("a * in the origins allowed another origin")
	}
}

// The SDK's own remote codec client talks to the server: the wire format
// is the one Temporal's tools speak.
func TestCodecServerSpeaksTheSDKProtocol(t *testing.T) {
	s := codecServer(t, nil, nil)
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, endpoint := range []string{srv.URL, srv.URL + "/default"} {
		remote := converter.NewRemotePayloadCodec(converter.RemotePayloadCodecOptions{Endpoint: endpoint,
			ModifyRequest: func(r *http.Request) error {
				r.Header.Set("Authorization", "Bearer reader-key-0123456789")
				r.Header.Set("X-Namespace", "default")
				return nil
			}})
		orig := []*commonpb.Payload{secretPayload(t), {Metadata: map[string][]byte{"encoding": []byte("binary/null")}}}
		enc, err := remote.Encode(orig)
		if err != nil {
			t.Fatalf("%s/encode: %v", endpoint, err)
		}
		if codec.KeyIDOf(enc[0]) != "a" || codec.KeyIDOf(enc[1]) != "a" {
			t.Fatalf("%s/encode answered %v", endpoint, enc)
		}
		dec, err := remote.Decode(enc)
		if err != nil {
			t.Fatalf("%s/decode: %v", endpoint, err)
		}
		for i := range orig {
			if !proto.Equal(dec[i], orig[i]) {
				t.Fatalf("%s: payload %d round-tripped to %v", endpoint, i, dec[i])
			}
		}
		// And the locally encrypted payloads decode remotely, as the UI
		// decodes what the workers wrote.
		local, _ := s.Codec.Encode(orig)
		if dec, err := remote.Decode(local); err != nil || !proto.Equal(dec[0], orig[0]) {
			t.Fatalf("remote decode of a local payload: %v %v", dec, err)
		}
	}
}

func TestCodecServerBadRequests(t *testing.T) {
	s := codecServer(t, nil, nil)
	h := s.Handler()
	cred := []string{"Authorization", "Bearer reader-key-0123456789"}
	fromB := testCodec(t, keyB)
	encB, _ := fromB.Encode([]*commonpb.Payload{secretPayload(t)})
	encA, _ := s.Codec.Encode([]*commonpb.Payload{secretPayload(t)})
	encA[0].Data[20] ^= 1
	for _, tc := range []struct {
		name, method, path, body, ctype string
		want                            int
		detail                          string
	}{
		{name: "not JSON", method: "POST", path: "/decode", body: `{"payloads": [`, want: 400, detail: "not a Payloads document"},
		{name: "data not base64", method: "POST", path: "/decode", body: `{"payloads": [{"data": "!!"}]}`, want: 400},
		{name: "another media type", method: "POST", path: "/decode", body: `{}`, ctype: "text/plain", want: 415},
		{name: "GET", method: "GET", path: "/decode", want: 405},
		{name: "too deep", method: "POST", path: "/a/b/decode", body: `{}`, want: 404},
		{name: "another operation", method: "POST", path: "/default/transcode", body: `{}`, want: 404},
		{name: "an unknown key", method: "POST", path: "/decode", body: payloadsBody(t, encB...), want: 400, detail: `key "b"`},
		{name: "an altered payload", method: "POST", path: "/decode", body: payloadsBody(t, encA...), want: 400, detail: `key "a"`},
		{name: "too large", method: "POST", path: "/encode", body: `{"payloads": [{"data": "` + strings.Repeat("A", MaxCodecBody) + `"}]}`, want: 413},
		{name: "empty", method: "POST", path: "/decode", body: `{}`, want: 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := codecRequest(tc.method, tc.path, tc.body, cred...)
			if tc.ctype != "" {
				r.Header.Set("Content-Type", tc.ctype)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			if rec.Code != tc.want {
				t.Fatalf("%d %s, want %d", rec.Code, rec.Body, tc.want)
			}
			if tc.want == 200 {
				return
			}
			var p Problem
			if rec.Header().Get("Content-Type") != "application/problem+json" || json.Unmarshal(rec.Body.Bytes(), &p) != nil ||
				p.Status != tc.want || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("answer %q %s, want a problem with %q", rec.Header().Get("Content-Type"), rec.Body, tc.detail)
			}
			if strings.Contains(rec.Body.String(), "payload-content") || strings.Contains(rec.Body.String(), `"b:`) {
				t.Fatalf("the problem shows a payload or a key: %s", rec.Body)
			}
		})
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"slices"
	"strings"
	"testing"

	"go.temporal.io/sdk/client"

	"github.com/recoveryhq/recovery/internal/codec"
)

func b64Key(fill byte) string {
	return base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{fill}, 32))
}

// Which codec each role gets: the configured keys; without them the
// built-in dev key in dev, bench and codec-server --dev, none in serve and
// worker (startStack itself never adds the dev key).
func TestCodecConfigPayloadKeys(t *testing.T) {
	c, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if pc, _ := c.payloadCodec(); pc != nil {
		t.Fatal("serve/worker without RECOVERY_PAYLOAD_KEYS encrypt")
	}
	pc, err := c.withDevPayloadKey().payloadCodec()
	if err != nil || pc == nil || pc.EncryptingKeyID() != codec.DevKeyID {
		t.Fatalf("dev without RECOVERY_PAYLOAD_KEYS: %v %v, want the dev key", pc, err)
	}
	if hint := payloadHint(pc); !strings.Contains(hint, "built-in dev key") {
		t.Fatalf("dev's payload hint %q does not say the key is the dev one", hint)
	}
	if len(c.PayloadKeys) != 0 {
		t.Fatal("withDevPayloadKey changed the configuration it was called on")
	}

	c, err = loadConfig(envOf(map[string]string{"RECOVERY_PAYLOAD_KEYS": "k2:" + b64Key(2) + ", k1:" + b64Key(1)}))
	if err != nil {
		t.Fatal(err)
	}
	for _, cfg := range []Config{c, c.withDevPayloadKey()} {
		pc, err := cfg.payloadCodec()
		if err != nil || pc == nil || pc.EncryptingKeyID() != "k2" || !slices.Equal(pc.KeyIDs(), []string{"k2", "k1"}) {
			t.Fatalf("with keys k2,k1: %v %v", pc, err)
		}
	}
	opts := temporalOptions(client.Options{}, "127.0.0.1:7233", "default", nil, quietLogger())
	if opts.DataConverter != nil || opts.FailureConverter != nil {
		t.Fatal("a client without a codec has a data converter")
	}
	pc, _ = c.payloadCodec()
	opts = temporalOptions(client.Options{}, "127.0.0.1:7233", "default", pc, quietLogger())
	p, err := opts.DataConverter.ToPayload("x")
	if err != nil || codec.KeyIDOf(p) != "k2" {
		t.Fatalf("the client's data converter writes %v (%v), want a k2 payload", p, err)
	}
	if f := opts.FailureConverter.ErrorToFailure(io.EOF); f.GetMessage() == io.EOF.Error() || codec.KeyIDOf(f.GetEncodedAttributes()) != "k2" {
		t.Fatalf("a failure's message is not encrypted: %v", f)
	}
}

// Config errors name the variable and the entry, never a key.
func TestCodecConfigErrors(t *testing.T) {
	secret := b64Key(7)
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"RECOVERY_PAYLOAD_KEYS": "k1:" + secret + ",k1:" + b64Key(8)}, `RECOVERY_PAYLOAD_KEYS: entries 1 and 2 have the same key id "k1"`},
		{map[string]string{"RECOVERY_PAYLOAD_KEYS": "k1:" + secret[:20]}, `RECOVERY_PAYLOAD_KEYS: entry 1 (key "k1"): the key is 15 bytes, not 32`},
		{map[string]string{"RECOVERY_PAYLOAD_KEYS": "k1:" + secret + "%"}, `RECOVERY_PAYLOAD_KEYS: entry 1 (key "k1"): the key is not base64`},
		{map[string]string{"RECOVERY_PAYLOAD_KEYS": secret}, "RECOVERY_PAYLOAD_KEYS: entry 1 is not id:base64key"},
		{map[string]string{"RECOVERY_CODEC_CORS_ORIGIN": "*"}, "RECOVERY_CODEC_CORS_ORIGIN"},
		{map[string]string{"RECOVERY_CODEC_CORS_ORIGIN": "http://localhost:8233/ui"}, "no path"},
		{map[string]string{"RECOVERY_CODEC_CORS_ORIGIN": "https://*.example.com"}, "no wildcard"},
		{map[string]string{"RECOVERY_CODEC_OIDC_ISSUER": "https://id.example.com"}, "RECOVERY_CODEC_OIDC_AUDIENCE is required"},
		{map[string]string{"RECOVERY_CODEC_OIDC_AUDIENCE": "recovery"}, "RECOVERY_CODEC_OIDC_ISSUER is required"},
		{map[string]string{"RECOVERY_CODEC_OIDC_ISSUER": "http://id.example.com", "RECOVERY_CODEC_OIDC_AUDIENCE": "r"}, "not an https URL"},
		{map[string]string{"RECOVERY_CODEC_TLS_CERT": "cert.pem"}, "RECOVERY_CODEC_TLS_KEY go together"},
		{map[string]string{"RECOVERY_CODEC_ADDR": "8081"}, "RECOVERY_CODEC_ADDR"},
	} {
		_, err := loadConfig(envOf(tc.env))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want an error with %q", tc.env, err, tc.want)
			continue
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), secret[:20]) {
			t.Errorf("%v: the error shows the key: %v", tc.env, err)
		}
	}
	c, err := loadConfig(envOf(map[string]string{"RECOVERY_CODEC_CORS_ORIGIN": "http://localhost:8233/, https://ui.example.com",
		"RECOVERY_CODEC_OIDC_ISSUER": "http://127.0.0.1:9000/realms/x", "RECOVERY_CODEC_OIDC_AUDIENCE": "recovery"}))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.codecOrigins(false), []string{"http://localhost:8233", "https://ui.example.com"}) {
		t.Fatalf("origins %v", c.codecOrigins(false))
	}
	none, _ := loadConfig(envOf(nil))
	if len(none.codecOrigins(false)) != 0 || !slices.Equal(none.codecOrigins(true), DevCodecOrigins) || none.CodecAddr != "127.0.0.1:8081" {
		t.Fatalf("defaults: origins %v (dev %v), addr %s", none.codecOrigins(false), none.codecOrigins(true), none.CodecAddr)
	}
}

// codec-server refuses to start with nothing to decode, with nobody who
// could call it, or in dev mode beyond loopback; and says so clearly.
func TestCodecServerCommandRefuses(t *testing.T) {
	keys := "RECOVERY_PAYLOAD_KEYS=k1:" + b64Key(1)
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{nil, nil, "RECOVERY_PAYLOAD_KEYS is not set"},
		{nil, []string{keys}, "nobody could call it"},
		{[]string{"--dev"}, []string{"RECOVERY_CODEC_ADDR=0.0.0.0:8081"}, "must be a loopback address"},
		{[]string{"extra"}, []string{keys}, "usage"},
		{nil, []string{keys, `RECOVERY_KEYS={"keys": [{"name": "r", "key": "short", "rights": ["read"]}]}`}, "shorter than 16"},
	} {
		env := map[string]string{}
		for _, kv := range tc.env {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
		var out bytes.Buffer
		err := run(context.Background(), append([]string{"codec-server"}, tc.args...), envOf(env), &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("codec-server %v with %v: %v, want an error with %q", tc.args, tc.env, err, tc.want)
		}
		if strings.Contains(err.Error(), b64Key(1)) {
			t.Errorf("the error shows the key: %v", err)
		}
	}
}

package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// These tests complement signing_test.go (which holds the specification's
// example): the HMAC computed independently, the tolerance's edges, what
// errors say and do not say, and forged signatures under fuzzing.

// referenceSignature computes a v1 signature straight from the
// specification's recipe: HMAC-SHA256 over "id.timestamp.body", base64.
func referenceSignature(key []byte, id, ts, body string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id + "." + ts + "." + body))
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestStandardWebhookSecretForms(t *testing.T) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(specSecret, "whsec_"))
	if err != nil {
		t.Fatal(err)
	}
	ts := strconv.Itoa(specTS)
	if got := referenceSignature(key, specID, ts, specBody); got != specSig {
		t.Fatalf("the specification's example does not hold: %s", got)
	}
	// Without the prefix the secret is the key itself, byte for byte.
	raw := "a raw shared secret, not base64"
	want := referenceSignature([]byte(raw), specID, ts, specBody)
	got, err := SignStandardWebhook(raw, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || got != want {
		t.Fatalf("raw secret: sign = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"", "whsec_", "whsec_not base64!"} {
		if _, err := SignStandardWebhook(bad, specID, time.Unix(specTS, 0), []byte(specBody)); !errors.Is(err, ErrSignature) {
			t.Errorf("secret %q: err = %v, want ErrSignature", bad, err)
		}
	}
}

func TestStandardWebhookToleranceEdges(t *testing.T) {
	now := time.Unix(specTS, 0)
	for _, tc := range []struct {
		offset time.Duration
		ok     bool
	}{
		{-5 * time.Minute, true}, {5 * time.Minute, true},
		{-5*time.Minute - time.Second, false}, {5*time.Minute + time.Second, false},
	} {
		at := now.Add(tc.offset)
		sig, _ := SignStandardWebhook(specSecret, specID, at, []byte(specBody))
		_, err := VerifyStandardWebhook(webhookHeader(specID, at.Unix(), sig), []byte(specBody), []string{specSecret}, now)
		if (err == nil) != tc.ok {
			t.Errorf("timestamp %v from now: err = %v, want ok=%v", tc.offset, err, tc.ok)
		}
	}
}

func TestStandardWebhookRotation(t *testing.T) {
	now := time.Unix(specTS, 0)
	const next = "whsec_bmV4dC1zZWNyZXQtYWZ0ZXItcm90YXRpb24="
	oldSig, _ := SignStandardWebhook(specSecret, specID, now, []byte(specBody))
	newSig, _ := SignStandardWebhook(next, specID, now, []byte(specBody))
	cases := []struct {
		name    string
		sigs    string
		secrets []string
		ok      bool
	}{
		{"sender signs with both, we know the new", oldSig + " " + newSig, []string{next}, true},
		{"sender signs with the new, we know both", newSig, []string{specSecret, next}, true},
		{"a malformed secret beside a good one", newSig, []string{"whsec_%%%", next}, true},
		{"sender signs with the old, we know only the new", oldSig, []string{next}, false},
		{"signature of another scheme only", "v1a," + strings.TrimPrefix(newSig, "v1,"), []string{next}, false},
	}
	for _, tc := range cases {
		id, err := VerifyStandardWebhook(webhookHeader(specID, specTS, tc.sigs), []byte(specBody), tc.secrets, now)
		if tc.ok && (err != nil || id != specID) {
			t.Errorf("%s: id %q, err %v", tc.name, id, err)
		}
		if !tc.ok && !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", tc.name, err)
		}
	}
}

// Every failure names its reason and never quotes a secret or a signature.
func TestStandardWebhookErrorsSayWhyAndNothingSecret(t *testing.T) {
	now := time.Unix(specTS, 0)
	header := func(f func(h http.Header)) http.Header {
		h := webhookHeader(specID, specTS, specSig)
		f(h)
		return h
	}
	secrets := []string{specSecret}
	cases := []struct {
		name    string
		h       http.Header
		body    string
		secrets []string
		reason  string
	}{
		{"no id", header(func(h http.Header) { h.Del("webhook-id") }), specBody, secrets, "required"},
		{"no timestamp", header(func(h http.Header) { h.Del("webhook-timestamp") }), specBody, secrets, "required"},
		{"no signature", header(func(h http.Header) { h.Del("webhook-signature") }), specBody, secrets, "required"},
		{"timestamp in milliseconds", header(func(h http.Header) { h.Set("webhook-timestamp", "1614265330.5") }), specBody, secrets, "unix seconds"},
		{"stale", webhookHeader(specID, specTS-3600, specSig), specBody, secrets, "too old"},
		{"future", webhookHeader(specID, specTS+3600, specSig), specBody, secrets, "future"},
		{"tampered body", header(func(h http.Header) {}), specBody + " ", secrets, "no signature matches"},
		{"wrong id", header(func(h http.Header) { h.Set("webhook-id", "msg_other") }), specBody, secrets, "no signature matches"},
		{"malformed secrets only", header(func(h http.Header) {}), specBody, []string{"whsec_%%%", ""}, "secret"},
	}
	for _, tc := range cases {
		_, err := VerifyStandardWebhook(tc.h, []byte(tc.body), tc.secrets, now)
		if !errors.Is(err, ErrSignature) {
			t.Errorf("%s: err = %v, want ErrSignature", tc.name, err)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.reason) {
			t.Errorf("%s: %q does not say %q", tc.name, msg, tc.reason)
		}
		for _, s := range []string{specSecret, strings.TrimPrefix(specSecret, "whsec_"), strings.TrimPrefix(specSig, "v1,"), "%%%"} {
			if strings.Contains(msg, s) {
				t.Errorf("%s: %q quotes a secret or signature", tc.name, msg)
			}
		}
	}
}

// FuzzStandardWebhookForgery holds the timestamp valid and fuzzes the id,
// body and signature header: verification succeeds exactly when the header
// carries the genuine v1 signature among its entries.
func FuzzStandardWebhookForgery(f *testing.F) {
	f.Add(specID, []byte(specBody), specSig)
	f.Add(specID, []byte(specBody), "v1a,abc v1,"+strings.Repeat("A", 43)+"= "+specSig)
	f.Add("msg", []byte(""), "v1,")
	f.Add("", []byte("{}"), "v1,,v1, v2,xyz")
	now := time.Unix(specTS, 0)
	f.Fuzz(func(t *testing.T, id string, body []byte, sig string) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", strconv.Itoa(specTS))
		h.Set("webhook-signature", sig)
		got, err := VerifyStandardWebhook(h, body, []string{specSecret}, now)
		want, _ := SignStandardWebhook(specSecret, h.Get("webhook-id"), now, body)
		genuine := false
		for _, part := range strings.Fields(h.Get("webhook-signature")) {
			v, b64, _ := strings.Cut(part, ",")
			mac, derr := base64.StdEncoding.DecodeString(b64)
			genuine = genuine || v == "v1" && derr == nil && "v1,"+base64.StdEncoding.EncodeToString(mac) == want
		}
		switch {
		case err == nil && !genuine:
			t.Fatalf("verified a signature that is not the genuine one: %q", sig)
		case err == nil && got != h.Get("webhook-id"):
			t.Fatalf("returned id %q, header says %q", got, h.Get("webhook-id"))
		case err != nil && genuine && h.Get("webhook-id") != "":
			t.Fatalf("rejected the genuine signature: %v", err)
		case err != nil && !errors.Is(err, ErrSignature):
			t.Fatalf("error does not wrap ErrSignature: %v", err)
		}
	})
}

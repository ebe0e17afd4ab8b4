package ingest

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The example in the Standard Webhooks specification.
const (
	specSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	specID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	specTS     = 1614265330
	specBody   = `{"test": 2432232314}`
	specSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func webhookHeader(id string, ts int64, sig string) http.Header {
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	return h
}

func TestStandardWebhookSpecExample(t *testing.T) {
	got, err := SignStandardWebhook(specSecret, specID, time.Unix(specTS, 0), []byte(specBody))
	if err != nil || got != specSig {
		t.Fatalf("sign = %q, %v; want the specification's %q", got, err, specSig)
	}
	id, err := VerifyStandardWebhook(webhookHeader(specID, specTS, specSig), []byte(specBody), []string{specSecret}, time.Unix(specTS+10, 0))
	if err != nil || id != specID {
		t.Fatalf("verify = %q, %v", id, err)
	}
}

func TestStandardWebhookRejects(t *testing.T) {
	now := time.Unix(specTS, 0)
	sig, _ := SignStandardWebhook("rotated-secret", specID, now, []byte(specBody))
	cases := []struct {
		name    string
		h       http.Header
		body    string
		secrets []string
		ok      bool
	}{
		{"second secret during rotation", webhookHeader(specID, specTS, sig), specBody, []string{specSecret, "rotated-secret"}, true},
		{"one of several signatures", webhookHeader(specID, specTS, "v1a,xyz v1,AAAA "+specSig), specBody, []string{specSecret}, true},
		{"tampered body", webhookHeader(specID, specTS, specSig), `{"test": 2432232315}`, []string{specSecret}, false},
		{"other id", webhookHeader("msg_other", specTS, specSig), specBody, []string{specSecret}, false},
		{"stale", webhookHeader(specID, specTS-301, specSig), specBody, []string{specSecret}, false},
		{"future", webhookHeader(specID, specTS+301, specSig), specBody, []string{specSecret}, false},
		{"wrong secret", webhookHeader(specID, specTS, specSig), specBody, []string{"whsec_" + "c2VjcmV0"}, false},
		{"missing signature", webhookHeader(specID, specTS, ""), specBody, []string{specSecret}, false},
		{"unknown scheme only", webhookHeader(specID, specTS, "v2,"+specSig[3:]), specBody, []string{specSecret}, false},
		{"malformed timestamp", func() http.Header {
			h := webhookHeader(specID, specTS, specSig)
			h.Set("webhook-timestamp", "soon")
			return h
		}(), specBody, []string{specSecret}, false},
		{"malformed secret", webhookHeader(specID, specTS, specSig), specBody, []string{"whsec_!!"}, false},
		{"no secret", webhookHeader(specID, specTS, specSig), specBody, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := VerifyStandardWebhook(tc.h, []byte(tc.body), tc.secrets, now)
			if tc.ok && err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if !tc.ok && !errors.Is(err, ErrSignature) {
				t.Fatalf("err = %v, want ErrSignature", err)
			}
		})
	}
}

func FuzzVerifyStandardWebhook(f *testing.F) {
	f.Add(specID, "1614265330", specSig, []byte(specBody))
	f.Add("", "", "", []byte{})
	f.Add("x", "-1", "v1,,,, v1", []byte("{}"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		_, err := VerifyStandardWebhook(h, body, []string{specSecret}, time.Unix(specTS, 0))
		if err == nil {
			want, _ := SignStandardWebhook(specSecret, id, time.Unix(specTS, 0), body)
			// Only the real signature may pass (the timestamp may differ within tolerance).
			if sec, perr := strconv.ParseInt(ts, 10, 64); perr == nil && sec == specTS && !slices.Contains(strings.Fields(sig), want) {
				t.Fatalf("verified a signature that is not the real one: %q", sig)
			}
		}
	})
}

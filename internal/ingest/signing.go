package ingest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ErrSignature is wrapped by every Standard Webhooks verification failure.
var ErrSignature = errors.New("webhook signature not valid")

// WebhookTolerance is how far webhook-timestamp may be from now, either way.
const WebhookTolerance = 5 * time.Minute

// webhookKey returns the HMAC key of a secret: "whsec_<base64>" is the
// decoded key; anything else is used as raw bytes.
func webhookKey(secret string) ([]byte, error) {
	if b64, ok := strings.CutPrefix(secret, "whsec_"); ok {
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || len(key) == 0 {
			return nil, fmt.Errorf("%w: a whsec_ secret must carry base64", ErrSignature)
		}
		return key, nil
	}
	if secret == "" {
		return nil, fmt.Errorf("%w: empty secret", ErrSignature)
	}
	return []byte(secret), nil
}

func webhookMAC(key []byte, id, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	m.Write([]byte{'.'})
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// SignStandardWebhook returns the webhook-signature header value
// ("v1,<base64>") for a secret, message id, timestamp and body.
func SignStandardWebhook(secret, id string, ts time.Time, body []byte) (string, error) {
	key, err := webhookKey(secret)
	if err != nil {
		return "", err
	}
	return "v1," + base64.StdEncoding.EncodeToString(webhookMAC(key, id, strconv.FormatInt(ts.Unix(), 10), body)), nil
}

// VerifyStandardWebhook checks a Standard Webhooks signature: webhook-id,
// webhook-timestamp (unix seconds, within WebhookTolerance of now) and
// webhook-signature (space-separated "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>") against each secret (two during rotation). The
// comparison is constant-time. It returns the webhook id.
func VerifyStandardWebhook(h http.Header, body []byte, secrets []string, now time.Time) (string, error) {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return "", fmt.Errorf("%w: webhook-id, webhook-timestamp and webhook-signature are all required", ErrSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: webhook-timestamp is not unix seconds", ErrSignature)
	}
	switch at := time.Unix(sec, 0); {
	case at.Before(now.Add(-WebhookTolerance)):
		return "", fmt.Errorf("%w: webhook-timestamp is too old", ErrSignature)
	case at.After(now.Add(WebhookTolerance)):
		return "", fmt.Errorf("%w: webhook-timestamp is in the future", ErrSignature)
	}
	var given [][]byte
	for _, part := range strings.Fields(sigs) {
		version, b64, ok := strings.Cut(part, ",")
		if !ok || version != "v1" {
			continue // other schemes may sit beside v1
		}
		if mac, err := base64.StdEncoding.DecodeString(b64); err == nil {
			given = append(given, mac)
		}
	}
	if len(given) == 0 {
		return "", fmt.Errorf("%w: no v1 signature", ErrSignature)
	}
	usable := 0
	for _, secret := range secrets {
		key, err := webhookKey(secret)
		if err != nil {
			continue
		}
		usable++
		want := webhookMAC(key, id, ts, body)
		for _, mac := range given {
			if hmac.Equal(mac, want) {
				return id, nil
			}
		}
	}
	if usable == 0 {
		return "", fmt.Errorf("%w: no usable secret is configured", ErrSignature)
	}
	return "", fmt.Errorf("%w: no signature matches", ErrSignature)
}

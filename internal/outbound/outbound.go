// Package outbound delivers the engine's own webhooks to the commerce
// platform (reship, refund, substitute, codes) and to ops (escalations),
// signed with Standard Webhooks. Retrying is the workflow's business:
// Deliver makes one attempt and says whether another could succeed.
package outbound

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Sender posts signed webhooks to one URL.
type Sender struct {
	URL string
	// Secret signs each request ("whsec_" and base64, or raw bytes).
	Secret string
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Deliver posts the webhook once. A 2xx is success; 408, 429 and 5xx (and
// network errors) are worth retrying; any other answer, a redirect
// included (redirects are never followed: the body and its signature go
// to the configured URL only), is a permanent refusal wrapped in
// recovery.ErrInvalid. No error names the URL, which may carry a token.
func (s *Sender) Deliver(ctx context.Context, w recovery.OutboundWebhook) error {
	body, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("encode webhook %s: %w", w.ID, err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now()
	sig, err := ingest.SignStandardWebhook(s.Secret, w.ID, ts, body)
	if err != nil {
		return fmt.Errorf("sign webhook: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("webhook-id", w.ID)
	req.Header.Set("webhook-timestamp", fmt.Sprint(ts.Unix()))
	req.Header.Set("webhook-signature", sig)
	c := http.Client{Timeout: 20 * time.Second}
	if s.Client != nil {
		c = *s.Client
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook %s: %w", w.Type, withoutURL(err))
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) //nolint:errcheck
	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		return nil
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code >= 500:
		return fmt.Errorf("webhook %s: receiver answered %s", w.Type, resp.Status)
	case code >= 300 && code < 400:
		return fmt.Errorf("webhook %s: receiver answered %s, a redirect, which is not followed (point RECOVERY_OUTBOUND_URL at the final address): %w",
			w.Type, resp.Status, recovery.ErrInvalid)
	default:
		return fmt.Errorf("webhook %s: receiver refused it with %s: %w", w.Type, resp.Status, recovery.ErrInvalid)
	}
}

// withoutURL drops the request URL a client error names (*url.Error says
// `Post "https://…?token=…": …`), keeping what went wrong.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

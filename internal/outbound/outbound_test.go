package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestDeliverSignsAndClassifiesAnswers(t *testing.T) {
	var status int
	var verified string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		id, err := ingest.VerifyStandardWebhook(r.Header, body, []string{secret}, time.Now())
		if err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
		var got recovery.OutboundWebhook
		json.Unmarshal(body, &got) //nolint:errcheck
		verified = id + " " + got.Type + " " + string(got.Data)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	s := &Sender{URL: srv.URL, Secret: secret}
	w := recovery.OutboundWebhook{ID: "inc-1/reship", Type: "remedy.reship", At: time.Now(), Data: json.RawMessage(`{"order_id":"1001"}`)}
	for code, want := range map[int]string{204: "ok", 503: "retry", 429: "retry", 400: "refused", 410: "refused"} {
		status = code
		err := s.Deliver(context.Background(), w)
		got := "ok"
		switch {
		case errors.Is(err, recovery.ErrInvalid):
			got = "refused"
		case err != nil:
			got = "retry"
		}
		if got != want {
			t.Errorf("answer %d: %s (%v), want %s", code, got, err, want)
		}
	}
	if verified != `inc-1/reship remedy.reship {"order_id":"1001"}` {
		t.Fatalf("receiver saw %q", verified)
	}
	srv.Close()
	if err := s.Deliver(context.Background(), w); err == nil || errors.Is(err, recovery.ErrInvalid) {
		t.Fatalf("a receiver that is down: %v, want a retryable error", err)
	}
}

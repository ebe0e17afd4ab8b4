package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// A redirect is never followed, with the client of the Sender or the
// default one: the answer is a refusal that names neither URL (they may
// carry tokens), and the address redirected to sees nothing.
func TestDeliverNeverFollowsRedirects(t *testing.T) {
	var followed int
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		followed++
		w.WriteHeader(http.StatusNoContent)
	}))
	defer elsewhere.Close()
	var code int
	redirecting := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, elsewhere.URL+"/moved/tok-ELSEWHERE", code)
	}))
	defer redirecting.Close()
	w := recovery.OutboundWebhook{ID: "inc-1/reship", Type: "remedy.reship", At: time.Now(), Data: json.RawMessage(`{}`)}
	for _, client := range []*http.Client{nil, {}, {CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}} {
		for _, code = range []int{301, 302, 303, 307, 308} {
			s := &Sender{URL: redirecting.URL + "/hooks/tok-SECRET?token=SECRET", Secret: secret, Client: client}
			err := s.Deliver(context.Background(), w)
			if err == nil || !errors.Is(err, recovery.ErrInvalid) || !strings.Contains(err.Error(), "redirect") {
				t.Errorf("answer %d: %v, want a refusal saying it was a redirect", code, err)
				continue
			}
			if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "ELSEWHERE") || strings.Contains(err.Error(), "/hooks") {
				t.Errorf("answer %d: the error shows a URL: %v", code, err)
			}
		}
	}
	if followed != 0 {
		t.Fatalf("redirects were followed %d times", followed)
	}
}

// A receiver that cannot be reached is worth retrying, and the error does
// not show the URL.
func TestDeliverErrorsDoNotShowTheURL(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	s := &Sender{URL: down.URL + "/hooks/tok-SECRET?token=SECRET", Secret: secret}
	err := s.Deliver(context.Background(), recovery.OutboundWebhook{ID: "inc-1/reship", Type: "remedy.reship", At: time.Now()})
	if err == nil || errors.Is(err, recovery.ErrInvalid) {
		t.Fatalf("a receiver that is down: %v, want a retryable error", err)
	}
	if strings.Contains(err.Error(), "SECRET") || strings.Contains(err.Error(), "/hooks") {
		t.Fatalf("the error shows the URL: %v", err)
	}
}

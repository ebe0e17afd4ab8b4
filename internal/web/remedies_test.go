package web

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// memRemedies records the updates it is sent and answers with err.
type memRemedies struct {
	sent []any
	err  error
}

func (m *memRemedies) Act(_ context.Context, wid string, a recovery.RemedyAction) (recovery.RemedyView, error) {
	if m.err != nil {
		return recovery.RemedyView{}, m.err
	}
	m.sent = append(m.sent, a)
	return recovery.RemedyView{Stage: "applying"}, nil
}

func remedyServer(rem *memRemedies) *Server {
	inc := recovery.Incident{ID: "inc-1", OrderID: "1001", WorkflowID: "incident/1001/s/late", Status: recovery.IncidentAwaitingApproval,
		Offer: &recovery.Offer{Remedy: recovery.RemedyRefund, ValueMinor: 8999, Currency: "EUR", Status: recovery.OfferPending}}
	return &Server{Incidents: memIncidents{list: []recovery.Incident{inc}}, Credentials: append(apiKeys("api"), auth.Approver("alice", "alice-key", 100)),
		Remedies: rem, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

func post(t *testing.T, h http.Handler, path, key, body string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Body.String()
}

func TestApprovalNeedsAnApproversKey(t *testing.T) {
	rem := &memRemedies{}
	h := remedyServer(rem).Handler()
	for _, tc := range []struct {
		path, key, body string
		want            int
	}{
		{"/v1/incidents/inc-1/approve", "", ``, 401},
		{"/v1/incidents/inc-1/approve", "api", ``, 403},
		{"/v1/incidents/inc-1/approve", "wrong", ``, 401},
		{"/v1/incidents/nope/approve", "alice-key", ``, 404},
		{"/v1/incidents/inc-1/approve", "alice-key", `{"note":`, 400},
		{"/v1/incidents/inc-1/approve", "alice-key", `{"limit_major": -1}`, 400},
		{"/v1/incidents/inc-1/reject", "alice-key", `{}`, 422},
		{"/v1/incidents/inc-1/offer", "alice-key", `{"offers": []}`, 422},
		{"/v1/incidents/inc-1/choice", "alice-key", `{}`, 403}, // approvers do not choose for the customer
		{"/v1/incidents/inc-1/choice", "", `{"remedy":"refund"}`, 401},
	} {
		if code, body := post(t, h, tc.path, tc.key, tc.body); code != tc.want || !strings.Contains(body, `"status"`) {
			t.Errorf("POST %s with %q %s: %d %s, want %d problem", tc.path, tc.key, tc.body, code, body, tc.want)
		}
	}
	if len(rem.sent) != 0 {
		t.Fatalf("refused requests reached the workflow: %+v", rem.sent)
	}
}

func TestApprovalCarriesTheApproverFromTheKey(t *testing.T) {
	rem := &memRemedies{}
	h := remedyServer(rem).Handler()
	if code, body := post(t, h, "/v1/incidents/inc-1/approve", "alice-key", `{"note":"ok"}`); code != 200 {
		t.Fatalf("approve: %d %s", code, body)
	}
	if code, body := post(t, h, "/v1/incidents/inc-1/offer", "alice-key", `{"offers":[{"remedy":"discount","value_minor":2500}]}`); code != 200 {
		t.Fatalf("offer: %d %s", code, body)
	}
	if code, body := post(t, h, "/v1/incidents/inc-1/choice", "api", `{"remedy":"refund"}`); code != 200 {
		t.Fatalf("choice: %d %s", code, body)
	}
	alice := recovery.Approver{Name: "alice", LimitMajor: 100}
	want := fmt.Sprint([]any{
		recovery.RemedyAction{Action: "approve", By: alice, Note: "ok"},
		recovery.RemedyAction{Action: "offer", By: alice,
			Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: recovery.Money{Minor: 2500, Currency: "EUR"}}}},
		recovery.RemedyAction{Action: "choose", Remedy: recovery.RemedyRefund, By: recovery.Approver{Name: "customer"}},
	})
	if got := fmt.Sprint(rem.sent); got != want {
		t.Fatalf("sent %s\nwant %s", got, want)
	}
}

func TestRefusedUpdatesAreProblems(t *testing.T) {
	for err, want := range map[error]int{
		fmt.Errorf("over: %w", recovery.ErrForbidden): 403,
		fmt.Errorf("stage: %w", recovery.ErrConflict): 409,
		fmt.Errorf("bad: %w", recovery.ErrInvalid):    422,
	} {
		h := remedyServer(&memRemedies{err: err}).Handler()
		if code, body := post(t, h, "/v1/incidents/inc-1/approve", "alice-key", ``); code != want ||
			!strings.Contains(body, "application/problem+json") && !strings.Contains(body, `"type"`) {
			t.Errorf("%v: %d %s, want %d", err, code, body, want)
		}
	}
}

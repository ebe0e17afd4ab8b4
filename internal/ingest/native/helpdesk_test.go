package native

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// TestZendeskTicketsAreTheCustomerReachingOut: a signed Zendesk webhook
// (timestamp + body) becomes customer.contacted for the order its field
// or its subject names; a wrong, stale or missing signature is refused; a
// ticket about no order, or another ticket event, maps to nothing.
func TestZendeskTicketsAreTheCustomerReachingOut(t *testing.T) {
	p, _ := Lookup("zendesk")
	now := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	sign := func(body, ts, secret string) Request {
		m := hmac.New(sha256.New, []byte(secret))
		m.Write([]byte(ts + body))
		h := http.Header{}
		h.Set("X-Zendesk-Webhook-Signature", base64.StdEncoding.EncodeToString(m.Sum(nil)))
		h.Set("X-Zendesk-Webhook-Signature-Timestamp", ts)
		return Request{Header: h, Body: []byte(body)}
	}
	body := `{"ticket_id": 4711, "created_at": "2026-11-21T08:58:00Z", "channel": "voice", "subject": "Where is it?", "order_id": "1001"}`
	ts := now.Add(-time.Minute).Format(time.RFC3339)
	if err := p.Verify(sign(body, ts, "zd-secret"), []string{"old", "zd-secret"}, now); err != nil {
		t.Fatalf("a good signature: %v", err)
	}
	for name, r := range map[string]Request{
		"wrong secret":  sign(body, ts, "another"),
		"stale":         sign(body, now.Add(-10*time.Minute).Format(time.RFC3339), "zd-secret"),
		"no header":     {Header: http.Header{}, Body: []byte(body)},
		"body changed":  {Header: sign(body, ts, "zd-secret").Header, Body: []byte(body + " ")},
		"ts not a time": sign(body, "yesterday", "zd-secret"),
	} {
		if err := p.Verify(r, []string{"zd-secret"}, now); !errors.Is(err, ErrSignature) {
			t.Errorf("%s: %v, want a signature error", name, err)
		}
	}
	evs, err := p.Map(Request{Body: []byte(body)})
	if err != nil || len(evs) != 1 {
		t.Fatalf("map: %v %v", evs, err)
	}
	validAfterResolution(t, evs)
	var d recovery.ContactedData
	json.Unmarshal(evs[0].Data, &d) //nolint:errcheck
	if e := evs[0]; e.Type != recovery.TypeCustomerContacted || e.OrderID != "1001" || e.ID != "zendesk/ticket/4711" ||
		!e.Time.Equal(time.Date(2026, 11, 21, 8, 58, 0, 0, time.UTC)) || d.Channel != "phone" || d.Via != "zendesk" || d.Ticket != "4711" {
		t.Fatalf("event %+v, data %+v", e, d)
	}
	// Zendesk's own ticket event, the order in its subject.
	evs, err = p.Map(Request{Body: []byte(`{"type": "zen:event-type:ticket.created", "detail": {"id": "88", "created_at": "2026-11-21T08:00:00Z",
		"subject": "Order #A-77 never came", "via": {"channel": "web"}}}`)})
	if err != nil || len(evs) != 1 || evs[0].OrderID != "A-77" {
		t.Fatalf("the ticket event: %+v %v", evs, err)
	}
	for name, b := range map[string]string{
		"about no order": `{"ticket_id": 9, "created_at": "2026-11-21T08:58:00Z", "subject": "Do you ship to Mars?"}`,
		"another event":  `{"type": "zen:event-type:ticket.status_changed", "detail": {"id": "88", "created_at": "2026-11-21T08:00:00Z", "subject": "Order 1"}}`,
	} {
		if _, err := p.Map(Request{Body: []byte(b)}); !errors.Is(err, ErrIgnored) {
			t.Errorf("%s: %v, want it ignored", name, err)
		}
	}
	var bad *MalformedError
	if _, err := p.Map(Request{Body: []byte(`{"ticket_id": 9, "subject": "Order 1"}`)}); !errors.As(err, &bad) {
		t.Errorf("a ticket without a time: %v, want it malformed", err)
	}
}

// TestGorgiasTicketsCarryTheSharedToken: Gorgias signs nothing, so its
// HTTP integration sends the shared secret; any other token is refused.
func TestGorgiasTicketsCarryTheSharedToken(t *testing.T) {
	p, _ := Lookup("gorgias")
	h := http.Header{}
	h.Set("X-Recovery-Token", "gg-secret")
	body := []byte(`{"ticket": {"id": 123, "created_datetime": "2026-11-21T08:00:00.123456", "channel": "chat", "subject": "order: 1001 is late"}}`)
	if err := p.Verify(Request{Header: h, Body: body}, []string{"gg-secret"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	h.Set("X-Recovery-Token", "guess")
	if err := p.Verify(Request{Header: h, Body: body}, []string{"gg-secret"}, time.Now()); !errors.Is(err, ErrSignature) {
		t.Fatalf("a wrong token: %v", err)
	}
	evs, err := p.Map(Request{Body: body})
	if err != nil || len(evs) != 1 || evs[0].OrderID != "1001" || evs[0].Source != "gorgias" || evs[0].ID != "gorgias/ticket/123" {
		t.Fatalf("map: %+v %v", evs, err)
	}
	validAfterResolution(t, evs)
}

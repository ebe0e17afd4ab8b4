package native

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Helpdesks report that a customer wrote or called about an order: a
// ticket becomes a customer.contacted event (for the insights' proactive
// rate). Zendesk signs its webhooks; Gorgias's HTTP integrations do not,
// so they carry a shared secret in a header.

// ticket is what a helpdesk's ticket says, in either shape the docs
// describe: the flat body of a trigger or HTTP integration
// (docs/api.md), or Zendesk's ticket event ({"detail": {...}}).
type ticket struct {
	ID        json.Number `json:"ticket_id"`
	CreatedAt string      `json:"created_at"`
	Created   string      `json:"created_datetime"` // Gorgias
	Channel   string      `json:"channel"`
	Via       string      `json:"via"`
	Subject   string      `json:"subject"`
	OrderID   string      `json:"order_id"`
	// Zendesk's ticket events.
	Type   string `json:"type"`
	Detail *struct {
		ID        json.Number `json:"id"`
		CreatedAt string      `json:"created_at"`
		Subject   string      `json:"subject"`
		Via       struct {
			Channel string `json:"channel"`
		} `json:"via"`
	} `json:"detail"`
	// Gorgias's nested shape.
	Ticket *struct {
		ID      json.Number `json:"id"`
		Created string      `json:"created_datetime"`
		Channel string      `json:"channel"`
		Subject string      `json:"subject"`
	} `json:"ticket"`
}

// contactChannel maps a helpdesk's channel names onto customer.contacted's.
func contactChannel(c string) string {
	switch c = strings.ToLower(strings.TrimSpace(c)); {
	case c == "email" || c == "mail" || c == "web" || c == "web_form" || c == "contact_form":
		return "email"
	case c == "voice" || c == "phone" || c == "phone_call":
		return "phone"
	case c == "chat" || c == "chat_transcript" || c == "messaging" || c == "native_messaging" || c == "web_widget":
		return "chat"
	case c == "sms" || c == "text":
		return "sms"
	case strings.Contains(c, "facebook") || strings.Contains(c, "instagram") || strings.Contains(c, "twitter") ||
		strings.Contains(c, "whatsapp") || c == "any_channel":
		return "social"
	}
	return "other"
}

// mapTicket turns a ticket into a customer.contacted event of source via.
func mapTicket(via string, body []byte) ([]recovery.Event, error) {
	var t ticket
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	if err := dec.Decode(&t); err != nil {
		return nil, malformed("the body is not a %s ticket (see docs/api.md for the body to configure)", via)
	}
	id, created, channel, subject := t.ID.String(), cmp.Or(t.CreatedAt, t.Created), cmp.Or(t.Channel, t.Via), t.Subject
	if d := t.Detail; d != nil {
		if !strings.HasPrefix(t.Type, "zen:event-type:ticket.created") {
			return nil, ErrIgnored // another ticket event: not the customer reaching out
		}
		id, created, channel, subject = d.ID.String(), d.CreatedAt, d.Via.Channel, d.Subject
	}
	if n := t.Ticket; n != nil {
		id, created, channel, subject = n.ID.String(), n.Created, n.Channel, n.Subject
	}
	if id == "" {
		return nil, malformed("the ticket's id is missing (ticket_id)")
	}
	at, ok := parseTime(created)
	if !ok {
		return nil, malformed("the ticket's creation time is missing or not a time (created_at)")
	}
	order := strings.TrimSpace(t.OrderID)
	if order == "" {
		if m := orderMention.FindStringSubmatch(subject); m != nil {
			order = m[1]
		}
	}
	if order == "" || len(order) > 200 || !printableASCII(order) {
		return nil, ErrIgnored // a ticket about no order of ours
	}
	d := recovery.ContactedData{OrderID: order, Channel: contactChannel(channel), Via: via, Ticket: truncate(id, 100)}
	raw, _ := json.Marshal(d)
	return []recovery.Event{{ID: shortID(via, "ticket", id), Source: via, Type: recovery.TypeCustomerContacted, Time: at.UTC(),
		Data: raw, OrderID: order, Subject: "order/" + order}}, nil
}

// zendesk verifies base64(HMAC-SHA256(secret, timestamp + body)) in
// X-Zendesk-Webhook-Signature, with the timestamp of
// X-Zendesk-Webhook-Signature-Timestamp within five minutes.
type zendesk struct{}

func (zendesk) Name() string { return "zendesk" }

func (zendesk) Verify(r Request, secrets []string, now time.Time) error {
	ts := r.Header.Get("X-Zendesk-Webhook-Signature-Timestamp")
	at, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return fmt.Errorf("%w: X-Zendesk-Webhook-Signature-Timestamp missing or not a time", ErrSignature)
	}
	if d := now.Sub(at); d > 5*time.Minute || d < -5*time.Minute {
		return fmt.Errorf("%w: the timestamp is more than 5 minutes away", ErrSignature)
	}
	return verifyBase64(r.Header.Get("X-Zendesk-Webhook-Signature"), secrets, []byte(ts), r.Body)
}

func (zendesk) Map(r Request) ([]recovery.Event, error) { return mapTicket("zendesk", r.Body) }

// gorgias checks the shared secret Gorgias's HTTP integration sends in
// X-Recovery-Token (Gorgias signs nothing; send it over https only).
type gorgias struct{}

func (gorgias) Name() string { return "gorgias" }

func (gorgias) Verify(r Request, secrets []string, _ time.Time) error {
	given := r.Header.Get("X-Recovery-Token")
	if given == "" {
		return fmt.Errorf("%w: X-Recovery-Token missing", ErrSignature)
	}
	if !equalToken(given, secrets) {
		return fmt.Errorf("%w: token does not match", ErrSignature)
	}
	return nil
}

func (gorgias) Map(r Request) ([]recovery.Event, error) { return mapTicket("gorgias", r.Body) }

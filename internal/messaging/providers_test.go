package messaging

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
	"github.com/recoveryhq/recovery/internal/recovery"
)

func TestTwilioSendsTheExactRequest(t *testing.T) {
	stub := providerstub.Twilio("AC123", "tok")
	defer stub.Close()
	tw := NewTwilio(TwilioConfig{AccountSID: "AC123", AuthToken: "tok", From: "+15005550006",
		PublicURL: "https://recovery.example/", APIBase: stub.URL})
	id, err := tw.Send(context.Background(), recovery.Message{Channel: recovery.ChannelSMS, To: "+4915112345678", Text: "Sorry: order 1001.",
		IncidentID: "inc-1", Step: 2})
	if err != nil || !strings.HasPrefix(id, "SM") {
		t.Fatalf("send: %q, %v", id, err)
	}
	reqs := stub.Requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	r := reqs[0]
	if r.Path != "/2010-04-01/Accounts/AC123/Messages.json" || !strings.HasPrefix(r.ContentType, "application/x-www-form-urlencoded") ||
		!strings.HasPrefix(r.Auth, "Basic ") {
		t.Fatalf("request = %+v", r)
	}
	if r.Form.Get("To") != "+4915112345678" || r.Form.Get("From") != "+15005550006" || r.Form.Get("Body") != "Sorry: order 1001." ||
		r.Form.Get("StatusCallback") != "https://recovery.example/v1/webhooks/twilio/status?channel=sms&incident=inc-1&step=2" {
		t.Fatalf("form = %v", r.Form)
	}
	// Twilio's refusal of a bad number is permanent; a 5xx is not.
	if _, err := tw.Send(context.Background(), recovery.Message{Channel: recovery.ChannelSMS, To: "12345", Text: "x"}); !errors.Is(err, recovery.ErrInvalid) {
		t.Fatalf("bad number: %v, want a permanent refusal", err)
	}
	stub.Fail = 503
	if _, err := tw.Send(context.Background(), recovery.Message{Channel: recovery.ChannelSMS, To: "+4915112345678", Text: "x"}); !errors.Is(err, recovery.ErrUnsent) {
		t.Fatalf("503: %v, want a retryable error that proves nothing was sent", err)
	}
}

func TestTwilioPlacesTheExactCall(t *testing.T) {
	stub := providerstub.Twilio("AC123", "tok")
	defer stub.Close()
	tw := NewTwilio(TwilioConfig{AccountSID: "AC123", AuthToken: "tok", From: "MG0123", CallerID: "+15005550006",
		PublicURL: "https://recovery.example", APIBase: stub.URL})
	id, err := tw.Send(context.Background(), recovery.Message{Channel: recovery.ChannelVoice, To: "+4915112345678",
		Text: "Hello, this is customer care.", IncidentID: "inc-1", Step: 1})
	if err != nil || !strings.HasPrefix(id, "CA") {
		t.Fatalf("call: %q, %v", id, err)
	}
	r := stub.Requests()[0]
	want := map[string]string{
		"To": "+4915112345678", "From": "+15005550006", "Method": "POST", "MachineDetection": "DetectMessageEnd", "Timeout": "30",
		"Url":                  "https://recovery.example/v1/webhooks/twilio/voice?channel=voice&incident=inc-1&step=1",
		"StatusCallback":       "https://recovery.example/v1/webhooks/twilio/status?channel=voice&incident=inc-1&step=1",
		"StatusCallbackMethod": "POST", "StatusCallbackEvent": "completed",
	}
	if r.Path != "/2010-04-01/Accounts/AC123/Calls.json" {
		t.Fatalf("path = %s", r.Path)
	}
	for k, v := range want {
		if got := r.Form.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if len(r.Form) != len(want) {
		t.Errorf("form has %d fields, want %d: %v", len(r.Form), len(want), r.Form)
	}
	noURL := NewTwilio(TwilioConfig{AccountSID: "AC123", AuthToken: "tok", From: "+15005550006", APIBase: stub.URL})
	if _, err := noURL.Send(context.Background(), recovery.Message{Channel: recovery.ChannelVoice, To: "+4915112345678", IncidentID: "i"}); !errors.Is(err, recovery.ErrInvalid) {
		t.Fatalf("a call without a public URL: %v", err)
	}
}

func TestSendGridSendsTheExactRequest(t *testing.T) {
	stub := providerstub.SendGrid("SG.key")
	defer stub.Close()
	sg := NewSendGrid(SendGridConfig{APIKey: "SG.key", From: "care@shop.example", FromName: "Shop care", APIBase: stub.URL})
	id, err := sg.Send(context.Background(), recovery.Message{Channel: recovery.ChannelEmail, To: "ada@example.com",
		Subject: "We're sorry", Text: "plain", HTML: "<p>html</p>", IdempotencyKey: "incident/1/step-1", IncidentID: "inc-1", Step: 3,
		Unsubscribe: "https://r.example/u/u.abc", ReplyTo: "r+inc-1.3.0123456789ab@reply.shop.example"})
	if err != nil || !strings.HasPrefix(id, "sg-") {
		t.Fatalf("send: %q, %v", id, err)
	}
	r := stub.Requests()[0]
	if r.Path != "/v3/mail/send" || r.Auth != "Bearer SG.key" || r.ContentType != "application/json" {
		t.Fatalf("request = %+v", r)
	}
	b := r.JSON
	to := b["personalizations"].([]any)[0].(map[string]any)["to"].([]any)[0].(map[string]any)
	from := b["from"].(map[string]any)
	content := b["content"].([]any)
	if to["email"] != "ada@example.com" || from["email"] != "care@shop.example" || from["name"] != "Shop care" ||
		b["subject"] != "We're sorry" || len(content) != 2 ||
		content[0].(map[string]any)["type"] != "text/plain" || content[1].(map[string]any)["value"] != "<p>html</p>" ||
		b["custom_args"].(map[string]any)["recovery_key"] != "incident/1/step-1" ||
		b["custom_args"].(map[string]any)["incident_id"] != "inc-1" || b["custom_args"].(map[string]any)["step"] != "3" ||
		b["headers"].(map[string]any)["List-Unsubscribe"] != "<https://r.example/u/u.abc>" ||
		b["headers"].(map[string]any)["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" ||
		b["reply_to"].(map[string]any)["email"] != "r+inc-1.3.0123456789ab@reply.shop.example" {
		t.Fatalf("body = %v", b)
	}
	// A brand's sender replaces the adapter's own, for From and Reply-To.
	if _, err := sg.Send(context.Background(), recovery.Message{Channel: recovery.ChannelEmail, To: "ada@example.com", Subject: "s",
		Text: "t", From: "care@lampshop.example", FromName: "Lamp Shop care", ReplyTo: "r+x@reply.shop.example"}); err != nil {
		t.Fatal(err)
	}
	b = stub.Requests()[1].JSON
	if f := b["from"].(map[string]any); f["email"] != "care@lampshop.example" || f["name"] != "Lamp Shop care" ||
		b["reply_to"].(map[string]any)["name"] != "Lamp Shop care" {
		t.Fatalf("a brand's email: %v", b)
	}
	bad := NewSendGrid(SendGridConfig{APIKey: "wrong", From: "care@shop.example", APIBase: stub.URL})
	if _, err := bad.Send(context.Background(), recovery.Message{Channel: recovery.ChannelEmail, To: "a@b.c", Subject: "s", Text: "t"}); !errors.Is(err, recovery.ErrInvalid) {
		t.Fatalf("bad key: %v, want a permanent refusal", err)
	}
}

func TestRouterPicksTheChannelsProvider(t *testing.T) {
	sms, fallback := &MemorySink{}, &MemorySink{}
	r := Router{SMS: &Capture{Sink: sms}, Fallback: &Capture{Sink: fallback}}
	for _, ch := range []string{recovery.ChannelSMS, recovery.ChannelEmail} {
		if _, err := r.Send(context.Background(), recovery.Message{Channel: ch, To: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if len(sms.Messages) != 1 || sms.Messages[0].Channel != "sms" || len(fallback.Messages) != 1 || fallback.Messages[0].Channel != "email" {
		t.Fatalf("sms %v, fallback %v", sms.Messages, fallback.Messages)
	}
}

// TestSendGridAnswersDecideRetries: a 5xx or a 429 proves SendGrid did not
// take the email, so the send may be retried (recovery.ErrUnsent); any
// other 4xx is a permanent refusal (recovery.ErrInvalid). The adapter makes
// one request per send either way: retrying is the workflow's business.
func TestSendGridAnswersDecideRetries(t *testing.T) {
	msg := recovery.Message{Channel: recovery.ChannelEmail, To: "ada@example.com", Subject: "We're sorry", Text: "plain",
		IncidentID: "inc-1", Step: 3}
	for _, tc := range []struct {
		status int
		want   error // nil: sent
	}{
		{0, nil},
		{http.StatusInternalServerError, recovery.ErrUnsent},
		{http.StatusBadGateway, recovery.ErrUnsent},
		{http.StatusServiceUnavailable, recovery.ErrUnsent},
		{http.StatusGatewayTimeout, recovery.ErrUnsent},
		{http.StatusTooManyRequests, recovery.ErrUnsent},
		{http.StatusBadRequest, recovery.ErrInvalid},
		{http.StatusUnauthorized, recovery.ErrInvalid},
		{http.StatusForbidden, recovery.ErrInvalid},
		{http.StatusRequestEntityTooLarge, recovery.ErrInvalid},
	} {
		name := fmt.Sprint(tc.status)
		if tc.status == 0 {
			name = "accepted"
		}
		t.Run(name, func(t *testing.T) {
			stub := providerstub.SendGrid("SG.key")
			defer stub.Close()
			stub.Fail = tc.status
			sg := NewSendGrid(SendGridConfig{APIKey: "SG.key", From: "care@shop.example", APIBase: stub.URL})
			id, err := sg.Send(context.Background(), msg)
			if n := len(stub.Requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
			if tc.want == nil {
				if err != nil || !strings.HasPrefix(id, "sg-") {
					t.Fatalf("send: %q, %v", id, err)
				}
				return
			}
			other := recovery.ErrInvalid
			if tc.want == recovery.ErrInvalid {
				other = recovery.ErrUnsent
			}
			if !errors.Is(err, tc.want) || errors.Is(err, other) || id != "" {
				t.Fatalf("answer %d: %q, %v; want %v only", tc.status, id, err, tc.want)
			}
		})
	}
}

package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

type memReplies struct {
	mu   sync.Mutex
	kept map[string][]recovery.Reply
}

func (m *memReplies) SaveReply(_ context.Context, id string, r recovery.Reply) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if id == "inc-gone" {
		return recovery.ErrNotFound
	}
	m.kept[id] = append(m.kept[id], r)
	return nil
}

func (m *memCustomers) told() []recovery.ContactEvent {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]recovery.ContactEvent(nil), m.events...)
}

func inboundForm(t *testing.T, fields map[string]string) (string, *bytes.Buffer) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		mw.WriteField(k, v) //nolint:errcheck
	}
	mw.Close() //nolint:errcheck
	return mw.FormDataContentType(), &b
}

// TestInboundRepliesAreKeptAndAskForAPerson: a reply to an incident's
// reply address is kept on it and its step recorded as answered by a
// customer who wants a person; the wrong secret is refused; an email to
// no address of ours, or a forged one, is acknowledged and dropped.
func TestInboundRepliesAreKeptAndAskForAPerson(t *testing.T) {
	signer := &links.Signer{Secret: []byte("links-secret"), Base: "https://shop.example"}
	replies := &memReplies{kept: map[string][]recovery.Reply{}}
	cust := newMemCustomers()
	srv := contactServer(cust, &memRemedies{}, choosing)
	srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	srv.Inbound = InboundReplies{Secret: "inbound-secret-0123456789abcdef", Signer: signer, Replies: replies}
	h := srv.Handler()
	post := func(secret string, fields map[string]string) int {
		ctype, body := inboundForm(t, fields)
		req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/sendgrid/inbound/"+secret, body)
		req.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec.Code
	}
	addr := signer.ReplyAddress("inc-1", 2, "reply.shop.example")
	mail := map[string]string{"to": "Shop Care <" + strings.ToUpper(addr) + ">", "from": "Ada Weber <ada@example.com>",
		"subject": "Re: We are sorry", "text": "Please call me, the lamp is a gift.", "envelope": `{"to":["` + addr + `"],"from":"ada@example.com"}`}
	if code := post("wrong-secret", mail); code != http.StatusUnauthorized {
		t.Fatalf("a wrong secret: %d", code)
	}
	if code := post("inbound-secret-0123456789abcdef", mail); code != http.StatusNoContent {
		t.Fatalf("a reply: %d", code)
	}
	got := replies.kept["inc-1"]
	if len(got) != 1 || got[0].Step != 2 || got[0].From != "ada@example.com" || got[0].Body != "Please call me, the lamp is a gift." {
		t.Fatalf("kept %+v", got)
	}
	evs := cust.told()
	if len(evs) != 1 || evs[0].IncidentID != "inc-1" || evs[0].Step != 2 || evs[0].Outcome != recovery.OutcomeResponded ||
		evs[0].Detail != recovery.DetailPersonRequested {
		t.Fatalf("contact events %+v, want step 2 answered by someone who wants a person", evs)
	}
	forged := strings.Replace(addr, ".2.", ".3.", 1)
	for _, to := range []string{"care@shop.example", forged} {
		if code := post("inbound-secret-0123456789abcdef", map[string]string{"to": to, "from": "x@example.com", "text": "hi"}); code != http.StatusNoContent {
			t.Fatalf("an email to %s: %d", to, code)
		}
	}
	if len(replies.kept) != 1 || len(cust.told()) != 1 {
		t.Fatal("an email to no address of ours was kept")
	}
	srv.Inbound = InboundReplies{}
	ctype, body := inboundForm(t, mail)
	req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/sendgrid/inbound/x", body)
	req.Header.Set("Content-Type", ctype)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusNotFound {
		t.Fatalf("without configuration: %d", rec.Code)
	}
}

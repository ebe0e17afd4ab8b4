package web

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/links"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// InboundReplies takes customers' email replies from SendGrid's Inbound
// Parse webhook: Secret is the path segment that proves the caller is the
// webhook configured with it (Inbound Parse does not sign its requests);
// Signer reads the per-step reply addresses; Replies keeps them.
type InboundReplies struct {
	Secret  string
	Signer  *links.Signer
	Replies ReplyStore
}

// ReplyStore keeps customers' replies.
type ReplyStore interface {
	SaveReply(ctx context.Context, incidentID string, r recovery.Reply) error
}

// maxInbound bounds one parsed email (attachments are not read).
const maxInbound = 10 << 20

// maxReplyText bounds the text kept of one reply.
const maxReplyText = 20000

// postInbound answers POST /v1/webhooks/sendgrid/inbound/{secret}: the
// email is kept on the incident its reply address names, and the step is
// recorded as answered by a customer who wants a person, so that the
// console's "Asked for a person" shows it and the ladder stops. An email
// to no address of ours is acknowledged and dropped (SendGrid would
// otherwise retry it for days).
func (s *Server) postInbound(w http.ResponseWriter, r *http.Request) {
	in := s.Inbound
	if in.Secret == "" || in.Signer == nil || in.Replies == nil {
		writeProblem(w, http.StatusNotFound, "provider-not-configured", "Replies are not taken here",
			"Set RECOVERY_REPLY_DOMAIN and RECOVERY_INBOUND_SECRET to take replies through SendGrid's Inbound Parse.")
		return
	}
	if subtle.ConstantTimeCompare([]byte(r.PathValue("secret")), []byte(in.Secret)) != 1 {
		writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized", "This is not the inbound address configured.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxInbound)
	if err := r.ParseMultipartForm(1 << 20); err != nil {
		writeProblem(w, http.StatusBadRequest, "bad-body", "Unreadable body", "Send SendGrid's Inbound Parse form (multipart/form-data).")
		return
	}
	if r.MultipartForm != nil {
		defer r.MultipartForm.RemoveAll() //nolint:errcheck
	}
	incidentID, step, ok := "", 0, false
	for _, to := range recipients(r) {
		if id, st, err := in.Signer.ParseReplyAddress(to); err == nil {
			incidentID, step, ok = id, st, true
			break
		}
	}
	if !ok {
		s.Logger.Info("inbound email to no reply address of ours: dropped")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	text := r.FormValue("text")
	if text == "" {
		text = r.FormValue("html")
	}
	if len(text) > maxReplyText {
		text = text[:maxReplyText]
	}
	from := r.FormValue("from")
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	reply := recovery.Reply{Step: step, From: from, Subject: r.FormValue("subject"), Body: text, ReceivedAt: time.Now().UTC()}
	if err := in.Replies.SaveReply(r.Context(), incidentID, reply); err != nil {
		if errors.Is(err, recovery.ErrNotFound) || errors.Is(err, recovery.ErrConflict) {
			w.WriteHeader(http.StatusNoContent) // an incident that is gone
			return
		}
		s.Logger.Warn("reply not kept", "incident_id", incidentID, "err", err)
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Try again", "The reply could not be kept yet.")
		return
	}
	s.notify(w, r.Context(), recovery.ContactEvent{IncidentID: incidentID, Step: step, Channel: recovery.ChannelEmail,
		Outcome: recovery.OutcomeResponded, Detail: recovery.DetailPersonRequested})
}

// recipients are the addresses an inbound email was for: the envelope's
// (what the MX received) first, then the To and Cc headers.
func recipients(r *http.Request) []string {
	var out []string
	var env struct {
		To []string `json:"to"`
	}
	if json.Unmarshal([]byte(r.FormValue("envelope")), &env) == nil {
		out = append(out, env.To...)
	}
	for _, field := range []string{"to", "cc"} {
		if list, err := mail.ParseAddressList(r.FormValue(field)); err == nil {
			for _, a := range list {
				out = append(out, a.Address)
			}
		} else if v := strings.TrimSpace(r.FormValue(field)); v != "" {
			out = append(out, v)
		}
	}
	return out
}

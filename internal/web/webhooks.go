package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest/native"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// postWebhook receives a provider's native webhook: verified with that
// provider's signature scheme, mapped to canonical events, tracking numbers
// resolved to orders, committed like POST /v1/events.
func (s *Server) postWebhook(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("provider")
	p, ok := native.Lookup(name)
	if !ok {
		writeProblem(w, http.StatusNotFound, "unknown-provider", "Unknown provider",
			"Webhooks are received for: "+strings.Join(native.Names(), ", ")+".")
		return
	}
	secrets := s.WebhookSecrets[name]
	if len(secrets) == 0 {
		writeProblem(w, http.StatusNotFound, "provider-not-configured", "Provider not configured",
			fmt.Sprintf("Set %s_WEBHOOK_SECRETS to receive %s webhooks.", strings.ToUpper(name), name))
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	req := native.Request{Header: r.Header, Query: r.URL.Query(), Body: body}
	if err := p.Verify(req, secrets, time.Now()); err != nil {
		s.Logger.Info("webhook signature rejected", "provider", name, "reason", err.Error())
		writeProblem(w, http.StatusUnauthorized, "bad-signature", "Signature not valid",
			"The request's "+name+" signature did not verify; nothing was stored.")
		return
	}
	evs, err := p.Map(req)
	var malformed *native.MalformedError
	switch {
	case errors.Is(err, native.ErrIgnored):
		writeJSON(w, http.StatusAccepted, EventsResponse{Results: []EventResult{}, Ignored: true})
		return
	case errors.As(err, &malformed):
		writeProblem(w, http.StatusUnprocessableEntity, "unmappable", "Payload not understood", malformed.Msg)
		return
	case err != nil:
		writeProblem(w, http.StatusUnprocessableEntity, "unmappable", "Payload not understood", "The payload could not be mapped.")
		return
	}
	// Every mapped event already passed the canonical validator (the
	// adapters check their output, standing in an order id where the
	// tracking number will supply one), so resolution is all that is left.
	unmatched := make([]bool, len(evs))
	for i := range evs {
		if evs[i].Order() == "" {
			matched, err := s.resolveTracking(r.Context(), &evs[i])
			if err != nil {
				s.Logger.Error("resolve tracking number", "provider", name, "err", err)
				w.Header().Set("Retry-After", "1")
				writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Events not stored",
					"The events could not be stored; nothing was accepted. Retry the same request.")
				return
			}
			unmatched[i] = !matched
		}
	}
	s.commit(w, r, evs, unmatched)
}

// resolveTracking fills the order (and our shipment id) of a carrier event
// that names only a tracking number.
func (s *Server) resolveTracking(ctx context.Context, e *recovery.Event) (bool, error) {
	var data map[string]any
	if err := json.Unmarshal(e.Data, &data); err != nil {
		return false, nil
	}
	tn, _ := data["tracking_number"].(string)
	if tn == "" || s.Tracking == nil {
		return false, nil
	}
	orderID, shipmentID, ok, err := s.Tracking.OrderForTracking(ctx, tn)
	if err != nil || !ok {
		return false, err
	}
	data["order_id"] = orderID
	if shipmentID != "" {
		data["shipment_id"] = shipmentID
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return false, err
	}
	e.Data, e.OrderID = raw, orderID
	if e.Subject == "" {
		e.Subject = "order/" + orderID
	}
	return true, nil
}

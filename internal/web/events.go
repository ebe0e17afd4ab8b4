package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

var errPanic = errors.New("panic")

// EventResult is the answer for one submitted event.
type EventResult struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Status string `json:"status"`
}

// EventsResponse is the 202 answer of POST /v1/events.
type EventsResponse struct {
	Accepted   int `json:"accepted"`
	Duplicates int `json:"duplicates"`
	// Unmatched counts carrier events stored without an order: their
	// tracking number matched no shipment (provider webhooks only).
	Unmatched int           `json:"unmatched,omitempty"`
	Results   []EventResult `json:"results"`
	// Ignored says a provider webhook carried nothing the engine maps
	// (another topic); it was verified and acknowledged.
	Ignored bool `json:"ignored,omitempty"`
}

// postEvents authenticates (API key, or a Standard Webhooks signature over
// the body), parses canonical events or CloudEvents, commits them (sharing
// a transaction with concurrent requests) and answers 202 only after the
// commit.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	cloud := ingest.IsCloudEvents(r.Header)
	if ct := r.Header.Get("Content-Type"); ct != "" && !cloud {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/x-ndjson") {
			writeProblem(w, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
				"Send canonical events as application/json, or CloudEvents as application/cloudevents+json, "+
					"application/cloudevents-batch+json or in binary mode (ce-* headers).")
			return
		}
	}
	keyed := s.bearerOK(r)
	signed := r.Header.Get("webhook-signature") != ""
	if !keyed && !signed {
		s.unauthorized(w)
		return
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	if !keyed {
		secrets := s.WebhookSecrets["events"]
		if len(secrets) == 0 {
			writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized",
				"Signed requests are not configured here (RECOVERY_EVENTS_SIGNING_SECRETS); send 'Authorization: Bearer <api key>'.")
			return
		}
		if _, err := ingest.VerifyStandardWebhook(r.Header, body, secrets, time.Now()); err != nil {
			s.Logger.Info("events signature rejected", "reason", err.Error())
			writeProblem(w, http.StatusUnauthorized, "bad-signature", "Signature not valid",
				"The webhook-signature did not verify (or webhook-timestamp is more than 5 minutes off); nothing was stored.")
			return
		}
	}
	var evs []recovery.Event
	var err error
	if cloud {
		evs, err = ingest.ParseCloudEvents(r.Header, body)
	} else {
		evs, err = ingest.ParseBody(body)
	}
	if err != nil {
		s.writeParseError(w, err)
		return
	}
	s.commit(w, r, evs, nil)
}

// readBody reads a request body up to ingest.MaxBodyBytes, answering the
// problem itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ingest.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "too-large", "Body too large",
				fmt.Sprintf("A request body may hold at most %d bytes; split the batch.", ingest.MaxBodyBytes))
			return nil, false
		}
		writeProblem(w, http.StatusBadRequest, "bad-body", "Unreadable body", "The request body could not be read.")
		return nil, false
	}
	return body, true
}

// commit stores events (sharing a transaction with concurrent requests)
// and answers 202 only after the commit, one result per event. unmatched
// marks carrier events kept without an order.
func (s *Server) commit(w http.ResponseWriter, r *http.Request, evs []recovery.Event, unmatched []bool) {
	inserted, err := s.Inbox.Submit(r.Context(), evs)
	if err != nil && r.Context().Err() != nil {
		return // the client went away; its retry is safe, (source, id) dedupes
	}
	if errors.Is(err, recovery.ErrBusy) {
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, "busy", "Too much at once",
			"The engine holds as many events as it may in memory; nothing was accepted. Retry the same request shortly.")
		return
	}
	if err != nil {
		s.Logger.Error("commit events", "count", len(evs), "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Events not stored",
			"The events could not be stored; nothing was accepted. Retry the same request.")
		return
	}
	resp := EventsResponse{Results: make([]EventResult, len(evs))}
	for i, e := range evs {
		res := EventResult{ID: e.ID, Source: e.Source, Status: "accepted"}
		switch {
		case !inserted[i]:
			res.Status = "duplicate"
			resp.Duplicates++
		case unmatched != nil && unmatched[i]:
			res.Status = "unmatched"
			resp.Unmatched++
		default:
			resp.Accepted++
		}
		resp.Results[i] = res
	}
	writeJSON(w, http.StatusAccepted, resp)
}

func (s *Server) writeParseError(w http.ResponseWriter, err error) {
	var verr *ingest.ValidationError
	if errors.As(err, &verr) {
		fields := make([]FieldError, len(verr.Errors))
		for i, fe := range verr.Errors {
			fields[i] = FieldError{Field: fe.Field, Message: fe.Message}
		}
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid events",
			fmt.Sprintf("%d field(s) are invalid; nothing was stored.", len(fields)), fields...)
		return
	}
	writeProblem(w, http.StatusBadRequest, "malformed-json", "Malformed JSON", err.Error())
}

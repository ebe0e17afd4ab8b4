package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

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

// postEvents validates the body, commits its events (sharing a transaction
// with concurrent requests) and answers 202 only after the commit.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/x-ndjson") {
			writeProblem(w, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
				"Send canonical events as application/json.")
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, ingest.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeProblem(w, http.StatusRequestEntityTooLarge, "too-large", "Body too large",
				fmt.Sprintf("A request body may hold at most %d bytes; split the batch.", ingest.MaxBodyBytes))
			return
		}
		writeProblem(w, http.StatusBadRequest, "bad-body", "Unreadable body", "The request body could not be read.")
		return
	}
	evs, err := ingest.ParseBody(body)
	if err != nil {
		s.writeParseError(w, err)
		return
	}
	s.commit(w, r, evs, nil)
}

// commit stores events (sharing a transaction with concurrent requests)
// and answers 202 only after the commit, one result per event. unmatched
// marks carrier events kept without an order.
func (s *Server) commit(w http.ResponseWriter, r *http.Request, evs []recovery.Event, unmatched []bool) {
	inserted, err := s.Inbox.Submit(r.Context(), evs)
	if err != nil && r.Context().Err() != nil {
		return // the client went away; its retry is safe, (source, id) dedupes
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

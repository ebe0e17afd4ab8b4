package web

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/tracing"
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
	// Replayed says a signed delivery (its webhook-id) was stored
	// already: it was acknowledged without effect.
	Replayed bool `json:"replayed,omitempty"`
	// Ignored says a provider webhook carried nothing the engine maps
	// (another topic); it was verified and acknowledged.
	Ignored bool `json:"ignored,omitempty"`
}

// postEvents takes events from an ingest key or a Standard Webhooks
// signature over the body, parses canonical events or CloudEvents, checks
// that the key or the signer may write every event's source (else the
// whole request is refused, 403), commits them (sharing a transaction with
// concurrent requests) and answers 202 only after the commit.
func (s *Server) postEvents(w http.ResponseWriter, r *http.Request) {
	cloud, ndjson := ingest.IsCloudEvents(r.Header), false
	if ct := r.Header.Get("Content-Type"); ct != "" && !cloud {
		mt, _, err := mime.ParseMediaType(ct)
		ndjson = mt == "application/x-ndjson"
		if err != nil || (mt != "application/json" && !ndjson) {
			writeProblem(w, http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
				"Send canonical events as application/json, or CloudEvents as application/cloudevents+json, "+
					"application/cloudevents-batch+json or in binary mode (ce-* headers).")
			return
		}
	}
	body, ok := readBody(w, r)
	if !ok {
		return
	}
	// Who sends: the key (require checked it has the ingest right), else
	// the signer whose secret verifies the signature.
	var who, delivery string
	var mayWrite func(source string) bool
	if c, keyed := credentialOf(r); keyed {
		who, mayWrite = fmt.Sprintf("credential %q", c.Name), c.MayIngest
	} else {
		// A signature covers webhook-id, webhook-timestamp and the body,
		// not CloudEvents' ce-* headers, which would name the events'
		// id, source, type and time unsigned.
		if r.Header.Get("ce-specversion") != "" {
			writeProblem(w, http.StatusUnprocessableEntity, "unsigned-attributes", "Attributes outside the signature",
				"A signed request cannot use CloudEvents binary mode: its ce-* headers are not covered by the signature. "+
					"Send structured mode (application/cloudevents+json) or canonical JSON; nothing was stored.")
			return
		}
		sg, id, ok := s.verifySigned(w, r, body)
		if !ok {
			return
		}
		who, mayWrite = fmt.Sprintf("signing secret %q", sg.Name), sg.MayIngest
		delivery = sg.Name + "/" + id
		if s.Replays != nil {
			seen, err := s.Replays.SeenDelivery(r.Context(), delivery)
			if err != nil {
				s.Logger.Error("read webhook deliveries", "err", err)
				w.Header().Set("Retry-After", "1")
				writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Events not stored",
					"The events could not be stored; nothing was accepted. Retry the same request.")
				return
			}
			if seen { // a delivery already stored, sent again: nothing to do
				writeJSON(w, http.StatusAccepted, EventsResponse{Results: []EventResult{}, Replayed: true})
				return
			}
		}
	}
	var evs []recovery.Event
	var err error
	if cloud {
		evs, err = ingest.ParseCloudEvents(r.Header, body)
	} else {
		if ndjson {
			body, err = ingest.NDJSONBatch(body)
		}
		if err == nil {
			evs, err = ingest.ParseBody(body)
		}
	}
	if err != nil {
		s.writeParseError(w, err)
		return
	}
	var refused []FieldError
	var sources []string
	for i, e := range evs {
		if !mayWrite(e.Source) {
			field := "source"
			if len(evs) > 1 {
				field = fmt.Sprintf("events[%d].source", i)
			}
			refused = append(refused, FieldError{Field: field, Message: fmt.Sprintf("%s may not write source %q", who, e.Source)})
			if !slices.Contains(sources, e.Source) {
				sources = append(sources, e.Source)
			}
		}
	}
	if len(refused) > 0 {
		quoted := make([]string, len(sources))
		for i, src := range sources {
			quoted[i] = strconv.Quote(src)
		}
		for _, src := range sources {
			s.Metrics.Event(src, "refused")
		}
		writeProblem(w, http.StatusForbidden, "source-not-allowed", "Source not allowed",
			fmt.Sprintf("The %s may not write events of source %s; nothing was stored.", who, strings.Join(quoted, ", ")), refused...)
		return
	}
	if s.commit(w, r, evs, nil) && delivery != "" && s.Replays != nil {
		if err := s.Replays.RecordDelivery(r.Context(), delivery); err != nil {
			s.Logger.Warn("record webhook delivery", "err", err) // stored anyway; a replay is a duplicate
		}
	}
}

// verifySigned checks a Standard Webhooks signature against each signer's
// secrets and returns the signer whose secret verifies, answering 401
// itself when none does.
func (s *Server) verifySigned(w http.ResponseWriter, r *http.Request, body []byte) (auth.Signer, string, bool) {
	if len(s.EventSigners) == 0 {
		writeProblem(w, http.StatusUnauthorized, "unauthorized", "Unauthorized",
			"Signed requests are not configured here (RECOVERY_EVENTS_SIGNING_SECRETS or signing_secrets in RECOVERY_KEYS); send 'Authorization: Bearer <api key>'.")
		return auth.Signer{}, "", false
	}
	var last error
	for _, sg := range s.EventSigners {
		id, err := ingest.VerifyStandardWebhook(r.Header, body, sg.Secrets, time.Now())
		if err != nil {
			last = err
			continue
		}
		return sg, id, true
	}
	s.Logger.Info("events signature rejected", "reason", last.Error())
	writeProblem(w, http.StatusUnauthorized, "bad-signature", "Signature not valid",
		"The webhook-signature did not verify (or webhook-timestamp is more than 5 minutes off); nothing was stored.")
	return auth.Signer{}, "", false
}

// readBody reads a request body up to ingest.MaxBodyBytes, answering the
// problem itself when it cannot.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := readAll(http.MaxBytesReader(w, r.Body, ingest.MaxBodyBytes), r.ContentLength)
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

// readAll reads body whole, into one buffer of the declared length when
// the request declares one up to preallocMax (io.ReadAll grows its buffer
// by copying, which on a batch of events is most of the reading). Larger
// bodies grow as they arrive, so that a request declaring megabytes and
// sending little cannot make the server hold them.
func readAll(body io.Reader, declared int64) ([]byte, error) {
	if declared <= 0 || declared > preallocMax {
		return io.ReadAll(body)
	}
	buf := make([]byte, declared+1) // one more byte, to meet the end
	n, err := io.ReadFull(body, buf)
	switch {
	case int64(n) == declared: // net/http ends the body at its Content-Length
		return buf[:n], nil
	case err == io.EOF || err == io.ErrUnexpectedEOF:
		return nil, io.ErrUnexpectedEOF // shorter than declared
	case err != nil:
		return nil, err
	}
	// More than declared: not from net/http's server; read on as ReadAll would.
	rest, err := io.ReadAll(body)
	return append(buf, rest...), err
}

// preallocMax is the largest body read into a buffer of its declared
// length: a batch of about 400 events.
const preallocMax = 256 << 10

// commit stores events (sharing a transaction with concurrent requests)
// and answers 202 only after the commit, one result per event. unmatched
// marks carrier events kept without an order.
func (s *Server) commit(w http.ResponseWriter, r *http.Request, evs []recovery.Event, unmatched []bool) bool {
	if tp := tracing.TraceParent(r.Context()); tp != "" {
		for i := range evs {
			evs[i].TraceParent = tp
		}
	}
	inserted, err := s.Inbox.Submit(r.Context(), evs)
	if err != nil && r.Context().Err() != nil {
		return false // the client went away; its retry is safe, (source, id) dedupes
	}
	if errors.Is(err, recovery.ErrBusy) {
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, "busy", "Too much at once",
			"The engine holds as many events as it may in memory; nothing was accepted. Retry the same request shortly.")
		return false
	}
	if err != nil {
		s.Logger.Error("commit events", "count", len(evs), "err", err)
		w.Header().Set("Retry-After", "1")
		writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Events not stored",
			"The events could not be stored; nothing was accepted. Retry the same request.")
		return false
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
		s.Metrics.Event(e.Source, res.Status)
		resp.Results[i] = res
	}
	writeJSON(w, http.StatusAccepted, resp)
	return true
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

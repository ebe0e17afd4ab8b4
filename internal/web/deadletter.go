package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// EventQueue is the relay's queue as ops see it: the events it quarantined
// because they can never be delivered, and putting them back.
type EventQueue interface {
	DeadEvents(ctx context.Context, after int64, limit int) ([]recovery.DeadEvent, error)
	// Requeue puts the given quarantined events back (every one when
	// seqs is empty) and says how many.
	Requeue(ctx context.Context, seqs []int64) (int64, error)
}

// listEvents answers GET /v1/events?status=dead&after=&limit=: the
// quarantined events, oldest first, with why; after pages on.
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var bad []FieldError
	if q.Get("status") != "dead" {
		bad = append(bad, FieldError{Field: "status", Message: "must be dead (the events the relay quarantined)"})
	}
	after, limit := int64(0), 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			bad = append(bad, FieldError{Field: "after", Message: "must be an event's seq"})
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			bad = append(bad, FieldError{Field: "limit", Message: "must be a whole number from 1 to 1000"})
		}
		limit = n
	}
	if len(bad) > 0 {
		writeProblem(w, http.StatusBadRequest, "validation", "Invalid query", "Fix the named parameters.", bad...)
		return
	}
	evs, err := s.Events.DeadEvents(r.Context(), after, limit)
	if err != nil {
		s.Logger.Error("list dead events", "err", err)
		writeError(w, err)
		return
	}
	if evs == nil {
		evs = []recovery.DeadEvent{}
	}
	out := map[string]any{"events": evs}
	if len(evs) == limit {
		out["next_after"] = evs[len(evs)-1].Seq
	}
	writeJSON(w, http.StatusOK, out)
}

// requeueEvents answers POST /v1/events/requeue with {"seqs": [...]} or
// {"all_dead": true}: the relay tries those events again.
func (s *Server) requeueEvents(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Seqs    []int64 `json:"seqs"`
		AllDead bool    `json:"all_dead"`
	}
	if !decodeStrict(w, r, &body) {
		return
	}
	if len(body.Seqs) == 0 == !body.AllDead || len(body.Seqs) > 10000 {
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid request",
			"Name the events to requeue, or ask for all of them.",
			FieldError{Field: "seqs", Message: "give 1 to 10000 seqs, or all_dead: true instead"})
		return
	}
	n, err := s.Events.Requeue(r.Context(), body.Seqs)
	if err != nil {
		s.Logger.Error("requeue events", "err", err)
		writeError(w, err)
		return
	}
	s.Logger.Info("quarantined events requeued", "count", n)
	writeJSON(w, http.StatusOK, map[string]any{"requeued": n})
}

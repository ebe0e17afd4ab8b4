package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// incidentStatuses are the values the status filter accepts.
var incidentStatuses = []string{recovery.IncidentOpen, recovery.IncidentAwaitingApproval, recovery.IncidentAwaitingChoice,
	recovery.IncidentNeedsAttention, recovery.IncidentResolved, recovery.IncidentHealed}

// listIncidents answers GET /v1/incidents?order_id=&status=&kind=&limit=.
func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := recovery.IncidentFilter{OrderID: q.Get("order_id"), Status: q.Get("status"), Kind: q.Get("kind")}
	var bad []FieldError
	if f.Status != "" && !slices.Contains(incidentStatuses, f.Status) {
		bad = append(bad, FieldError{Field: "status", Message: fmt.Sprintf("must be one of %v", incidentStatuses)})
	}
	if f.Kind != "" && !slices.Contains(recovery.Kinds, recovery.Kind(f.Kind)) {
		bad = append(bad, FieldError{Field: "kind", Message: fmt.Sprintf("must be one of %v", recovery.Kinds)})
	}
	limit := 100
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			bad = append(bad, FieldError{Field: "limit", Message: "must be a whole number from 1 to 500"})
		}
		limit = n
	}
	if c := q.Get("cursor"); c != "" {
		after, err := parseCursor(c)
		if err != nil {
			bad = append(bad, FieldError{Field: "cursor", Message: "must be a next_cursor this API returned"})
		}
		f.After = &after
	}
	if len(bad) > 0 {
		writeProblem(w, http.StatusBadRequest, "validation", "Invalid query", "Fix the named parameters.", bad...)
		return
	}
	f.Limit = limit + 1 // one more than asked: is there a next page?
	list, err := s.Incidents.ListIncidents(r.Context(), f)
	if err != nil {
		s.Logger.Error("list incidents", "err", err)
		writeError(w, err)
		return
	}
	out := map[string]any{}
	if len(list) > limit {
		list = list[:limit]
		last := list[limit-1]
		out["next_cursor"] = formatCursor(recovery.IncidentCursor{DetectedAt: last.DetectedAt, ID: last.ID})
	}
	if list == nil {
		list = []recovery.Incident{}
	}
	out["incidents"] = list
	writeJSON(w, http.StatusOK, out)
}

// A cursor is opaque to clients: the position of the last incident of a
// page, base64url-encoded ("<unix microseconds>.<id>").
func formatCursor(c recovery.IncidentCursor) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(c.DetectedAt.UnixMicro(), 10) + "." + c.ID))
}

func parseCursor(s string) (recovery.IncidentCursor, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return recovery.IncidentCursor{}, err
	}
	at, id, ok := strings.Cut(string(raw), ".")
	us, err := strconv.ParseInt(at, 10, 64)
	if !ok || err != nil || id == "" {
		return recovery.IncidentCursor{}, errors.New("not a cursor")
	}
	return recovery.IncidentCursor{DetectedAt: time.UnixMicro(us).UTC(), ID: id}, nil
}

// getIncident answers GET /v1/incidents/{id}.
func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	inc, err := s.Incidents.GetIncident(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

package web

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

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
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			bad = append(bad, FieldError{Field: "limit", Message: "must be a whole number from 1 to 500"})
		}
		f.Limit = n
	}
	if len(bad) > 0 {
		writeProblem(w, http.StatusBadRequest, "validation", "Invalid query", "Fix the named parameters.", bad...)
		return
	}
	list, err := s.Incidents.ListIncidents(r.Context(), f)
	if err != nil {
		s.Logger.Error("list incidents", "err", err)
		writeError(w, err)
		return
	}
	if list == nil {
		list = []recovery.Incident{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": list})
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

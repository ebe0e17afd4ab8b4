package web

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// problemBase prefixes the problem type URIs of this API.
const problemBase = "https://recovery.dev/problems/"

// FieldError names one bad field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem document.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Errors []FieldError `json:"errors,omitempty"`
}

// writeProblem answers with an application/problem+json document.
func writeProblem(w http.ResponseWriter, status int, kind, title, detail string, errs ...FieldError) {
	w.Header().Set("Content-Type", "application/problem+json")
	jsonHeaders(w)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(Problem{ //nolint:errcheck
		Type: problemBase + kind, Title: title, Status: status, Detail: detail, Errors: errs,
	})
}

// writeError maps a domain error to its problem answer; anything unknown is
// a 500 whose detail does not leak internals.
func writeError(w http.ResponseWriter, err error) {
	switch {
	case errors.Is(err, recovery.ErrNotFound):
		writeProblem(w, http.StatusNotFound, "not-found", "Not found", err.Error())
	case errors.Is(err, recovery.ErrConflict):
		writeProblem(w, http.StatusConflict, "conflict", "Conflict", err.Error())
	case errors.Is(err, recovery.ErrForbidden):
		writeProblem(w, http.StatusForbidden, "forbidden", "Forbidden", err.Error())
	case errors.Is(err, recovery.ErrInvalid):
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid request", err.Error())
	default:
		writeProblem(w, http.StatusInternalServerError, "internal", "Internal error",
			"The server could not complete the request; it has been logged.")
	}
}

// writeJSON answers with a JSON document.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	jsonHeaders(w)
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck
}

// jsonHeaders marks a JSON answer: never cached (it may name incidents,
// codes or customers' choices) and never sniffed as another type.
func jsonHeaders(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
}

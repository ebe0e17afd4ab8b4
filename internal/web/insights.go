package web

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/insights"
	"github.com/recoveryhq/recovery/internal/store"
)

// InsightSource reads what the insights are computed from.
type InsightSource interface {
	InsightRows(ctx context.Context, from, to time.Time) ([]store.InsightRow, error)
	CustomerRetention(ctx context.Context, from, to time.Time) (store.Retention, error)
}

// Report reads and computes the insights of a period.
func Report(ctx context.Context, src InsightSource, from, to time.Time, groupBy string) (insights.Report, error) {
	rows, err := src.InsightRows(ctx, from, to)
	if err != nil {
		return insights.Report{}, err
	}
	ret, err := src.CustomerRetention(ctx, from, to)
	if err != nil {
		return insights.Report{}, err
	}
	return insights.Compute(from, to, groupBy, rows, ret)
}

// getInsights answers GET /v1/insights?from=&to=&group_by=: JSON, or CSV
// with format=csv or Accept: text/csv.
func (s *Server) getInsights(w http.ResponseWriter, r *http.Request) {
	if s.Insights == nil {
		writeProblem(w, http.StatusNotFound, "not-found", "Not found", "This server computes no insights.")
		return
	}
	q := r.URL.Query()
	var bad []FieldError
	from, to, err := insights.ParseRange(q.Get("from"), q.Get("to"), time.Now())
	if err != nil {
		field, msg, _ := strings.Cut(err.Error(), ": ")
		bad = append(bad, FieldError{Field: field, Message: msg})
	}
	groupBy := q.Get("group_by")
	if groupBy != "" && !slices.Contains(insights.GroupBys, groupBy) {
		bad = append(bad, FieldError{Field: "group_by", Message: "must be one of " + strings.Join(insights.GroupBys, ", ")})
	}
	format := q.Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/csv") {
		format = "csv"
	}
	if format != "" && format != "csv" && format != "json" {
		bad = append(bad, FieldError{Field: "format", Message: "must be json or csv"})
	}
	if len(bad) > 0 {
		writeProblem(w, http.StatusBadRequest, "validation", "Invalid query", "Fix the named parameters.", bad...)
		return
	}
	rep, err := Report(r.Context(), s.Insights, from, to, groupBy)
	if err != nil {
		s.Logger.Error("insights", "err", err)
		writeError(w, err)
		return
	}
	if format == "csv" {
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="recovery-insights.csv"`)
		if err := insights.WriteCSV(w, rep); err != nil {
			s.Logger.Error("insights csv", "err", err)
		}
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

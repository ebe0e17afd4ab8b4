package console

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/policy"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// Policies is what the policy page shows and replays: the active policy,
// its text, and the incidents of a past period.
type Policies struct {
	Active *policy.Policy
	Source string
	// Past returns the incidents detected since a time, with what was
	// offered (nil: no dry-run).
	Past func(ctx context.Context, since time.Time, limit int) ([]policy.Past, error)
}

// maxPolicyBytes bounds a pasted policy.
const maxPolicyBytes = 256 << 10

// policyView is the policy page's content.
type policyView struct {
	Version  string
	Rules    []string
	Source   string
	Draft    string
	Days     int
	Checked  bool
	Problems []string
	Rows     []policyRow
	Totals   []string
	Waiting  int
}

type policyRow struct {
	ID, Kind, Offered, Would, Rule string
	Changed                        bool
}

func (s *Server) policyPage(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	s.render(w, http.StatusOK, "policy", view{Title: "Remedy policy", User: &u, Policy: s.activePolicy("", 30)})
}

func (s *Server) activePolicy(draft string, days int) *policyView {
	pv := &policyView{Source: s.Policies.Source, Draft: draft, Days: days}
	if p := s.Policies.Active; p != nil {
		pv.Version = p.Version
		for _, r := range p.Rules {
			pv.Rules = append(pv.Rules, r.Name)
		}
	}
	if pv.Draft == "" {
		pv.Draft = pv.Source
	}
	return pv
}

// checkPolicy checks a pasted policy (every problem with its line and
// column) and, when it holds, replays it over the incidents of the last
// days next to what was actually offered. Nothing is changed.
func (s *Server) checkPolicy(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	r.Body = http.MaxBytesReader(w, r.Body, maxPolicyBytes+4096)
	draft := r.PostFormValue("policy")
	days, err := strconv.Atoi(r.PostFormValue("days"))
	if err != nil || days < 1 || days > 365 {
		days = 30
	}
	pv := s.activePolicy(draft, days)
	pv.Checked = true
	p, err := policy.Parse("pasted policy", []byte(draft))
	var problems policy.Problems
	switch {
	case errors.As(err, &problems):
		for _, pr := range problems {
			pv.Problems = append(pv.Problems, pr.String())
		}
	case err != nil:
		pv.Problems = []string{err.Error()}
	}
	if len(pv.Problems) > 0 || s.Policies.Past == nil {
		s.render(w, http.StatusOK, "policy", view{Title: "Remedy policy", User: &u, Policy: pv})
		return
	}
	past, err := s.Policies.Past(r.Context(), s.now().Add(-time.Duration(days)*24*time.Hour), 10000)
	if err != nil {
		s.Logger.Error("console policy dry-run", "err", err)
		s.render(w, http.StatusServiceUnavailable, "policy", view{Title: "Remedy policy", User: &u, Policy: pv,
			Error: "The past incidents cannot be read right now; try again."})
		return
	}
	cmp, tot := policy.DryRun(p, past)
	for _, c := range cmp {
		row := policyRow{ID: c.Incident.ID, Kind: string(c.Incident.Kind), Offered: "-", Would: "-", Rule: c.Decision.Rule}
		if c.Offered != nil {
			row.Offered = string(c.Offered.Remedy) + " " + recovery.Money{Minor: c.Offered.ValueMinor, Currency: c.Offered.Currency}.String()
		}
		if c.Would != nil {
			row.Would = string(c.Would.Remedy) + " " + c.Would.Value.String()
			if c.Decision.NeedsApproval {
				row.Would += " (approval)"
			}
		}
		if c.Skipped != "" {
			row.Rule = "skipped: " + c.Skipped
		}
		row.Changed = row.Offered != strings.TrimSuffix(row.Would, " (approval)")
		pv.Rows = append(pv.Rows, row)
	}
	for _, c := range tot.Currencies() {
		pv.Totals = append(pv.Totals, c+": offered "+recovery.Money{Minor: tot.Offered[c], Currency: c}.String()+
			", would offer "+recovery.Money{Minor: tot.Would[c], Currency: c}.String())
	}
	pv.Waiting = tot.Approvals
	s.render(w, http.StatusOK, "policy", view{Title: "Remedy policy", User: &u, Policy: pv})
}

// PastFrom reads the incidents a dry-run replays, with what was offered,
// from the store (Policies.Past, and the CLI's policy dry-run).
func PastFrom(st *store.Store) func(ctx context.Context, since time.Time, limit int) ([]policy.Past, error) {
	return func(ctx context.Context, since time.Time, limit int) ([]policy.Past, error) {
		rows, err := st.PastIncidents(ctx, since, limit)
		past := make([]policy.Past, len(rows))
		for i, r := range rows {
			past[i] = policy.Past{Incident: r.Incident, Offered: r.Offered, Order: r.Order, Code: r.Code}
		}
		return past, err
	}
}

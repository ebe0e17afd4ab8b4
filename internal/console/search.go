package console

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// Search limits: the incidents one search finds, and shows per page.
const (
	maxFound = 1000
	perPage  = 100
	// maxOrders bounds the orders of one customer a search looks at.
	maxOrders = 200
)

// searchTerms are the search form's fields.
type searchTerms struct {
	Order, Customer, Kind, Status, From, To string
	Searched                                bool
}

// query is the terms as a query string (for the pages and the export).
func (t searchTerms) query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"order": t.Order, "customer": t.Customer, "kind": t.Kind, "status": t.Status,
		"from": t.From, "to": t.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// Export is the link to the CSV of the same search.
func (t searchTerms) Export() string {
	q := t.query()
	q.Set("format", "csv")
	return "/console/search?" + q.Encode()
}

// PageLink is the link to page n of the same search.
func (t searchTerms) PageLink(n int) string {
	q := t.query()
	q.Set("page", strconv.Itoa(n))
	return "/console/search?" + q.Encode()
}

// search finds incidents by order id, or by customer (email, phone or
// the shop's id, exactly), kind, status and detection dates; pages them,
// or exports them as CSV.
func (s *Server) search(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	q := r.URL.Query()
	t := searchTerms{Order: strings.TrimSpace(q.Get("order")), Customer: strings.TrimSpace(q.Get("customer")),
		Kind: q.Get("kind"), Status: q.Get("status"), From: q.Get("from"), To: q.Get("to")}
	t.Searched = len(t.query()) > 0
	v := view{Title: "Search", User: &u, Search: t, Kinds: recovery.Kinds, Page: 1}
	if n, err := strconv.Atoi(q.Get("page")); err == nil && n > 1 {
		v.Page = n
	}
	if !t.Searched {
		s.render(w, http.StatusOK, "search", v)
		return
	}
	found, msg := s.find(r, t)
	if msg != "" {
		v.Error = msg
		s.render(w, http.StatusBadRequest, "search", v)
		return
	}
	if q.Get("format") == "csv" {
		writeCSV(w, found)
		return
	}
	start := min((v.Page-1)*perPage, len(found))
	end := min(start+perPage, len(found))
	for _, inc := range found[start:end] {
		v.Rows = append(v.Rows, row{Incident: inc})
	}
	if end < len(found) {
		v.NextPage = v.Page + 1
	}
	v.Message = fmt.Sprintf("%d incident(s) found", len(found))
	if len(found) == maxFound {
		v.Message += fmt.Sprintf(" (the first %d; narrow the search)", maxFound)
	}
	s.render(w, http.StatusOK, "search", v)
}

// find runs a search; msg says what is wrong with the terms.
func (s *Server) find(r *http.Request, t searchTerms) (found []recovery.Incident, msg string) {
	ctx := r.Context()
	var from, to time.Time
	var err error
	if t.Kind != "" && !slices.Contains(recovery.Kinds, recovery.Kind(t.Kind)) {
		return nil, "Choose a kind from the list."
	}
	if t.From != "" {
		if from, err = time.Parse("2006-01-02", t.From); err != nil {
			return nil, "The first day is a date such as 2026-11-30."
		}
	}
	if t.To != "" {
		if to, err = time.Parse("2006-01-02", t.To); err != nil {
			return nil, "The last day is a date such as 2026-11-30."
		}
		to = to.Add(24 * time.Hour) // the whole last day
	}
	f := recovery.IncidentFilter{Kind: t.Kind, Status: t.Status, Limit: maxFound}
	var orders []string
	switch {
	case t.Order != "":
		orders = []string{t.Order}
	case t.Customer != "":
		who, err := recovery.ParseCustomerRef(t.Customer)
		if err != nil || s.Orders == nil {
			return nil, "Name the customer by email address, phone number (+49…) or the shop's customer id."
		}
		if orders, err = s.Orders.OrdersOf(ctx, who, maxOrders); err != nil {
			s.Logger.Error("console search", "err", err)
			return nil, "The search cannot run right now; try again."
		}
		if len(orders) == 0 {
			return nil, ""
		}
	}
	add := func(list []recovery.Incident) {
		for _, inc := range list {
			if (from.IsZero() || !inc.DetectedAt.Before(from)) && (to.IsZero() || inc.DetectedAt.Before(to)) && len(found) < maxFound {
				found = append(found, inc)
			}
		}
	}
	if orders == nil {
		list, err := s.Incidents.ListIncidents(ctx, f)
		if err != nil {
			s.Logger.Error("console search", "err", err)
			return nil, "The search cannot run right now; try again."
		}
		add(list)
		return found, ""
	}
	for _, o := range orders {
		f.OrderID = o
		list, err := s.Incidents.ListIncidents(ctx, f)
		if err != nil {
			s.Logger.Error("console search", "err", err)
			return nil, "The search cannot run right now; try again."
		}
		add(list)
	}
	slices.SortStableFunc(found, func(a, b recovery.Incident) int { return b.DetectedAt.Compare(a.DetectedAt) })
	return found, ""
}

// writeCSV exports incidents. A cell that a spreadsheet would read as a
// formula is quoted with a leading apostrophe.
func writeCSV(w http.ResponseWriter, list []recovery.Incident) {
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="incidents.csv"`)
	cw := csv.NewWriter(w)
	cw.Write([]string{"id", "order_id", "shipment_id", "kind", "status", "detected_at", "closed_at", //nolint:errcheck
		"remedy", "value", "currency", "offer_status", "approved_by", "survey"})
	for _, inc := range list {
		var remedy, value, currency, offerStatus, approvedBy, closed, survey string
		if o := inc.Offer; o != nil {
			remedy, currency, offerStatus, approvedBy = string(o.Remedy), o.Currency, o.Status, o.ApprovedBy
			value = recovery.Money{Minor: o.ValueMinor, Currency: o.Currency}.String()
		}
		if inc.ClosedAt != nil {
			closed = inc.ClosedAt.UTC().Format(time.RFC3339)
		}
		if inc.Survey != nil {
			survey = inc.Survey.Answer
		}
		rec := []string{inc.ID, inc.OrderID, inc.ShipmentID, string(inc.Kind), inc.Status, inc.DetectedAt.UTC().Format(time.RFC3339),
			closed, remedy, value, currency, offerStatus, approvedBy, survey}
		for i, c := range rec {
			if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
				rec[i] = "'" + c
			}
		}
		cw.Write(rec) //nolint:errcheck
	}
	cw.Flush()
}

package web

import (
	"context"
	"net/http"

	"github.com/recoveryhq/recovery/docs"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Privacy exports and erases a customer's data (see store.ExportCustomer
// and store.EraseCustomer).
type Privacy interface {
	ExportCustomer(ctx context.Context, who recovery.CustomerRef) (recovery.CustomerExport, error)
	EraseCustomer(ctx context.Context, who recovery.CustomerRef, by string) (recovery.ErasureReport, error)
}

// customerRef reads the {id} of a customer route: the shop's customer id,
// an email address or a phone number.
func customerRef(w http.ResponseWriter, r *http.Request) (recovery.CustomerRef, bool) {
	who, err := recovery.ParseCustomerRef(r.PathValue("id"))
	if err != nil {
		writeProblem(w, http.StatusUnprocessableEntity, "invalid-customer", "Invalid customer",
			"name the customer by the shop's customer id, an email address or a phone number (+ and digits)",
			FieldError{Field: "id", Message: "not a customer id, email address or phone number"})
		return who, false
	}
	return who, true
}

// exportCustomer answers GET /v1/customers/{id}/export: everything kept
// about the customer, in one document.
func (s *Server) exportCustomer(w http.ResponseWriter, r *http.Request) {
	who, ok := customerRef(w, r)
	if !ok {
		return
	}
	exp, err := s.Privacy.ExportCustomer(r.Context(), who)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Disposition", `attachment; filename="customer-export.json"`)
	writeJSON(w, http.StatusOK, exp)
}

// eraseCustomer answers POST /v1/customers/{id}/erase with what it erased;
// erasing again erases nothing and says so.
func (s *Server) eraseCustomer(w http.ResponseWriter, r *http.Request) {
	who, ok := customerRef(w, r)
	if !ok {
		return
	}
	by := "ops"
	if c, ok := credentialOf(r); ok {
		by = c.Name
	}
	rep, err := s.Privacy.EraseCustomer(r.Context(), who, by)
	if err != nil {
		writeError(w, err)
		return
	}
	s.Logger.Info("customer erased", "by", by, "orders", len(rep.Orders), "events", rep.Events, "contacts", rep.Contacts)
	writeJSON(w, http.StatusOK, rep)
}

// Replays remembers the signed deliveries already stored.
type Replays interface {
	SeenDelivery(ctx context.Context, id string) (bool, error)
	RecordDelivery(ctx context.Context, id string) error
}

// openAPI serves docs/openapi.yaml as JSON.
func (s *Server) openAPI(w http.ResponseWriter, _ *http.Request) {
	doc, err := docs.OpenAPIJSON()
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Write(doc) //nolint:errcheck
}

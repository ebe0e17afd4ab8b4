package web

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/auth"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// Remedies hands remedy actions to the incident's workflow and answers
// where the remedy then stands.
type Remedies interface {
	Act(ctx context.Context, workflowID string, a recovery.RemedyAction) (recovery.RemedyView, error)
}

// Codes redeems discount codes and store credit for the commerce platform.
type Codes interface {
	RedeemCode(ctx context.Context, code, orderID string, at time.Time) (recovery.IssuedCode, error)
}

// decodeStrict reads a small JSON body into v, refusing unknown fields; an
// empty body leaves v as it is.
func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	body, ok := readBody(w, r)
	if !ok {
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeProblem(w, http.StatusBadRequest, "bad-json", "Malformed JSON", "The body is not the expected JSON object: "+
			strings.TrimPrefix(err.Error(), "json: "))
		return false
	}
	return true
}

// remedyAction answers POST /v1/incidents/{id}/{approve,reject,offer}: a
// credential with the approve right is required (the route checks it), and
// its name and its limit in the incident's currency, never the body's, go
// to the workflow. The answer is the incident after the action.
func (s *Server) remedyAction(action string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		who, _ := credentialOf(r)
		var body struct {
			Note   string `json:"note"`
			Reason string `json:"reason"`
			Offers []struct {
				Remedy     recovery.Remedy `json:"remedy"`
				ValueMinor int64           `json:"value_minor"`
				Expedited  bool            `json:"expedited"`
			} `json:"offers"`
		}
		if !decodeStrict(w, r, &body) {
			return
		}
		inc, err := s.Incidents.GetIncident(r.Context(), r.PathValue("id"))
		if err != nil {
			writeError(w, err)
			return
		}
		currency := ""
		if inc.Offer != nil {
			currency = inc.Offer.Currency
		}
		limit, ok := who.ApproveLimit(currency)
		if !ok { // the route requires the right; never act without it
			writeProblem(w, http.StatusForbidden, "forbidden", "Forbidden", "This credential may not approve.")
			return
		}
		act := recovery.RemedyAction{Action: action, By: recovery.Approver{Name: who.Name, LimitMajor: limit, Roles: who.Roles},
			Note: body.Note, Reason: body.Reason}
		switch action {
		case recovery.ActionReject:
			if strings.TrimSpace(body.Reason) == "" {
				writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid request", "A rejection needs a reason.",
					FieldError{Field: "reason", Message: "required"})
				return
			}
		case recovery.ActionOffer:
			if len(body.Offers) == 0 || inc.Offer == nil {
				writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid request",
					"Send the new offer as {\"offers\": [{\"remedy\": \"discount\", \"value_minor\": 2500}]}.",
					FieldError{Field: "offers", Message: "required"})
				return
			}
			for _, o := range body.Offers {
				act.Offers = append(act.Offers, recovery.RemedyOffer{Remedy: o.Remedy, Expedited: o.Expedited,
					Value: recovery.Money{Minor: o.ValueMinor, Currency: inc.Offer.Currency}})
			}
		}
		s.act(w, r, inc, act)
	}
}

// postChoice answers POST /v1/incidents/{id}/choice: the customer's choice,
// passed on by an integration or by ops (the choice page comes with the
// contact channels).
func (s *Server) postChoice(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Remedy recovery.Remedy `json:"remedy"`
	}
	if !decodeStrict(w, r, &body) {
		return
	}
	if body.Remedy == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid request", "Name the remedy chosen.",
			FieldError{Field: "remedy", Message: "required"})
		return
	}
	inc, err := s.Incidents.GetIncident(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, err)
		return
	}
	by := "customer"
	if who, ok := credentialOf(r); ok && who.Has(auth.Approve) {
		by = "customer via " + who.Name // ops passing on what the customer said
	}
	s.act(w, r, inc, recovery.RemedyAction{Action: recovery.ActionChoose, Remedy: body.Remedy, By: recovery.Approver{Name: by}})
}

// act sends the action to the incident's workflow. A retried request with
// the same Idempotency-Key is the same update: it gets the first one's
// answer instead of a 409.
func (s *Server) act(w http.ResponseWriter, r *http.Request, inc recovery.Incident, a recovery.RemedyAction) {
	if inc.WorkflowID == "" || inc.ClosedAt != nil {
		writeProblem(w, http.StatusConflict, "conflict", "Conflict", fmt.Sprintf("The incident is %s.", inc.Status))
		return
	}
	a.IdempotencyKey = strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(a.IdempotencyKey) > 200 || !printableASCII(a.IdempotencyKey) {
		writeProblem(w, http.StatusBadRequest, "validation", "Invalid request", "Idempotency-Key must be at most 200 printable characters.",
			FieldError{Field: "Idempotency-Key", Message: "at most 200 printable ASCII characters"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	view, err := s.Remedies.Act(ctx, inc.WorkflowID, a)
	if err != nil {
		s.Logger.Warn("remedy action refused", "incident_id", inc.ID, "action", a.Action, "err", err)
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, view)
}

// redeemCode answers POST /v1/codes/{code}/redeem for the commerce
// platform: a code works once, before it expires, unless it was voided.
func (s *Server) redeemCode(w http.ResponseWriter, r *http.Request) {
	var body struct {
		OrderID string `json:"order_id"`
	}
	if !decodeStrict(w, r, &body) {
		return
	}
	if body.OrderID == "" {
		writeProblem(w, http.StatusUnprocessableEntity, "validation", "Invalid request", "Name the order the code is used on.",
			FieldError{Field: "order_id", Message: "required"})
		return
	}
	c, err := s.Codes.RedeemCode(r.Context(), r.PathValue("code"), body.OrderID, time.Now().UTC())
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

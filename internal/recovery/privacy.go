package recovery

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Personal data stays in Postgres. Workflows see ids and the facts that
// detection and the policy need (country, region, postal code, amounts,
// SKUs, statuses, coordinates rounded to about 10 km); activities read
// names, addresses, phone numbers and emails from the store when they send.
// Temporal keeps workflow histories where erasure cannot reach them, so
// nothing personal may enter one: not an input, a signal, an update, an
// activity's input or result, nor an error text.

// MisroutePhrases are the words in a carrier's scan description that say
// the parcel was misrouted. A description reaches workflows reduced to the
// phrases it contains: carriers' free text can name the recipient ("left
// with J. SMITH").
var MisroutePhrases = []string{"misrout", "missort", "mis-sort", "mis-rout", "missent", "wrong facility", "wrong hub"}

// CoordinateStep is the grid coordinates are rounded to before they reach a
// workflow: 0.1 degree, about 11 km of latitude.
const CoordinateStep = 0.1

// roundCoord rounds a coordinate to CoordinateStep.
func roundCoord(p *float64) *float64 {
	if p == nil {
		return nil
	}
	v := math.Round(*p/CoordinateStep) * CoordinateStep
	v = math.Round(v*10) / 10 // no 52.300000000000004
	return &v
}

// Impersonal returns the customer without what identifies a person: the
// shop's customer id, the language and the time zone stay.
func (c Customer) Impersonal() Customer {
	return Customer{ID: c.ID, Locale: c.Locale, TimeZone: c.TimeZone}
}

// Impersonal returns the place as workflows may see it: country, region and
// postal code, and coordinates rounded to CoordinateStep. The street and the
// city go.
func (l Location) Impersonal() Location {
	return Location{Region: l.Region, PostalCode: l.PostalCode, Country: l.Country,
		Lat: roundCoord(l.Lat), Lng: roundCoord(l.Lng)}
}

// ImpersonalLocation is Impersonal for an optional place.
func ImpersonalLocation(l *Location) *Location {
	if l == nil {
		return nil
	}
	v := l.Impersonal()
	return &v
}

// misroutePhrasesIn returns the misroute phrases a description contains,
// in lower case, separated by spaces.
func misroutePhrasesIn(desc string) string {
	desc = strings.ToLower(desc)
	var found []string
	for _, p := range MisroutePhrases {
		if strings.Contains(desc, p) {
			found = append(found, p)
		}
	}
	return strings.Join(found, " ")
}

// ForWorkflow returns the event as it may travel to a workflow: its payload
// rebuilt from the fields the engine knows, without personal data (see
// Impersonal) and without fields it does not know. An order.updated keeps
// which fields it carried, since a partial update changes only those. A
// payload that does not decode keeps only its order id.
func (e Event) ForWorkflow() Event {
	out := e
	out.Data = impersonalData(e.Type, e.Data)
	return out
}

func impersonalData(typ string, data json.RawMessage) json.RawMessage {
	var v any
	switch typ {
	case TypeOrderCreated, TypeOrderUpdated:
		return impersonalOrder(data)
	case TypeOrderCancelled:
		var d OrderRef
		if json.Unmarshal(data, &d) == nil {
			v = OrderRef{OrderID: d.OrderID} // the reason is the shop's free text
		}
	case TypeShipmentCreated:
		var d ShipmentData
		if json.Unmarshal(data, &d) == nil {
			d.Origin = ImpersonalLocation(d.Origin)
			v = d
		}
	case TypeShipmentTracking:
		var d TrackingData
		if json.Unmarshal(data, &d) == nil {
			d.Location = ImpersonalLocation(d.Location)
			d.Description = misroutePhrasesIn(d.Description)
			v = d
		}
	case TypeInventoryChanged:
		var d InventoryData
		if json.Unmarshal(data, &d) == nil {
			v = d
		}
	case TypeCustomerUpdated:
		var d CustomerData
		if json.Unmarshal(data, &d) == nil {
			d.Customer = d.Customer.Impersonal()
			v = d
		}
	}
	if v == nil {
		v = orderIDOnly{OrderID: OrderIDOf(data)}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// impersonalOrder rebuilds an order payload with only the fields it
// carried, each without personal data.
func impersonalOrder(data json.RawMessage) json.RawMessage {
	var present map[string]json.RawMessage
	var d OrderData
	if json.Unmarshal(data, &present) != nil || json.Unmarshal(data, &d) != nil {
		b, _ := json.Marshal(orderIDOnly{OrderID: OrderIDOf(data)})
		return b
	}
	out := map[string]any{"order_id": d.OrderID}
	for k := range present {
		switch k {
		case "currency":
			out[k] = d.Currency
		case "total_minor":
			out[k] = d.TotalMinor
		case "promised_delivery":
			out[k] = d.PromisedDelivery
		case "customer":
			out[k] = d.Customer.Impersonal()
		case "shipping_address":
			out[k] = d.ShippingAddress.Impersonal()
		case "lines":
			out[k] = d.Lines
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		return json.RawMessage(`{}`)
	}
	return b
}

// ForWorkflow returns the contact as an activity may answer a workflow:
// the step, channel, status and provider id, without the address, the
// subject or the body (which holds the code and the customer's signed
// link). A detail stays only when it is the engine's own word for a
// skipped step; a provider's text may quote the address.
func (c Contact) ForWorkflow() Contact {
	out := Contact{IncidentID: c.IncidentID, Step: c.Step, Channel: c.Channel, Locale: c.Locale, Status: c.Status,
		ProviderID: c.ProviderID, SentAt: c.SentAt, Outcome: c.Outcome}
	if c.Status == ContactSkipped {
		out.Detail = c.Detail
	}
	return out
}

// OrderContact is the personal side of an order, read from the store by
// the activities that contact the customer: who the customer is and where
// the order ships, as the order's latest events say.
type OrderContact struct {
	Customer Customer
	Address  Location
	// Source is the source of the order's order.created: it names the
	// shop (the brand) the order is from.
	Source string
}

// Apply folds one event into an order's contact: an order event
// replaces the customer or the address only when it carries them (an
// order.updated may be partial), a customer.updated replaces the customer.
func (oc *OrderContact) Apply(typ string, data []byte) {
	switch typ {
	case TypeOrderCreated, TypeOrderUpdated:
		var present map[string]json.RawMessage
		var d OrderData
		if json.Unmarshal(data, &present) != nil || json.Unmarshal(data, &d) != nil {
			return
		}
		if _, ok := present["customer"]; ok {
			oc.Customer = d.Customer
		}
		if _, ok := present["shipping_address"]; ok {
			oc.Address = d.ShippingAddress
		}
	case TypeCustomerUpdated:
		var d CustomerData
		if json.Unmarshal(data, &d) == nil {
			oc.Customer = d.Customer
		}
	}
}

// CustomerRef names a customer for export and erasure: the shop's
// customer id, an email address or a phone number, whichever the request
// gave (an "@" makes an email address, a leading "+" a phone number).
type CustomerRef struct {
	ID, Email, Phone string
}

// maxRefLen bounds a customer reference as ingest bounds identifiers.
const maxRefLen = 200

// ParseCustomerRef reads a customer reference; it refuses an empty or
// overlong one.
func ParseCustomerRef(s string) (CustomerRef, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return CustomerRef{}, fmt.Errorf("the customer is not named: %w", ErrInvalid)
	case len(s) > maxRefLen:
		return CustomerRef{}, fmt.Errorf("the customer reference is longer than %d characters: %w", maxRefLen, ErrInvalid)
	case strings.Contains(s, "@"):
		return CustomerRef{Email: NormalizeAddress(ChannelEmail, s)}, nil
	case strings.HasPrefix(s, "+"):
		p := NormalizeAddress(ChannelSMS, s)
		if len(p) < 5 {
			return CustomerRef{}, fmt.Errorf("%q is not a phone number: %w", s, ErrInvalid)
		}
		return CustomerRef{Phone: p}, nil
	}
	return CustomerRef{ID: s}, nil
}

// Matches reports whether a customer is the one referred to.
func (r CustomerRef) Matches(c Customer) bool {
	switch {
	case r.ID != "":
		return c.ID == r.ID
	case r.Email != "":
		return NormalizeAddress(ChannelEmail, c.Email) == r.Email
	case r.Phone != "":
		return c.Phone != "" && NormalizeAddress(ChannelSMS, c.Phone) == r.Phone
	}
	return false
}

// Erased returns an event's payload with its customer's personal data
// gone: what ForWorkflow keeps, without the shop's customer id either.
// The facts the numbers need (amounts, SKUs, statuses, countries, postal
// codes) stay.
func Erased(typ string, data json.RawMessage) json.RawMessage {
	out := impersonalData(typ, data)
	var m map[string]json.RawMessage
	if json.Unmarshal(out, &m) != nil {
		return out
	}
	if c, ok := m["customer"]; ok {
		var cust Customer
		json.Unmarshal(c, &cust) //nolint:errcheck
		cust.ID = ""
		m["customer"], _ = json.Marshal(cust)
	}
	b, err := json.Marshal(m)
	if err != nil {
		return out
	}
	return b
}

// CustomerExport is everything kept about a customer, in one document
// (GDPR access): the events of their orders as received, their incidents
// with what was said to them and offered, their opt-outs and the messages
// captured for them.
type CustomerExport struct {
	Customer  CustomerRef       `json:"customer"`
	Orders    []string          `json:"orders"`
	Events    []Event           `json:"events"`
	Incidents []Incident        `json:"incidents"`
	OptOuts   []OptOutRecord    `json:"opt_outs"`
	Captured  []CapturedMessage `json:"captured_messages"`
}

// OptOutRecord is one opt-out as stored.
type OptOutRecord struct {
	Channel string    `json:"channel"`
	Address string    `json:"address"`
	Source  string    `json:"source"`
	At      time.Time `json:"at"`
}

// ErasureReport says what an erasure removed, per kind of record. A
// second erasure of the same customer finds nothing left.
type ErasureReport struct {
	Orders           []string `json:"orders"`
	Events           int      `json:"events"`
	Incidents        int      `json:"incidents"`
	Contacts         int      `json:"contacts"`
	CapturedMessages int      `json:"captured_messages"`
	AuditNotes       int      `json:"audit_notes"`
	OptOutsHashed    int      `json:"opt_outs_hashed"`
	OrderStates      int      `json:"order_states"`
	Replies          int      `json:"replies"`
}

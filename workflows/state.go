package workflows

import (
	"encoding/json"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// maxScans bounds the scans kept per shipment for re-evaluation.
const maxScans = 64

// Scan is the part of a tracking event the detectors need.
type Scan struct {
	EventID       string
	Time          time.Time
	Status        string
	Country       string
	PostalCode    string
	ExceptionCode string
	Description   string
}

// Shipment is what the workflow knows of one shipment.
type Shipment struct {
	ID        string
	Origin    *recovery.Location
	Lines     []recovery.ShipmentLine
	Scans     []Scan
	Delivered bool
}

// OrderState is everything OrderWorkflow keeps; it is carried across
// continue-as-new.
type OrderState struct {
	OrderID string
	// Order is nil until order.created arrives (events may come out of
	// order).
	Order     *recovery.OrderData
	Shipments map[string]*Shipment
	// Seen holds the keys (source + "\x00" + id) of applied events.
	Seen map[string]bool
	// Opened maps "shipment\x00kind" to the incident id started for it.
	Opened map[string]string
	// Pending holds findings waiting for the order (and so the customer).
	Pending []Finding
	// LateFiredFor is the promise a late timer already fired for.
	LateFiredFor *time.Time
	// PromiseEvent is the id of the event that set the promise.
	PromiseEvent string
	Cancelled    bool
	Applied      int
}

// OrderInput starts (or continues) an OrderWorkflow.
type OrderInput struct {
	OrderID string
	// State is set when the workflow continues as new.
	State *OrderState
}

// OrderSummary is the answer to QueryState.
type OrderSummary struct {
	OrderID       string
	OrderKnown    bool
	AppliedEvents int
	Shipments     int
	Incidents     []string
	Cancelled     bool
}

func newState(orderID string) *OrderState {
	return &OrderState{OrderID: orderID, Shipments: map[string]*Shipment{}, Seen: map[string]bool{}, Opened: map[string]string{}}
}

func (s *OrderState) shipment(id string) *Shipment {
	sh, ok := s.Shipments[id]
	if !ok {
		sh = &Shipment{ID: id}
		s.Shipments[id] = sh
	}
	return sh
}

func (s *OrderState) summary() OrderSummary {
	out := OrderSummary{OrderID: s.OrderID, OrderKnown: s.Order != nil, AppliedEvents: s.Applied,
		Shipments: len(s.Shipments), Cancelled: s.Cancelled, Incidents: []string{}}
	for _, id := range s.Opened {
		out.Incidents = append(out.Incidents, id)
	}
	return out
}

// apply folds one event into the state and returns the scan it carried, if
// any. Events already seen are ignored (ok false).
func (s *OrderState) apply(e recovery.Event) (shipmentID string, scan *Scan, ok bool) {
	key := e.Source + "\x00" + e.ID
	if s.Seen[key] {
		return "", nil, false
	}
	s.Seen[key] = true
	s.Applied++
	switch e.Type {
	case recovery.TypeOrderCreated, recovery.TypeOrderUpdated:
		before := s.promise()
		s.applyOrder(e)
		if after := s.promise(); after != nil && (before == nil || !after.Equal(*before)) {
			s.PromiseEvent = e.ID
		}
	case recovery.TypeOrderCancelled:
		s.Cancelled = true
	case recovery.TypeShipmentCreated:
		var d recovery.ShipmentData
		if json.Unmarshal(e.Data, &d) == nil && d.ShipmentID != "" {
			sh := s.shipment(d.ShipmentID)
			if d.Origin != nil {
				sh.Origin = d.Origin
			}
			if len(d.Lines) > 0 {
				sh.Lines = d.Lines
			}
		}
	case recovery.TypeShipmentTracking:
		var d recovery.TrackingData
		if json.Unmarshal(e.Data, &d) != nil || d.ShipmentID == "" {
			return "", nil, true
		}
		sc := Scan{EventID: e.ID, Time: e.Time, Status: d.Status, ExceptionCode: d.ExceptionCode, Description: d.Description}
		if d.Location != nil {
			sc.Country, sc.PostalCode = d.Location.Country, d.Location.PostalCode
		}
		sh := s.shipment(d.ShipmentID)
		sh.Scans = append(sh.Scans, sc)
		if len(sh.Scans) > maxScans {
			sh.Scans = sh.Scans[len(sh.Scans)-maxScans:]
		}
		if d.Status == recovery.StatusDelivered {
			sh.Delivered = true
		}
		return d.ShipmentID, &sc, true
	}
	return "", nil, true
}

// applyOrder merges order.created or a partial order.updated.
func (s *OrderState) applyOrder(e recovery.Event) {
	var d recovery.OrderData
	if json.Unmarshal(e.Data, &d) != nil {
		return
	}
	if s.Order == nil || e.Type == recovery.TypeOrderCreated && s.Order.Currency == "" {
		if e.Type == recovery.TypeOrderCreated {
			s.Order = &d
			return
		}
		s.Order = &recovery.OrderData{OrderID: s.OrderID}
	}
	var present map[string]json.RawMessage
	json.Unmarshal(e.Data, &present) //nolint:errcheck
	o := s.Order
	if _, ok := present["currency"]; ok {
		o.Currency = d.Currency
	}
	if _, ok := present["total_minor"]; ok {
		o.TotalMinor = d.TotalMinor
	}
	if _, ok := present["promised_delivery"]; ok {
		o.PromisedDelivery = d.PromisedDelivery
	}
	if _, ok := present["customer"]; ok {
		o.Customer = d.Customer
	}
	if _, ok := present["shipping_address"]; ok {
		o.ShippingAddress = d.ShippingAddress
	}
	if _, ok := present["lines"]; ok {
		o.Lines = d.Lines
	}
}

// allDelivered reports whether every known shipment was delivered (and
// there is at least one).
func (s *OrderState) allDelivered() bool {
	if len(s.Shipments) == 0 {
		return false
	}
	for _, sh := range s.Shipments {
		if !sh.Delivered {
			return false
		}
	}
	return true
}

// promise returns the promised delivery time, if known.
func (s *OrderState) promise() *time.Time {
	if s.Order == nil {
		return nil
	}
	return s.Order.PromisedDelivery
}

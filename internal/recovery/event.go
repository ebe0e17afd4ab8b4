package recovery

import (
	"encoding/json"
	"strings"
	"time"
)

// Event types accepted on the ingest API (DESIGN §4).
const (
	TypeOrderCreated     = "order.created"
	TypeOrderUpdated     = "order.updated"
	TypeOrderCancelled   = "order.cancelled"
	TypeShipmentCreated  = "shipment.created"
	TypeShipmentTracking = "shipment.tracking"
	TypeInventoryChanged = "inventory.changed"
	TypeCustomerUpdated  = "customer.updated"
	// TypeCustomerContacted: the customer wrote or called about an order
	// (a helpdesk reports it). A record for the insights (did we speak
	// first?); no workflow acts on it.
	TypeCustomerContacted = "customer.contacted"
)

// EventTypes lists every event type the engine understands.
var EventTypes = []string{
	TypeOrderCreated, TypeOrderUpdated, TypeOrderCancelled,
	TypeShipmentCreated, TypeShipmentTracking,
	TypeInventoryChanged, TypeCustomerUpdated, TypeCustomerContacted,
}

// ContactedData is the payload of customer.contacted.
type ContactedData struct {
	OrderID string `json:"order_id"`
	// Channel is how they reached out: email, phone, chat, sms, social,
	// other.
	Channel string `json:"channel,omitempty"`
	// Via names the helpdesk (zendesk, gorgias...), Ticket its ticket.
	Via    string `json:"via,omitempty"`
	Ticket string `json:"ticket,omitempty"`
}

// ContactChannels are customer.contacted's channels.
var ContactChannels = []string{"email", "phone", "chat", "sms", "social", "other"}

// Tracking statuses carried by shipment.tracking events.
const (
	StatusLabelCreated     = "label_created"
	StatusPickedUp         = "picked_up"
	StatusInTransit        = "in_transit"
	StatusOutForDelivery   = "out_for_delivery"
	StatusDelivered        = "delivered"
	StatusFailedAttempt    = "failed_attempt"
	StatusException        = "exception"
	StatusReturnedToSender = "returned_to_sender"
	StatusLost             = "lost"
)

// TrackingStatuses lists every tracking status the engine understands.
var TrackingStatuses = []string{
	StatusLabelCreated, StatusPickedUp, StatusInTransit, StatusOutForDelivery,
	StatusDelivered, StatusFailedAttempt, StatusException,
	StatusReturnedToSender, StatusLost,
}

// Canonical exception codes for shipment.tracking's exception_code. Adapters
// map each provider's vocabulary onto these; detectors also understand a few
// raw carrier spellings (see workflows.DetectMisroute).
const (
	ExceptionDamaged       = "damaged"         // parcel damaged in transit
	ExceptionAddress       = "address_problem" // incomplete, wrong or undeliverable address
	ExceptionCustoms       = "customs_hold"    // held by customs
	ExceptionWeather       = "weather"         // delayed by weather or a natural event
	ExceptionFailedAttempt = "failed_attempt"  // delivery attempted, nobody there
	ExceptionMisrouted     = "misrouted"       // sent the wrong way
	ExceptionDelayed       = "delayed"         // carrier-declared delay without a named cause
	ExceptionRefused       = "refused"         // the recipient refused the parcel
	ExceptionOther         = "other"           // an exception the carrier did not classify
)

// IncidentCode is the code a carrier_exception incident carries for the
// scan that opened it (the policy's incident.code): the carrier's
// exception code in lower case; without one, failed_attempt for a failed
// attempt and other for any other exception.
func IncidentCode(status, exceptionCode string) string {
	code := strings.ToLower(strings.TrimSpace(exceptionCode))
	switch {
	case code != "":
		return code
	case status == StatusFailedAttempt:
		return ExceptionFailedAttempt
	}
	return ExceptionOther
}

// ExceptionCodes lists the canonical exception codes.
var ExceptionCodes = []string{
	ExceptionDamaged, ExceptionAddress, ExceptionCustoms, ExceptionWeather,
	ExceptionFailedAttempt, ExceptionMisrouted, ExceptionDelayed, ExceptionRefused, ExceptionOther,
}

// Event is the canonical event envelope. Its attribute names follow
// CloudEvents so that the two forms map one to one. Data holds the
// type-specific payload, decoded with the Decode* functions.
type Event struct {
	ID      string          `json:"id"`
	Source  string          `json:"source"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Subject string          `json:"subject,omitempty"`
	Data    json.RawMessage `json:"data"`

	// OrderID is data.order_id when the parser already knows it, so the
	// store need not decode the payload again. It is not part of the wire
	// form; OrderID() falls back to the payload.
	OrderID string `json:"-"`
	// TraceParent is the W3C trace context of the request that brought
	// the event, stored with it so that the relay's signal continues that
	// trace. It is not part of the wire form, nor of what a workflow is
	// sent.
	TraceParent string `json:"-"`
}

// Order returns the order id the event names: OrderID when set, else the
// payload's order_id, else "".
func (e Event) Order() string {
	if e.OrderID != "" {
		return e.OrderID
	}
	return OrderIDOf(e.Data)
}

// Key returns the idempotency key of the event: its source and id.
func (e Event) Key() EventKey { return EventKey{Source: e.Source, ID: e.ID} }

// EventKey identifies an event across retries: the same (source, id) is the
// same event.
type EventKey struct {
	Source string
	ID     string
}

// Location is a place: a shipping address, a shipment origin or a scan.
type Location struct {
	Line1      string   `json:"line1,omitempty"`
	City       string   `json:"city,omitempty"`
	Region     string   `json:"region,omitempty"`
	PostalCode string   `json:"postal_code,omitempty"`
	Country    string   `json:"country"`
	Lat        *float64 `json:"lat,omitempty"`
	Lng        *float64 `json:"lng,omitempty"`
}

// Customer is the person an order belongs to and whom the engine contacts.
type Customer struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name,omitempty"`
	Email    string `json:"email,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Locale   string `json:"locale,omitempty"`
	TimeZone string `json:"time_zone,omitempty"`
}

// OrderLine is one product line of an order.
type OrderLine struct {
	SKU            string `json:"sku"`
	Name           string `json:"name,omitempty"`
	Category       string `json:"category,omitempty"`
	Quantity       int64  `json:"quantity"`
	UnitPriceMinor int64  `json:"unit_price_minor"`
}

// OrderData is the payload of order.created and order.updated.
type OrderData struct {
	OrderID          string      `json:"order_id"`
	Currency         string      `json:"currency"`
	TotalMinor       int64       `json:"total_minor"`
	PromisedDelivery *time.Time  `json:"promised_delivery,omitempty"`
	Customer         Customer    `json:"customer"`
	ShippingAddress  Location    `json:"shipping_address"`
	Lines            []OrderLine `json:"lines"`
}

// OrderRef is the payload of events that only name an order, such as
// order.cancelled.
type OrderRef struct {
	OrderID string `json:"order_id"`
	Reason  string `json:"reason,omitempty"`
}

// ShipmentLine is one product line packed into a shipment.
type ShipmentLine struct {
	SKU      string `json:"sku"`
	Quantity int64  `json:"quantity"`
}

// ShipmentData is the payload of shipment.created.
type ShipmentData struct {
	OrderID        string         `json:"order_id"`
	ShipmentID     string         `json:"shipment_id"`
	Carrier        string         `json:"carrier,omitempty"`
	Service        string         `json:"service,omitempty"` // the carrier's service level, e.g. express
	TrackingNumber string         `json:"tracking_number,omitempty"`
	Origin         *Location      `json:"origin,omitempty"`
	Lines          []ShipmentLine `json:"lines,omitempty"`
}

// TrackingData is the payload of shipment.tracking: one carrier scan.
type TrackingData struct {
	OrderID        string    `json:"order_id"`
	ShipmentID     string    `json:"shipment_id"`
	Carrier        string    `json:"carrier,omitempty"`
	TrackingNumber string    `json:"tracking_number,omitempty"`
	Status         string    `json:"status"`
	Location       *Location `json:"location,omitempty"`
	ExceptionCode  string    `json:"exception_code,omitempty"`
	Description    string    `json:"description,omitempty"`
	// EstimatedDelivery is when the carrier expects to deliver, as of this
	// scan (EasyPost's est_delivery_date, Shippo's eta, AfterShip's
	// expected delivery); when it moves past the promised time, the
	// customer is told before the promise passes.
	EstimatedDelivery *time.Time `json:"estimated_delivery,omitempty"`
}

// InventoryData is the payload of inventory.changed.
type InventoryData struct {
	OrderID   string `json:"order_id,omitempty"`
	SKU       string `json:"sku"`
	Available int64  `json:"available"`
}

// CustomerData is the payload of customer.updated.
type CustomerData struct {
	OrderID  string   `json:"order_id,omitempty"`
	Customer Customer `json:"customer"`
}

// orderIDOnly reads just the order id of any payload.
type orderIDOnly struct {
	OrderID string `json:"order_id"`
}

// OrderIDOf returns the order id an event's payload names, or "" if it names
// none or the payload is not a JSON object.
func OrderIDOf(data json.RawMessage) string {
	var v orderIDOnly
	if err := json.Unmarshal(data, &v); err != nil {
		return ""
	}
	return v.OrderID
}

// DeadEvent is an event the relay quarantined because it can never be
// delivered to its workflow, as ops see it: ids and the reason, not the
// payload.
type DeadEvent struct {
	Seq        int64     `json:"seq"`
	Source     string    `json:"source"`
	ID         string    `json:"id"`
	Type       string    `json:"type"`
	OrderID    string    `json:"order_id"`
	ReceivedAt time.Time `json:"received_at"`
	Attempts   int       `json:"attempts"`
	// ErrorKind names the failure in a word or two (e.g.
	// "invalid-argument"); Note says it in plain words.
	ErrorKind string    `json:"error_kind"`
	Note      string    `json:"note"`
	DeadAt    time.Time `json:"dead_at"`
}

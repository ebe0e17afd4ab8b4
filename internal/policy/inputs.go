package policy

import "time"

// The values a rule's condition sees. Field names in CEL are the cel tags:
// incident.kind, order.total_minor, customer.incidents_90d, shipment.carrier.

// Incident is what a condition knows of the incident.
type Incident struct {
	Kind          string `cel:"kind"`
	Reason        string `cel:"reason"`
	ShipmentID    string `cel:"shipment_id"`
	EvidenceCount int64  `cel:"evidence_count"`
	// Code is the carrier's exception code, for carrier_exception.
	Code string `cel:"code"`
}

// Order is what a condition knows of the order.
type Order struct {
	ID         string   `cel:"id"`
	Currency   string   `cel:"currency"`
	TotalMinor int64    `cel:"total_minor"`
	Country    string   `cel:"country"`
	LineCount  int64    `cel:"line_count"`
	Categories []string `cel:"categories"`
	SKUs       []string `cel:"skus"`
	// HoursLate is how far past the promise the order is (0 when not late
	// or no promise).
	HoursLate int64 `cel:"hours_late"`
}

// Customer is what a condition knows of the customer, including the
// history the guards use.
type Customer struct {
	ID     string `cel:"id"`
	Locale string `cel:"locale"`
	// Incidents90d counts the customer's incidents in the last 90 days,
	// this one excluded.
	Incidents90d int64 `cel:"incidents_90d"`
	// CompensatedMinor30d is what the customer was given in the last 30
	// days, in the order's currency's minor units.
	CompensatedMinor30d int64 `cel:"compensated_minor_30d"`
}

// Shipment is what a condition knows of the shipment (empty for
// order-level incidents).
type Shipment struct {
	ID        string `cel:"id"`
	Carrier   string `cel:"carrier"`
	Service   string `cel:"service"`
	Status    string `cel:"status"`
	Delivered bool   `cel:"delivered"`
}

// Inputs is everything a policy is evaluated over.
type Inputs struct {
	Incident Incident
	Order    Order
	Customer Customer
	Shipment Shipment
	// Now is when the decision is made (replay-safe: from the workflow).
	Now time.Time
}

package native

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// shopify maps Shopify's orders/create, orders/updated, orders/cancelled,
// fulfillments/create and fulfillments/update webhooks. Signature:
// X-Shopify-Hmac-Sha256 is the base64 HMAC-SHA256 of the raw body under the
// app's secret, which covers the body only: the X-Shopify-* headers are
// unsigned. So event ids come from the body (the object's id, the topic's
// word for it and its updated_at), which is the same on every retry of a
// delivery and which nobody can change without the secret; and an
// orders/cancelled needs the body's cancelled_at, so that a replayed
// orders/updated cannot be passed off as a cancellation.
type shopify struct{}

func (shopify) Name() string { return "shopify" }

func (shopify) Verify(r Request, secrets []string, _ time.Time) error {
	return verifyBase64(r.Header.Get("X-Shopify-Hmac-Sha256"), secrets, r.Body)
}

type shAddress struct {
	Address1    string   `json:"address1"`
	City        string   `json:"city"`
	Zip         string   `json:"zip"`
	Province    string   `json:"province_code"`
	CountryCode string   `json:"country_code"`
	Phone       string   `json:"phone"`
	Latitude    *float64 `json:"latitude"`
	Longitude   *float64 `json:"longitude"`
}

type shLine struct {
	SKU       string      `json:"sku"`
	Title     string      `json:"title"`
	Quantity  int64       `json:"quantity"`
	Price     string      `json:"price"`
	VariantID json.Number `json:"variant_id"`
}

type shOrder struct {
	ID             json.Number `json:"id"`
	Name           string      `json:"name"`
	Email          string      `json:"email"`
	Phone          string      `json:"phone"`
	Currency       string      `json:"currency"`
	TotalPrice     string      `json:"total_price"`
	CreatedAt      string      `json:"created_at"`
	UpdatedAt      string      `json:"updated_at"`
	CancelledAt    *string     `json:"cancelled_at"`
	CancelReason   string      `json:"cancel_reason"`
	CustomerLocale string      `json:"customer_locale"`
	Customer       *struct {
		ID        json.Number `json:"id"`
		Email     string      `json:"email"`
		Phone     string      `json:"phone"`
		FirstName string      `json:"first_name"`
		LastName  string      `json:"last_name"`
	} `json:"customer"`
	ShippingAddress *shAddress `json:"shipping_address"`
	LineItems       []shLine   `json:"line_items"`
}

type shFulfillment struct {
	ID              json.Number `json:"id"`
	OrderID         json.Number `json:"order_id"`
	Status          string      `json:"status"`
	ShipmentStatus  *string     `json:"shipment_status"`
	TrackingCompany string      `json:"tracking_company"`
	TrackingNumber  string      `json:"tracking_number"`
	TrackingNumbers []string    `json:"tracking_numbers"`
	CreatedAt       string      `json:"created_at"`
	UpdatedAt       string      `json:"updated_at"`
	Destination     *shAddress  `json:"destination"`
	LineItems       []shLine    `json:"line_items"`
}

// shStatus maps a fulfillment's shipment_status.
var shStatus = map[string][2]string{
	"label_printed":      {recovery.StatusLabelCreated, ""},
	"label_purchased":    {recovery.StatusLabelCreated, ""},
	"confirmed":          {recovery.StatusLabelCreated, ""},
	"in_transit":         {recovery.StatusInTransit, ""},
	"carrier_picked_up":  {recovery.StatusPickedUp, ""},
	"delayed":            {recovery.StatusException, recovery.ExceptionDelayed},
	"out_for_delivery":   {recovery.StatusOutForDelivery, ""},
	"ready_for_pickup":   {recovery.StatusOutForDelivery, ""},
	"attempted_delivery": {recovery.StatusFailedAttempt, recovery.ExceptionFailedAttempt},
	"delivered":          {recovery.StatusDelivered, ""},
	"picked_up":          {recovery.StatusDelivered, ""}, // collected by the customer
	"failure":            {recovery.StatusException, recovery.ExceptionOther},
}

var decimal = regexp.MustCompile(`^\d{1,15}(\.\d{1,6})?$`)

// minorUnits converts a decimal price string to integer minor units
// exactly; a value with more digits than the currency has is an error.
func minorUnits(price, currency string) (int64, error) {
	price = strings.TrimSpace(price)
	if !decimal.MatchString(price) {
		return 0, fmt.Errorf("not a decimal amount")
	}
	r, ok := new(big.Rat).SetString(price)
	if !ok {
		return 0, fmt.Errorf("not a decimal amount")
	}
	r.Mul(r, new(big.Rat).SetInt(new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(recovery.MinorDigits(currency))), nil)))
	if !r.IsInt() {
		return 0, fmt.Errorf("has more decimals than %s allows", currency)
	}
	return r.Num().Int64(), nil
}

var e164 = regexp.MustCompile(`^\+[1-9]\d{7,14}$`)

func (shopify) Map(r Request) ([]recovery.Event, error) {
	topic := r.Header.Get("X-Shopify-Topic")
	shop := strings.TrimSpace(r.Header.Get("X-Shopify-Shop-Domain"))
	switch topic {
	case "orders/create", "orders/updated", "orders/cancelled", "fulfillments/create", "fulfillments/update":
	default:
		return nil, ErrIgnored
	}
	if shop == "" || len(shop) > 150 || !printableASCII(shop) {
		return nil, malformed("X-Shopify-Shop-Domain is required")
	}
	source := "shopify/" + shop
	if strings.HasPrefix(topic, "orders/") {
		var o shOrder
		if err := json.Unmarshal(r.Body, &o); err != nil {
			return nil, malformed("the body is not a Shopify order")
		}
		return shopifyOrder(topic, source, o)
	}
	var f shFulfillment
	if err := json.Unmarshal(r.Body, &f); err != nil {
		return nil, malformed("the body is not a Shopify fulfillment")
	}
	return shopifyFulfillment(topic, source, f)
}

func shopifyOrder(topic, source string, o shOrder) ([]recovery.Event, error) {
	id := o.ID.String()
	if id == "" {
		return nil, malformed("id is required")
	}
	at, ok := parseTime(o.UpdatedAt)
	if !ok {
		if at, ok = parseTime(o.CreatedAt); !ok {
			return nil, malformed("updated_at or created_at is required")
		}
	}
	stamp := at.UTC().Format(time.RFC3339Nano)
	if topic == "orders/cancelled" {
		if o.CancelledAt == nil || *o.CancelledAt == "" {
			return nil, malformed("orders/cancelled without cancelled_at: the order is not cancelled")
		}
		return []recovery.Event{refEvent(shortID("orders", id, "cancelled", stamp), source, recovery.TypeOrderCancelled, id, at, o.CancelReason)}, nil
	}
	if o.ShippingAddress == nil || countryCode(o.ShippingAddress.CountryCode) == "" {
		return nil, ErrIgnored // nothing ships (digital goods, pickup): nothing to track
	}
	currency := strings.ToUpper(o.Currency)
	total, err := minorUnits(o.TotalPrice, currency)
	if err != nil {
		return nil, malformed("total_price %v", err)
	}
	d := recovery.OrderData{OrderID: id, Currency: currency, TotalMinor: total}
	d.Customer.Email, d.Customer.Phone, d.Customer.Locale = o.Email, o.Phone, o.CustomerLocale
	if c := o.Customer; c != nil {
		d.Customer.ID = c.ID.String()
		d.Customer.Name = strings.TrimSpace(c.FirstName + " " + c.LastName)
		if d.Customer.Email == "" {
			d.Customer.Email = c.Email
		}
		if d.Customer.Phone == "" {
			d.Customer.Phone = c.Phone
		}
	}
	if a := o.ShippingAddress; a != nil {
		d.ShippingAddress = recovery.Location{Line1: a.Address1, City: a.City, Region: a.Province,
			PostalCode: a.Zip, Country: strings.ToUpper(a.CountryCode), Lat: a.Latitude, Lng: a.Longitude}
		if d.Customer.Phone == "" {
			d.Customer.Phone = a.Phone
		}
	}
	d.Customer.Phone = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "").Replace(d.Customer.Phone)
	if !e164.MatchString(d.Customer.Phone) {
		d.Customer.Phone = "" // only E.164 numbers can be called; email remains
	}
	for i, l := range o.LineItems {
		price, err := minorUnits(l.Price, currency)
		if err != nil {
			return nil, malformed("line_items[%d].price %v", i, err)
		}
		d.Lines = append(d.Lines, recovery.OrderLine{SKU: lineSKU(l), Name: l.Title, Quantity: l.Quantity, UnitPriceMinor: price})
	}
	typ := recovery.TypeOrderCreated
	if topic == "orders/updated" {
		typ = recovery.TypeOrderUpdated
	}
	raw, _ := json.Marshal(d)
	out := []recovery.Event{{ID: shortID("orders", id, strings.TrimPrefix(topic, "orders/"), stamp), Source: source, Type: typ,
		Time: at.UTC(), Subject: "order/" + id, Data: raw, OrderID: id}}
	if topic == "orders/updated" && o.CancelledAt != nil && *o.CancelledAt != "" {
		out = append(out, refEvent(shortID("orders", id, "cancelled", stamp), source, recovery.TypeOrderCancelled, id, at, o.CancelReason))
	}
	return out, nil
}

func refEvent(id, source, typ, orderID string, at time.Time, reason string) recovery.Event {
	raw, _ := json.Marshal(recovery.OrderRef{OrderID: orderID, Reason: reason})
	return recovery.Event{ID: id, Source: source, Type: typ, Time: at.UTC(), Subject: "order/" + orderID, Data: raw, OrderID: orderID}
}

// lineSKU is the line's SKU, or its variant when the shop keeps no SKUs.
func lineSKU(l shLine) string {
	if s := strings.TrimSpace(l.SKU); s != "" {
		return s
	}
	if v := l.VariantID.String(); v != "" {
		return "variant-" + v
	}
	return "untitled"
}

func shopifyFulfillment(topic, source string, f shFulfillment) ([]recovery.Event, error) {
	orderID, shipmentID := f.OrderID.String(), f.ID.String()
	if orderID == "" || shipmentID == "" {
		return nil, malformed("id and order_id are required")
	}
	at, ok := parseTime(f.UpdatedAt)
	if !ok {
		if at, ok = parseTime(f.CreatedAt); !ok {
			return nil, malformed("updated_at or created_at is required")
		}
	}
	tracking := f.TrackingNumber
	if tracking == "" && len(f.TrackingNumbers) > 0 {
		tracking = f.TrackingNumbers[0]
	}
	carrier := strings.ToLower(strings.TrimSpace(f.TrackingCompany))
	var out []recovery.Event
	if topic == "fulfillments/create" {
		d := recovery.ShipmentData{OrderID: orderID, ShipmentID: shipmentID, Carrier: carrier, TrackingNumber: tracking}
		for _, l := range f.LineItems {
			d.Lines = append(d.Lines, recovery.ShipmentLine{SKU: lineSKU(l), Quantity: l.Quantity})
		}
		raw, _ := json.Marshal(d)
		out = append(out, recovery.Event{ID: shortID("fulfillments", shipmentID, "create"), Source: source,
			Type: recovery.TypeShipmentCreated, Time: at.UTC(),
			Subject: "order/" + orderID, Data: raw, OrderID: orderID})
	}
	if f.ShipmentStatus != nil && f.Destination != nil {
		if m, ok := shStatus[*f.ShipmentStatus]; ok {
			// Shopify reports no scan location; the destination places
			// the statuses that happen there, and stands in for the others
			// (it can never make a parcel look misrouted).
			dest := f.Destination
			d := recovery.TrackingData{OrderID: orderID, ShipmentID: shipmentID, Carrier: carrier, TrackingNumber: tracking,
				Status: m[0], ExceptionCode: m[1], Description: "shopify shipment_status " + *f.ShipmentStatus,
				Location: &recovery.Location{City: dest.City, Region: dest.Province, PostalCode: dest.Zip,
					Country: strings.ToUpper(dest.CountryCode)}}
			raw, _ := json.Marshal(d)
			out = append(out, recovery.Event{ID: shortID("fulfillments", shipmentID, *f.ShipmentStatus, at.UTC().Format(time.RFC3339Nano)), Source: source,
				Type: recovery.TypeShipmentTracking, Time: at.UTC(), Subject: "order/" + orderID, Data: raw, OrderID: orderID})
		}
	}
	if len(out) == 0 {
		return nil, ErrIgnored
	}
	return out, nil
}

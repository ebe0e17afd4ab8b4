package native

import (
	"cmp"
	"encoding/json"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// afterShip maps AfterShip tracking webhooks (tracking_update). Signature:
// aftership-hmac-sha256 is the base64 HMAC-SHA256 of the raw body under the
// webhook secret.
type afterShip struct{}

func (afterShip) Name() string { return "aftership" }

func (afterShip) Verify(r Request, secrets []string, _ time.Time) error {
	return verifyBase64(r.Header.Get("aftership-hmac-sha256"), secrets, r.Body)
}

type asCheckpoint struct {
	CheckpointTime string    `json:"checkpoint_time"`
	Tag            string    `json:"tag"`
	Subtag         string    `json:"subtag"`
	Message        string    `json:"message"`
	City           string    `json:"city"`
	State          string    `json:"state"`
	Zip            string    `json:"zip"`
	CountryISO3    string    `json:"country_iso3"`
	CountryRegion  string    `json:"country_region"`
	Coordinates    []float64 `json:"coordinates"`
}

type asWebhook struct {
	Event string `json:"event"`
	Msg   struct {
		ID             string         `json:"id"`
		TrackingNumber string         `json:"tracking_number"`
		Slug           string         `json:"slug"`
		Tag            string         `json:"tag"`
		Subtag         string         `json:"subtag"`
		SubtagMessage  string         `json:"subtag_message"`
		OrderID        string         `json:"order_id"`
		UpdatedAt      string         `json:"updated_at"`
		Checkpoints    []asCheckpoint `json:"checkpoints"`
		// The estimates: the latest (the v4 API's), the carrier's,
		// AfterShip's, and the older expected_delivery; the first given
		// counts.
		LatestEstimate *struct {
			Datetime    string `json:"datetime"`
			DatetimeMax string `json:"datetime_max"`
		} `json:"latest_estimated_delivery"`
		CourierEstimate   *asEstimate `json:"courier_estimated_delivery_date"`
		AfterShipEstimate *asEstimate `json:"aftership_estimated_delivery_date"`
		ExpectedDelivery  string      `json:"expected_delivery"`
	} `json:"msg"`
}

type asEstimate struct {
	EstimatedDeliveryDate string `json:"estimated_delivery_date"`
}

// date is the estimate's date ("" for none).
func (e *asEstimate) date() string {
	if e == nil {
		return ""
	}
	return e.EstimatedDeliveryDate
}

// asTag maps AfterShip's main tags.
var asTag = map[string]string{
	"Pending": recovery.StatusLabelCreated, "InfoReceived": recovery.StatusLabelCreated,
	"InTransit": recovery.StatusInTransit, "OutForDelivery": recovery.StatusOutForDelivery,
	"AvailableForPickup": recovery.StatusOutForDelivery, "AttemptFail": recovery.StatusFailedAttempt,
	"Delivered": recovery.StatusDelivered, "Exception": recovery.StatusException, "Expired": recovery.StatusException,
}

// asSubtag maps the subtags that say more than their tag (AfterShip's
// documented list).
var asSubtag = map[string][2]string{
	"Exception_001": {recovery.StatusException, recovery.ExceptionOther},   // exception, unspecified
	"Exception_002": {recovery.StatusException, recovery.ExceptionAddress}, // customer moved
	"Exception_003": {recovery.StatusException, recovery.ExceptionRefused}, // customer refused delivery
	"Exception_004": {recovery.StatusException, recovery.ExceptionCustoms}, // delayed: customs clearance
	"Exception_005": {recovery.StatusException, recovery.ExceptionDelayed}, // delayed: external factors
	"Exception_006": {recovery.StatusException, recovery.ExceptionCustoms}, // held for payment
	"Exception_007": {recovery.StatusException, recovery.ExceptionAddress}, // incorrect address
	"Exception_008": {recovery.StatusException, recovery.ExceptionOther},   // pick up missed
	"Exception_009": {recovery.StatusException, recovery.ExceptionOther},   // rejected by carrier
	"Exception_010": {recovery.StatusReturnedToSender, ""},                 // returning to sender
	"Exception_011": {recovery.StatusReturnedToSender, ""},                 // returned to sender
	"Exception_012": {recovery.StatusException, recovery.ExceptionDamaged}, // shipment damaged
	"Exception_013": {recovery.StatusLost, ""},                             // shipment lost
	"Exception_017": {recovery.StatusException, recovery.ExceptionWeather}, // delayed: weather or natural disaster
	"Exception_018": {recovery.StatusException, recovery.ExceptionCustoms}, // held at customs
	"Exception_021": {recovery.StatusLost, ""},                             // lost (newer code)
	"InTransit_002": {recovery.StatusPickedUp, ""},                         // acceptance scan: the carrier has it
}

func asMap(tag, subtag string) (string, string) {
	// A subtag counts only under its own tag.
	if m, ok := asSubtag[subtag]; ok && strings.HasPrefix(subtag, tag+"_") {
		return m[0], m[1]
	}
	st := asTag[tag]
	switch st {
	case recovery.StatusFailedAttempt:
		return st, recovery.ExceptionFailedAttempt
	case recovery.StatusException:
		return st, recovery.ExceptionOther
	}
	return st, ""
}

func (afterShip) Map(r Request) ([]recovery.Event, error) {
	var w asWebhook
	if err := json.Unmarshal(r.Body, &w); err != nil {
		return nil, malformed("the body is not an AfterShip webhook")
	}
	if w.Event != "tracking_update" {
		return nil, ErrIgnored
	}
	m := w.Msg
	if m.ID == "" || m.TrackingNumber == "" {
		return nil, malformed("msg.id and msg.tracking_number are required")
	}
	orderID := strings.TrimSpace(m.OrderID)
	if len(orderID) > 200 || !printableASCII(orderID) {
		orderID = ""
	}
	var scans []scan
	for _, cp := range m.Checkpoints {
		at, ok := parseTime(cp.CheckpointTime)
		status, code := asMap(cp.Tag, cp.Subtag)
		if !ok || status == "" {
			continue
		}
		country := cp.CountryISO3
		if country == "" {
			country = cp.CountryRegion
		}
		var lat, lng *float64
		if len(cp.Coordinates) == 2 {
			lat, lng = &cp.Coordinates[0], &cp.Coordinates[1]
		}
		scans = append(scans, scan{id: "aftership/" + m.ID + "/" + at.UTC().Format(time.RFC3339) + "/" + cp.Subtag,
			source: "aftership", carrier: m.Slug, tracking: m.TrackingNumber, orderID: orderID, at: at,
			status: status, code: code, description: strings.TrimSpace(cp.Subtag + ": " + cp.Message),
			loc: location(cp.City, cp.State, cp.Zip, country, lat, lng)})
	}
	latest := ""
	if e := m.LatestEstimate; e != nil {
		latest = cmp.Or(e.Datetime, e.DatetimeMax) // a window: its end
	}
	out := events(scans, cmp.Or(latest, m.CourierEstimate.date(), m.AfterShipEstimate.date(), m.ExpectedDelivery))
	if len(out) == 0 { // no checkpoint that can be placed: nothing to map
		return nil, ErrIgnored
	}
	return out, nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

package native

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// easyPost maps EasyPost tracker events (tracker.created, tracker.updated).
// Signature: X-Hmac-Signature is "hmac-sha256-hex=" and the hex HMAC-SHA256
// of the raw body, keyed with the webhook secret in Unicode NFKD form (as
// EasyPost's client libraries compute it).
type easyPost struct{}

func (easyPost) Name() string { return "easypost" }

func (easyPost) Verify(r Request, secrets []string, _ time.Time) error {
	given, ok := strings.CutPrefix(r.Header.Get("X-Hmac-Signature"), "hmac-sha256-hex=")
	if !ok {
		return fmt.Errorf("%w: X-Hmac-Signature missing or not hmac-sha256-hex", ErrSignature)
	}
	return verifyHex(given, secrets, func(s string) string { return norm.NFKD.String(s) }, r.Body)
}

type epEvent struct {
	ID          string `json:"id"`
	Object      string `json:"object"`
	Description string `json:"description"`
	Result      struct {
		ID              string `json:"id"`
		Object          string `json:"object"`
		TrackingCode    string `json:"tracking_code"`
		Carrier         string `json:"carrier"`
		EstDeliveryDate string `json:"est_delivery_date"`
		TrackingDetails []struct {
			Message          string `json:"message"`
			Status           string `json:"status"`
			StatusDetail     string `json:"status_detail"`
			Datetime         string `json:"datetime"`
			TrackingLocation struct {
				City    string `json:"city"`
				State   string `json:"state"`
				Country string `json:"country"`
				Zip     string `json:"zip"`
			} `json:"tracking_location"`
		} `json:"tracking_details"`
	} `json:"result"`
}

// epStatus maps EasyPost's status onto ours.
var epStatus = map[string]string{
	"pre_transit": recovery.StatusLabelCreated, "in_transit": recovery.StatusInTransit,
	"out_for_delivery": recovery.StatusOutForDelivery, "available_for_pickup": recovery.StatusOutForDelivery,
	"delivered": recovery.StatusDelivered, "return_to_sender": recovery.StatusReturnedToSender,
	"failure": recovery.StatusException, "error": recovery.StatusException, "cancelled": recovery.StatusException,
}

// epDetail maps status_detail values that say more than the status.
var epDetail = map[string][2]string{
	"damaged":            {recovery.StatusException, recovery.ExceptionDamaged},
	"delayed":            {recovery.StatusException, recovery.ExceptionDelayed},
	"weather_delay":      {recovery.StatusException, recovery.ExceptionWeather},
	"address_correction": {recovery.StatusException, recovery.ExceptionAddress},
	"missorted":          {recovery.StatusException, recovery.ExceptionMisrouted},
	"refused":            {recovery.StatusException, recovery.ExceptionRefused},
	"held":               {recovery.StatusException, recovery.ExceptionOther},
	"delivery_exception": {recovery.StatusFailedAttempt, recovery.ExceptionFailedAttempt},
	"transit_exception":  {recovery.StatusException, recovery.ExceptionOther},
	"expired":            {recovery.StatusException, recovery.ExceptionOther},
	"lost":               {recovery.StatusLost, ""},
	"return":             {recovery.StatusReturnedToSender, ""},
}

// epEvent maps one status and detail; "" when there is nothing to say
// (unknown statuses are not news).
func epMap(status, detail string) (string, string) {
	if d, ok := epDetail[detail]; ok {
		return d[0], d[1]
	}
	st := epStatus[status]
	if st == recovery.StatusException {
		return st, recovery.ExceptionOther
	}
	return st, ""
}

func (easyPost) Map(r Request) ([]recovery.Event, error) {
	var ev epEvent
	if err := json.Unmarshal(r.Body, &ev); err != nil {
		return nil, malformed("the body is not an EasyPost event")
	}
	if ev.Object != "Event" || !strings.HasPrefix(ev.Description, "tracker.") || ev.Result.Object != "Tracker" {
		return nil, ErrIgnored
	}
	t := ev.Result
	if t.ID == "" || t.TrackingCode == "" {
		return nil, malformed("result.id and result.tracking_code are required")
	}
	var scans []scan
	for _, d := range t.TrackingDetails {
		at, ok := parseTime(d.Datetime)
		status, code := epMap(d.Status, d.StatusDetail)
		if !ok || status == "" {
			continue
		}
		l := d.TrackingLocation
		desc := d.Message
		if d.StatusDetail != "" {
			desc = d.StatusDetail + ": " + desc
		}
		scans = append(scans, scan{id: "easypost/" + t.ID + "/" + at.UTC().Format(time.RFC3339) + "/" + d.Status + "/" + d.StatusDetail,
			source: "easypost", carrier: t.Carrier, tracking: t.TrackingCode, at: at, status: status, code: code,
			description: desc, loc: location(l.City, l.State, l.Zip, l.Country, nil, nil)})
	}
	out := events(scans, t.EstDeliveryDate)
	if len(out) == 0 {
		return nil, ErrIgnored
	}
	return out, nil
}

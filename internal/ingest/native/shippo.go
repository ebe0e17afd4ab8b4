package native

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// shippo maps Shippo track_updated webhooks. Shippo documents three ways to
// secure a webhook; two are checked here against the configured secrets:
// a self-generated token in the URL query (?token=...), compared in
// constant time, and HMAC: a Shippo-Auth-Signature header "t=<unix>,v1=<hex
// HMAC-SHA256 of t + "." + body>" within five minutes of now. (The IP
// allowlist, the third, belongs to the network edge.)
type shippo struct{}

func (shippo) Name() string { return "shippo" }

const shippoTolerance = 5 * time.Minute

func (shippo) Verify(r Request, secrets []string, now time.Time) error {
	if sig := r.Header.Get("Shippo-Auth-Signature"); sig != "" {
		var ts, v1 string
		for part := range strings.SplitSeq(sig, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
			switch k {
			case "t":
				ts = v
			case "v1":
				v1 = v
			}
		}
		sec, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || v1 == "" {
			return fmt.Errorf("%w: Shippo-Auth-Signature must be t=<unix>,v1=<hex>", ErrSignature)
		}
		if d := now.Sub(time.Unix(sec, 0)); d > shippoTolerance || d < -shippoTolerance {
			return fmt.Errorf("%w: signature timestamp is more than five minutes off", ErrSignature)
		}
		return verifyHex(v1, secrets, func(s string) string { return s }, []byte(ts), []byte("."), r.Body)
	}
	if tok := r.Query.Get("token"); tok != "" {
		if equalToken(tok, secrets) {
			return nil
		}
		return fmt.Errorf("%w: token does not match", ErrSignature)
	}
	return fmt.Errorf("%w: neither Shippo-Auth-Signature nor ?token= present", ErrSignature)
}

type shippoStatus struct {
	Status        string `json:"status"`
	StatusDetails string `json:"status_details"`
	StatusDate    string `json:"status_date"`
	ObjectID      string `json:"object_id"`
	Substatus     *struct {
		Code string `json:"code"`
		Text string `json:"text"`
	} `json:"substatus"`
	Location *struct {
		City    string `json:"city"`
		State   string `json:"state"`
		Zip     string `json:"zip"`
		Country string `json:"country"`
	} `json:"location"`
}

type shippoWebhook struct {
	Event string `json:"event"`
	Data  struct {
		Carrier         string         `json:"carrier"`
		TrackingNumber  string         `json:"tracking_number"`
		Metadata        string         `json:"metadata"`
		ETA             string         `json:"eta"`
		TrackingStatus  shippoStatus   `json:"tracking_status"`
		TrackingHistory []shippoStatus `json:"tracking_history"`
	} `json:"data"`
}

var shippoMain = map[string]string{
	"PRE_TRANSIT": recovery.StatusLabelCreated, "TRANSIT": recovery.StatusInTransit,
	"DELIVERED": recovery.StatusDelivered, "RETURNED": recovery.StatusReturnedToSender,
	"FAILURE": recovery.StatusException,
}

// shippoSub maps the substatus codes that say more than their status,
// under the status Shippo documents each with: a code only refines its
// own status (a DELIVERED scan with a pre-transit code is a delivery).
var shippoSub = map[string]map[string][2]string{
	"PRE_TRANSIT": {"information_received": {recovery.StatusLabelCreated, ""}},
	"TRANSIT": {
		"address_issue":         {recovery.StatusException, recovery.ExceptionAddress},
		"package_damaged":       {recovery.StatusException, recovery.ExceptionDamaged},
		"delivery_attempted":    {recovery.StatusFailedAttempt, recovery.ExceptionFailedAttempt},
		"location_inaccessible": {recovery.StatusFailedAttempt, recovery.ExceptionFailedAttempt},
		"notice_left":           {recovery.StatusFailedAttempt, recovery.ExceptionFailedAttempt},
		"delayed":               {recovery.StatusException, recovery.ExceptionDelayed},
		"package_held":          {recovery.StatusException, recovery.ExceptionCustoms},
		"contact_carrier":       {recovery.StatusException, recovery.ExceptionOther},
		"out_for_delivery":      {recovery.StatusOutForDelivery, ""},
		"pickup_available":      {recovery.StatusOutForDelivery, ""},
	},
	"RETURNED": {
		"return_to_sender":  {recovery.StatusReturnedToSender, ""},
		"package_unclaimed": {recovery.StatusReturnedToSender, ""},
	},
	"FAILURE": {
		"package_undeliverable": {recovery.StatusException, recovery.ExceptionAddress},
		"package_lost":          {recovery.StatusLost, ""},
		"package_disposed":      {recovery.StatusLost, ""},
	},
}

// shippoMap returns the canonical status, exception code and Shippo's
// substatus code of a tracking status. The status decides; a substatus
// documented under it refines it.
func shippoMap(s shippoStatus) (string, string, string) {
	code := ""
	if s.Substatus != nil {
		code = s.Substatus.Code
		if m, ok := shippoSub[s.Status][code]; ok {
			return m[0], m[1], code
		}
	}
	st := shippoMain[s.Status]
	if st == recovery.StatusException {
		return st, recovery.ExceptionOther, code
	}
	return st, "", code
}

// orderMention reads our order id from free text that says so (Shippo's
// metadata, a ticket's subject): "order:1001", "Order 1001",
// "order_id=1001", "Order #1001".
var orderMention = regexp.MustCompile(`(?i)\border(?:_id)?\s*[:#= ]\s*#?([A-Za-z0-9._/-]{1,200})`)

func (shippo) Map(r Request) ([]recovery.Event, error) {
	var w shippoWebhook
	if err := json.Unmarshal(r.Body, &w); err != nil {
		return nil, malformed("the body is not a Shippo webhook")
	}
	if w.Event != "track_updated" {
		return nil, ErrIgnored
	}
	d := w.Data
	if d.TrackingNumber == "" {
		return nil, malformed("data.tracking_number is required")
	}
	orderID := ""
	if m := orderMention.FindStringSubmatch(d.Metadata); m != nil {
		orderID = m[1]
	}
	seen := map[string]bool{}
	var scans []scan
	for _, s := range append(d.TrackingHistory, d.TrackingStatus) {
		at, ok := parseTime(s.StatusDate)
		status, code, sub := shippoMap(s)
		if !ok || status == "" {
			continue
		}
		key := s.ObjectID
		if key == "" {
			key = at.UTC().Format(time.RFC3339) + "/" + s.Status + "/" + sub
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		var loc *recovery.Location
		if s.Location != nil {
			loc = location(s.Location.City, s.Location.State, s.Location.Zip, s.Location.Country, nil, nil)
		}
		desc := s.StatusDetails
		if sub != "" {
			desc = sub + ": " + desc
		}
		scans = append(scans, scan{id: "shippo/" + d.Carrier + "/" + d.TrackingNumber + "/" + key, source: "shippo",
			carrier: d.Carrier, tracking: d.TrackingNumber, orderID: orderID, at: at, status: status, code: code,
			description: desc, loc: loc})
	}
	out := events(scans, d.ETA)
	if len(out) == 0 {
		return nil, ErrIgnored
	}
	return out, nil
}

// Package native maps the native webhook payloads of shipping and commerce
// providers (EasyPost, Shippo, AfterShip, Shopify) and helpdesks (Zendesk,
// Gorgias) onto canonical events,
// and verifies each provider's own signature scheme. It is pure: no I/O.
package native

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/ingest"
	"github.com/recoveryhq/recovery/internal/recovery"
)

// ErrSignature is wrapped by every verification failure: missing,
// malformed, wrong or stale.
var ErrSignature = errors.New("signature not valid")

// ErrIgnored says a verified payload carries nothing the engine maps (an
// unrelated topic); it is acknowledged and dropped.
var ErrIgnored = errors.New("nothing to map")

// MalformedError says a payload cannot be mapped, in words that name the
// field and never echo its content.
type MalformedError struct{ Msg string }

func (e *MalformedError) Error() string { return e.Msg }

func malformed(format string, args ...any) error {
	return &MalformedError{Msg: fmt.Sprintf(format, args...)}
}

// Request is what a provider needs of an HTTP request.
type Request struct {
	Header http.Header
	Query  url.Values
	Body   []byte
}

// Provider is one integration.
type Provider interface {
	Name() string
	// Verify checks the request against any of the secrets (one, or two
	// during rotation) in constant time; now bounds timestamped schemes.
	Verify(r Request, secrets []string, now time.Time) error
	// Map turns a verified request into canonical events. Carrier events
	// that do not name our order carry the tracking number and an empty
	// order id for the caller to resolve.
	Map(r Request) ([]recovery.Event, error)
}

var registry = map[string]Provider{}

func register(p Provider) { registry[p.Name()] = p }

func init() {
	register(checked{easyPost{}})
	register(checked{shippo{}})
	register(checked{afterShip{}})
	register(checked{shopify{}})
	register(checked{zendesk{}})
	register(checked{gorgias{}})
}

// checked holds every mapped event to the canonical schema, so that a
// provider payload the engine cannot use is refused by name rather than
// stored. Carrier events without an order are checked as they will be once
// their tracking number names one.
type checked struct{ Provider }

func (c checked) Map(r Request) ([]recovery.Event, error) {
	evs, err := c.Provider.Map(r)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		probe := e
		if probe.Order() == "" {
			var m map[string]any
			if json.Unmarshal(e.Data, &m) != nil {
				return nil, malformed("the payload maps to an unreadable event")
			}
			m["order_id"] = "unresolved"
			probe.Data, _ = json.Marshal(m)
		}
		if errs := ingest.Validate(probe); len(errs) > 0 {
			return nil, malformed("the payload maps to an event whose %s %s", errs[0].Field, errs[0].Message)
		}
	}
	return evs, nil
}

// Lookup returns the provider of that name.
func Lookup(name string) (Provider, bool) {
	p, ok := registry[name]
	return p, ok
}

// Names lists the providers.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// hmacSHA256 is the MAC of body under key.
func hmacSHA256(key string, parts ...[]byte) []byte {
	m := hmac.New(sha256.New, []byte(key))
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// verifyBase64 checks a base64 HMAC-SHA256 of the body (Shopify, AfterShip).
func verifyBase64(given string, secrets []string, parts ...[]byte) error {
	if given == "" {
		return fmt.Errorf("%w: signature header missing", ErrSignature)
	}
	mac, err := base64.StdEncoding.DecodeString(strings.TrimSpace(given))
	if err != nil {
		return fmt.Errorf("%w: signature is not base64", ErrSignature)
	}
	for _, s := range secrets {
		if s != "" && hmac.Equal(mac, hmacSHA256(s, parts...)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no secret matches", ErrSignature)
}

// verifyHex checks a hex HMAC-SHA256 over parts.
func verifyHex(given string, secrets []string, keyOf func(string) string, parts ...[]byte) error {
	mac, err := hex.DecodeString(strings.TrimSpace(given))
	if err != nil || len(mac) == 0 {
		return fmt.Errorf("%w: signature is not hex", ErrSignature)
	}
	for _, s := range secrets {
		if s != "" && hmac.Equal(mac, hmacSHA256(keyOf(s), parts...)) {
			return nil
		}
	}
	return fmt.Errorf("%w: no secret matches", ErrSignature)
}

// equalToken compares a shared token in constant time.
func equalToken(given string, secrets []string) bool {
	ok := false
	for _, s := range secrets {
		if s != "" && subtle.ConstantTimeCompare([]byte(given), []byte(s)) == 1 {
			ok = true
		}
	}
	return ok
}

// shortID keeps an event id within 200 printable characters.
func shortID(parts ...string) string {
	id := strings.Join(parts, "/")
	if len(id) <= 200 {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return id[:100] + "~" + hex.EncodeToString(sum[:16])
}

// scan is one carrier scan, before it becomes an event.
type scan struct {
	id, source, carrier, tracking, orderID string
	at                                     time.Time
	status, code, description              string
	loc                                    *recovery.Location
	// estimate is the carrier's estimated delivery, on the latest scan of
	// a webhook that carries one.
	estimate *time.Time
}

// event builds a canonical shipment.tracking event; ok is false when the
// scan has no country to place it (the canonical schema requires one).
func (s scan) event() (recovery.Event, bool) {
	if !s.placeable() {
		return recovery.Event{}, false
	}
	shipmentID := s.tracking
	d := recovery.TrackingData{OrderID: s.orderID, ShipmentID: shipmentID, Carrier: strings.ToLower(s.carrier),
		TrackingNumber: s.tracking, Status: s.status, Location: s.loc, ExceptionCode: s.code,
		Description: truncate(s.description, 500), EstimatedDelivery: s.estimate}
	id := s.id
	if s.estimate != nil {
		// The same scan with a new estimate is news: its own event.
		id += "/eta=" + s.estimate.UTC().Format(time.RFC3339)
	}
	raw, _ := json.Marshal(d)
	e := recovery.Event{ID: shortID(id), Source: s.source, Type: recovery.TypeShipmentTracking, Time: s.at.UTC(),
		Data: raw, OrderID: s.orderID}
	if s.orderID != "" {
		e.Subject = "order/" + s.orderID
	}
	return e, true
}

func truncate(s string, n int) string {
	s = strings.ToValidUTF8(strings.ReplaceAll(s, "\x00", ""), "")
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8Start(s[cut]) {
		cut--
	}
	return s[:cut]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// location builds a scan location from provider fields; the country may be
// alpha-2 or alpha-3.
func location(city, region, postal, country string, lat, lng *float64) *recovery.Location {
	cc := countryCode(country)
	if cc == "" {
		return nil
	}
	return &recovery.Location{City: truncate(strings.TrimSpace(city), 200), Region: truncate(strings.TrimSpace(region), 100),
		PostalCode: truncate(strings.TrimSpace(postal), 20), Country: cc, Lat: lat, Lng: lng}
}

// placeable reports whether the scan can become an event: it has a time,
// a status and a country.
func (s scan) placeable() bool {
	return s.loc != nil && s.loc.Country != "" && !s.at.IsZero() && s.status != ""
}

// events builds the events of a webhook's scans, the carrier's estimated
// delivery (when it gives one) on the latest of them; scans that cannot be
// placed are left out.
func events(scans []scan, estimate string) []recovery.Event {
	latest := -1
	for i, s := range scans {
		if s.placeable() && (latest < 0 || !s.at.Before(scans[latest].at)) {
			latest = i
		}
	}
	if t, ok := parseTime(estimate); ok && latest >= 0 {
		t = t.UTC()
		scans[latest].estimate = &t
	}
	var out []recovery.Event
	for _, s := range scans {
		if e, ok := s.event(); ok {
			out = append(out, e)
		}
	}
	return out
}

// parseTime accepts the timestamp shapes providers send.
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04:05-0700", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

package recovery

import (
	"fmt"
	"strings"
	"time"
)

// ContactWindow is when a recipient may be contacted: from Start to End
// (minutes after local midnight) in Zone (an IANA name). The zero window
// allows any time.
type ContactWindow struct {
	Zone     string `json:"zone,omitempty"`
	StartMin int    `json:"start_min,omitempty"`
	EndMin   int    `json:"end_min,omitempty"`
}

// DefaultWindow is 08:00 to 21:00.
var DefaultWindow = ContactWindow{StartMin: 8 * 60, EndMin: 21 * 60}

// ParseWindow reads "08:00-21:00".
func ParseWindow(s string) (ContactWindow, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	var w ContactWindow
	var h1, m1, h2, m2 int
	if ok {
		_, err1 := fmt.Sscanf(strings.TrimSpace(from), "%d:%d", &h1, &m1)
		_, err2 := fmt.Sscanf(strings.TrimSpace(to), "%d:%d", &h2, &m2)
		ok = err1 == nil && err2 == nil
	}
	w.StartMin, w.EndMin = h1*60+m1, h2*60+m2
	if !ok || m1 > 59 || m2 > 59 || w.StartMin < 0 || w.EndMin > 24*60 || w.StartMin >= w.EndMin {
		return ContactWindow{}, fmt.Errorf("%q is not a window such as 08:00-21:00", s)
	}
	return w, nil
}

// NextOpen returns the first instant at or after t inside the window, in
// loc. A zero window is always open.
func (w ContactWindow) NextOpen(t time.Time, loc *time.Location) time.Time {
	if w.EndMin == 0 {
		return t
	}
	local := t.In(loc)
	midnight := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, loc)
	at := func(day time.Time, min int) time.Time {
		return time.Date(day.Year(), day.Month(), day.Day(), min/60, min%60, 0, 0, loc)
	}
	start, end := at(midnight, w.StartMin), at(midnight, w.EndMin)
	switch {
	case local.Before(start):
		return start
	case local.Before(end):
		return t
	default:
		return at(midnight.AddDate(0, 0, 1), w.StartMin)
	}
}

// countryZones names the zone of countries that have one (or one most
// people live in), for recipients without their own time zone.
var countryZones = map[string]string{
	"DE": "Europe/Berlin", "AT": "Europe/Vienna", "CH": "Europe/Zurich", "FR": "Europe/Paris", "ES": "Europe/Madrid",
	"IT": "Europe/Rome", "NL": "Europe/Amsterdam", "BE": "Europe/Brussels", "LU": "Europe/Luxembourg",
	"PL": "Europe/Warsaw", "CZ": "Europe/Prague", "DK": "Europe/Copenhagen", "SE": "Europe/Stockholm",
	"NO": "Europe/Oslo", "FI": "Europe/Helsinki", "IE": "Europe/Dublin", "GB": "Europe/London",
	"PT": "Europe/Lisbon", "GR": "Europe/Athens", "HU": "Europe/Budapest", "RO": "Europe/Bucharest",
	"JP": "Asia/Tokyo", "KR": "Asia/Seoul", "SG": "Asia/Singapore", "IN": "Asia/Kolkata", "NZ": "Pacific/Auckland",
	"US": "America/New_York", "CA": "America/Toronto", "MX": "America/Mexico_City", "BR": "America/Sao_Paulo",
	"AU": "Australia/Sydney",
}

// RecipientZone is the customer's time zone, else the shipping country's,
// else UTC.
func RecipientZone(c Customer, shipTo Location) string {
	if c.TimeZone != "" {
		if _, err := time.LoadLocation(c.TimeZone); err == nil {
			return c.TimeZone
		}
	}
	if z, ok := countryZones[strings.ToUpper(shipTo.Country)]; ok {
		return z
	}
	return "UTC"
}

// Location is the window's zone (UTC when unknown).
func (w ContactWindow) Location() *time.Location {
	if w.Zone == "" {
		return time.UTC
	}
	loc, err := time.LoadLocation(w.Zone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// Open reports whether t falls inside the window.
func (w ContactWindow) Open(t time.Time) bool {
	return w.NextOpen(t, w.Location()).Equal(t)
}

// Next is NextOpen in the window's own zone.
func (w ContactWindow) Next(t time.Time) time.Time { return w.NextOpen(t, w.Location()) }

// String writes "08:00-21:00 Europe/Berlin".
func (w ContactWindow) String() string {
	if w.EndMin == 0 {
		return "any time"
	}
	return fmt.Sprintf("%02d:%02d-%02d:%02d %s", w.StartMin/60, w.StartMin%60, w.EndMin/60, w.EndMin%60, w.Location())
}

// WindowSettings are the configured contact windows: the default and
// per-country ones (ISO country code of the recipient's shipping address).
type WindowSettings struct {
	Default   ContactWindow
	ByCountry map[string]ContactWindow
}

// For picks the window of one recipient: the policy rule's, else the
// country's, else the default; in the recipient's zone.
func (s WindowSettings) For(rule string, c Customer, shipTo Location) ContactWindow {
	w := s.Default
	if w.EndMin == 0 {
		w = DefaultWindow
	}
	if cw, ok := s.ByCountry[strings.ToUpper(shipTo.Country)]; ok {
		w = cw
	}
	if rule != "" {
		if rw, err := ParseWindow(rule); err == nil {
			w = rw
		}
	}
	w.Zone = RecipientZone(c, shipTo)
	return w
}

// ParseWindows reads per-country windows: "US=09:00-20:00,FR=09:00-19:00".
func ParseWindows(s string) (map[string]ContactWindow, error) {
	out := map[string]ContactWindow{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		cc, win, ok := strings.Cut(part, "=")
		cc = strings.ToUpper(strings.TrimSpace(cc))
		if !ok || len(cc) != 2 {
			return nil, fmt.Errorf("%q is not COUNTRY=08:00-21:00", part)
		}
		w, err := ParseWindow(win)
		if err != nil {
			return nil, err
		}
		out[cc] = w
	}
	return out, nil
}

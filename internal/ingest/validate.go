package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// checker collects field errors under a path prefix, and whether
// normalisation changed the payload.
type checker struct {
	errs    []FieldError
	changed bool
	// base prefixes the fields named inside a nested object (see under),
	// so that their full names are built only for an error.
	base string
}

func (c *checker) add(field, msg string) { c.addFull(c.base+field, msg) }

// addFull adds an error for a field named in full, whatever the base.
func (c *checker) addFull(field, msg string) { c.errs = append(c.errs, FieldError{field, msg}) }

// under names fields relative to path (e.g. "data.customer") until the
// function it returns is called.
func (c *checker) under(path string) (restore func()) {
	old := c.base
	c.base = old + path + "."
	return func() { c.base = old }
}

// objDecoder decodes payloads as JSON objects keeping numbers exact. One
// decoder serves a whole batch: the payloads are fed to it one after the
// other as a stream, so its buffer is allocated once, not per event.
type objDecoder struct {
	feed feed
	dec  *json.Decoder
}

func newObjDecoder() *objDecoder {
	d := &objDecoder{}
	d.dec = json.NewDecoder(&d.feed)
	d.dec.UseNumber()
	return d
}

// decode returns raw as an object. raw must be valid JSON (it was cut out
// of a decoded document); only objects are decoded, because an object's
// end is known at its closing brace, without reading past it.
func (d *objDecoder) decode(raw []byte) (obj, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	d.feed.b = raw
	var m map[string]any
	err := d.dec.Decode(&m)
	if err != nil || len(d.feed.b) != 0 || d.dec.More() {
		// Not expected from valid input; start afresh so one bad payload
		// cannot leave the stream out of step for the next.
		*d = *newObjDecoder()
		return nil, false
	}
	return obj(fromAny(m).kids), true
}

// feed is an io.Reader over one payload at a time.
type feed struct{ b []byte }

func (f *feed) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// child returns the nested object at key: (nil, false) when absent, and an
// error when present but not an object.
func (c *checker) child(o obj, key, path string) (obj, bool) {
	v, _ := o.get(key)
	switch v.kind {
	case kindNull:
		return nil, false
	case kindObject:
		return v.kids, true
	}
	c.add(path, "must be an object")
	return nil, false
}

// str returns the trimmed string at key; required reports absence.
func (c *checker) str(o obj, key, path string, required bool) string {
	v, _ := o.get(key)
	return c.strOf(v, path, required)
}

// strOf returns v trimmed, when it is a string; null is absence.
func (c *checker) strOf(v value, path string, required bool) string {
	if v.kind == kindNull {
		if required {
			c.add(path, "is required")
		}
		return ""
	}
	if v.kind != kindString {
		c.add(path, "must be a string")
		return ""
	}
	s := strings.TrimSpace(v.s)
	if s == "" && required {
		c.add(path, "must not be empty")
	}
	return s
}

// ident returns the identifier at key: at most MaxIDLen printable
// characters, so that it fits a Postgres index and a Temporal ID.
func (c *checker) ident(o obj, key, path string, required bool) string {
	v, _ := o.get(key)
	return c.identOf(v, path, required)
}

func (c *checker) identOf(v value, path string, required bool) string {
	s := c.strOf(v, path, required)
	if s != "" && (utf8.RuneCountInString(s) > MaxIDLen || !printable(s)) {
		c.add(path, fmt.Sprintf("must be at most %d printable characters", MaxIDLen))
	}
	return s
}

// text returns the free text at key: at most n characters, with no
// control characters but tabs and line breaks.
func (c *checker) text(o obj, key, path string, required bool, n int) string {
	s := c.str(o, key, path, required)
	if s == "" {
		return s
	}
	if utf8.RuneCountInString(s) > n {
		c.add(path, fmt.Sprintf("must be at most %d characters", n))
		return s
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\n' && r != '\r' && r != '\t' {
			c.add(path, "must not contain control characters")
			break
		}
	}
	return s
}

// integer returns the integer at key, from lo to hi. Money and quantities
// must be JSON integers; a fraction or a string is an error, never
// truncated.
func (c *checker) integer(o obj, key, path string, required bool, lo, hi int64) (int64, bool) {
	v, _ := o.get(key)
	switch v.kind {
	case kindNull:
		if required {
			c.add(path, "is required")
		}
		return 0, false
	case kindNumber:
	default:
		c.add(path, "must be a JSON integer, not a string or other value")
		return 0, false
	}
	n := json.Number(v.s)
	i, err := n.Int64()
	if err != nil && strings.ContainsAny(string(n), ".eE") {
		c.add(path, "must be a whole number (money is in integer minor units, e.g. 8999 for 89.99)")
		return 0, false
	}
	if err != nil {
		c.add(path, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
		return 0, false
	}
	if i < lo || i > hi {
		c.add(path, fmt.Sprintf("must be a whole number from %d to %d", lo, hi))
		return i, false
	}
	return i, true
}

// timestamp checks an RFC 3339 time string at key.
func (c *checker) timestamp(o obj, key, path string, required bool) (time.Time, bool) {
	v, _ := o.get(key)
	return c.timestampOf(v, path, required)
}

func (c *checker) timestampOf(v value, path string, required bool) (time.Time, bool) {
	s := c.strOf(v, path, required)
	if s == "" {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		c.add(path, "must be an RFC 3339 time such as 2026-11-20T10:00:00Z")
		return time.Time{}, false
	}
	return t, true
}

// country checks and upper-cases an ISO 3166-1 alpha-2 code in place.
func (c *checker) country(o obj, required bool) {
	v, _ := o.get("country")
	s := c.strOf(v, "country", required)
	if s == "" {
		return
	}
	if len(s) != 2 || !isLetters(s) {
		c.add("country", "must be an ISO 3166-1 alpha-2 country code such as DE")
		return
	}
	if up := strings.ToUpper(s); v.s != up {
		o.set("country", textValue(up))
		c.changed = true
	}
}

// location checks an address or scan location.
func (c *checker) location(o obj, path string, needCountry, needPostal bool) {
	defer c.under(path)()
	c.country(o, needCountry)
	c.text(o, "postal_code", "postal_code", needPostal, 20)
	c.text(o, "line1", "line1", false, MaxTextLen)
	c.text(o, "line2", "line2", false, MaxTextLen)
	c.text(o, "city", "city", false, MaxNameLen)
	c.text(o, "region", "region", false, MaxNameLen)
	c.coordinate(o, "lat", 90)
	c.coordinate(o, "lng", 180)
}

func (c *checker) coordinate(o obj, key string, limit float64) {
	v, _ := o.get(key)
	if v.kind == kindNull {
		return
	}
	f, err := json.Number(v.s).Float64()
	if v.kind != kindNumber || err != nil || f < -limit || f > limit {
		c.add(key, fmt.Sprintf("must be a number from %g to %g", -limit, limit))
	}
}

func isLetters(s string) bool {
	for _, r := range s {
		if !unicode.IsLetter(r) || r > unicode.MaxASCII {
			return false
		}
	}
	return true
}

func printable(s string) bool {
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return false
		}
	}
	return true
}

// Validate checks one event as it would be stored; field names are
// relative to the event.
func Validate(e recovery.Event) []FieldError {
	raw, err := json.Marshal(e)
	if err != nil {
		return []FieldError{{"", "cannot be encoded"}}
	}
	_, errs := parseEvent(raw)
	return errs
}

// wireEvent is the envelope of one event as decoded from the body; the
// payload stays raw until its type is known.
type wireEvent struct {
	ID      value           `json:"id"`
	Source  value           `json:"source"`
	Type    value           `json:"type"`
	Time    value           `json:"time"`
	Subject value           `json:"subject"`
	Data    json.RawMessage `json:"data"`
	// data is Data decoded, when the reader of decode.go decoded it
	// (decoded says so: an empty object has no members).
	data    obj
	decoded bool
}

// parseEvent decodes, validates and normalises one event.
func parseEvent(raw []byte) (recovery.Event, []FieldError) {
	var w wireEvent
	if !decodeWire(raw, &w) {
		return recovery.Event{}, []FieldError{{"", "must be a JSON object"}}
	}
	var dec *objDecoder
	return checkEvent(&w, &dec)
}

// decodeWire decodes one event envelope, reporting whether raw is an object.
func decodeWire(raw []byte, w *wireEvent) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{' && json.Unmarshal(t, w) == nil
}

// checkEvent validates and normalises one decoded event. The payload is
// re-encoded only when normalisation changed it.
func checkEvent(w *wireEvent, dec **objDecoder) (recovery.Event, []FieldError) {
	var c checker
	var ev recovery.Event
	ev.ID = c.identOf(w.ID, "id", true)
	ev.Source = c.identOf(w.Source, "source", true)
	ev.Type = c.strOf(w.Type, "type", true)
	if ev.Type != "" && !slices.Contains(recovery.EventTypes, ev.Type) {
		c.add("type", "is not a known event type; use one of "+strings.Join(recovery.EventTypes, ", "))
	}
	ev.Time, _ = c.timestampOf(w.Time, "time", true)
	ev.Subject = c.strOf(w.Subject, "subject", false)
	if len(ev.Subject) > 500 || !printable(ev.Subject) {
		c.add("subject", "must be at most 500 printable characters")
	}
	rawData := w.Data
	if len(rawData) > MaxDataBytes {
		c.add("data", fmt.Sprintf("holds %d bytes; one event's data may hold at most %d", len(rawData), MaxDataBytes))
		return ev, c.errs
	}
	data, ok := w.data, w.decoded
	if !ok {
		if *dec == nil {
			*dec = newObjDecoder()
		}
		data, ok = (*dec).decode(rawData)
	}
	if !ok {
		c.add("data", "is required and must be an object")
		return ev, c.errs
	}
	checkData(&c, ev.Type, data, rawData)
	if id, _ := data.get("order_id"); id.kind == kindString {
		ev.OrderID = id.s
	}
	if ev.OrderID != "" && ev.Subject == "" {
		ev.Subject = "order/" + ev.OrderID
	}
	ev.Data = rawData
	if c.changed {
		ev.Data, _ = json.Marshal(value{kind: kindObject, kids: data}.toAny())
	}
	return ev, c.errs
}

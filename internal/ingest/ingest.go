// Package ingest parses and validates the canonical events of POST
// /v1/events. It is pure: no HTTP and no I/O. Every bad field is reported,
// by a JSON-path-like name, in plain words that never echo personal data.
package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// MaxBatch is the most events one request may carry.
const MaxBatch = 1000

// MaxBodyBytes is the largest request body accepted.
const MaxBodyBytes = 4 << 20

// Bounds on one event, so that whatever is accepted can be stored,
// indexed and carried to Temporal. They hold for provider webhooks too.
const (
	// MaxIDLen bounds identifiers (id, source, order_id, shipment_id, sku,
	// tracking_number, carrier, customer and line ids), in characters.
	MaxIDLen = 200
	// MaxNameLen bounds names, cities, regions and categories.
	MaxNameLen = 200
	// MaxTextLen bounds free text: descriptions, address lines.
	MaxTextLen = 1000
	// MaxDataBytes bounds one event's data, well under Temporal's 2 MiB
	// payload limit.
	MaxDataBytes = 256 << 10
	// MaxLines bounds the lines of an order or a shipment.
	MaxLines = 1000
	// MaxQuantity bounds quantities and stock levels.
	MaxQuantity = 1_000_000_000
)

// FieldError names one bad field, e.g. "events[3].data.shipping_address.country".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError holds every FieldError found in a body.
type ValidationError struct {
	Errors []FieldError
}

// Error summarises the field errors.
func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Errors))
	for _, fe := range e.Errors {
		parts = append(parts, fe.Field+": "+fe.Message)
	}
	return "invalid events: " + strings.Join(parts, "; ")
}

// SyntaxError says the body is not the JSON expected.
type SyntaxError struct {
	Msg string
}

// Error returns the message.
func (e *SyntaxError) Error() string { return e.Msg }

// ParseBody decodes one canonical event, {"events":[...]} or a bare
// array of events (1 to MaxBatch), validates each, normalises them and
// returns them.
func ParseBody(body []byte) ([]recovery.Event, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &SyntaxError{Msg: "the body is empty: send one event or {\"events\":[...]}"}
	}
	if trimmed[0] == '[' {
		trimmed = wrapBatch(trimmed)
	}
	if trimmed[0] != '{' {
		return nil, &SyntaxError{Msg: "the body must be a JSON object: one event or {\"events\":[...]}"}
	}
	// One pass for the common case (decode.go); anything else takes the
	// general path, which names what is wrong. The reader refuses every
	// string checkText would refuse, so only the general path needs it.
	if wires, batch, ok := fastBody(trimmed); ok {
		return checkBody(wires, batch)
	}
	return parseGeneral(trimmed)
}

// checkBody validates the events of a decoded body; batch says it was
// {"events":[...]}.
func checkBody(wires []wireEvent, batch bool) ([]recovery.Event, error) {
	if !batch {
		return check(wires, func(int) string { return "" })
	}
	if err := checkBatchLen(len(wires)); err != nil {
		return nil, err
	}
	return check(wires, batchPrefix)
}

// parseGeneral decodes a body with encoding/json: first a valid single
// event or a batch whose elements are all objects, then anything else by
// the slower path that can name the bad element.
func parseGeneral(trimmed []byte) ([]recovery.Event, error) {
	if err := checkText(trimmed, ""); err != nil {
		return nil, err
	}
	var body1 struct {
		wireEvent
		Events *[]wireEvent `json:"events"`
	}
	if err := json.Unmarshal(trimmed, &body1); err != nil {
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			return nil, syntaxError(trimmed, err)
		}
		return parseSlow(trimmed)
	}
	if body1.Events == nil {
		return checkBody([]wireEvent{body1.wireEvent}, false)
	}
	return checkBody(*body1.Events, true)
}

// wrapBatch turns a JSON array of events into {"events":[...]}.
func wrapBatch(array []byte) []byte {
	out := make([]byte, 0, len(array)+12)
	out = append(out, `{"events":`...)
	out = append(out, array...)
	return append(out, '}')
}

// NDJSONBatch turns newline-delimited JSON (one event per line; blank
// lines ignored) into {"events":[...]}, so that ParseBody validates it
// as a batch: events[i] is the i-th event of the body. A line that is not
// a JSON object is a SyntaxError naming the line.
func NDJSONBatch(body []byte) ([]byte, error) {
	out := make([]byte, 0, len(body)+16)
	out = append(out, `{"events":[`...)
	n := 0
	for i, line := range bytes.Split(body, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 {
			continue
		}
		if line[0] != '{' || !json.Valid(line) {
			return nil, &SyntaxError{Msg: fmt.Sprintf("line %d is not a JSON object: send one event per line", i+1)}
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = append(out, line...)
		n++
	}
	if n == 0 {
		return nil, &SyntaxError{Msg: "the body holds no events: send one JSON event per line"}
	}
	return append(out, ']', '}'), nil
}

func batchPrefix(i int) string { return fmt.Sprintf("events[%d].", i) }

func checkBatchLen(n int) error {
	switch {
	case n == 0:
		return &ValidationError{Errors: []FieldError{{"events", "must hold at least one event"}}}
	case n > MaxBatch:
		return &ValidationError{Errors: []FieldError{{"events",
			fmt.Sprintf("holds %d events; at most %d are accepted per request", n, MaxBatch)}}}
	}
	return nil
}

// parseSlow handles a body whose events array is not an array, or holds
// something other than objects, so that the error names the element.
func parseSlow(trimmed []byte) ([]recovery.Event, error) {
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &probe); err != nil {
		return nil, syntaxError(trimmed, err)
	}
	batch, ok := probe["events"]
	if !ok {
		// A single event with a field of the wrong JSON type cannot fail the
		// envelope decode (its fields take any value), so this is unreachable
		// in practice; answer it plainly all the same.
		return nil, &ValidationError{Errors: []FieldError{{"", "must be a JSON object"}}}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(batch, &raws); err != nil {
		return nil, &ValidationError{Errors: []FieldError{{"events", "must be an array of events"}}}
	}
	if err := checkBatchLen(len(raws)); err != nil {
		return nil, err
	}
	wires := make([]wireEvent, len(raws))
	var errs []FieldError
	for i, raw := range raws {
		if !decodeWire(raw, &wires[i]) {
			errs = append(errs, FieldError{Field: fmt.Sprintf("events[%d]", i), Message: "must be a JSON object"})
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return check(wires, batchPrefix)
}

// check validates decoded events, rejecting a (source, id) repeated within
// the batch.
func check(wires []wireEvent, prefix func(int) string) ([]recovery.Event, error) {
	var errs []FieldError
	events := make([]recovery.Event, 0, len(wires))
	seen := make(map[recovery.EventKey]int, len(wires))
	var dec *objDecoder // only for payloads not decoded yet
	for i := range wires {
		ev, fes := checkEvent(&wires[i], &dec)
		if len(fes) == 0 {
			if first, dup := seen[ev.Key()]; dup {
				fes = []FieldError{{"id", fmt.Sprintf("repeats the source and id of event %d in this batch", first)}}
			}
			seen[ev.Key()] = i
		}
		for _, fe := range fes {
			errs = append(errs, FieldError{Field: prefix(i) + fe.Field, Message: fe.Message})
		}
		events = append(events, ev)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return events, nil
}

// syntaxError says where the JSON broke, without echoing the body.
func syntaxError(body []byte, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		line := 1 + bytes.Count(body[:min(int(se.Offset), len(body))], []byte("\n"))
		return &SyntaxError{Msg: fmt.Sprintf("malformed JSON at line %d (byte %d): %v", line, se.Offset, se)}
	}
	if errors.Is(err, errors.New("unexpected end of JSON input")) || strings.Contains(err.Error(), "unexpected end") {
		return &SyntaxError{Msg: "malformed JSON: the body ends before the JSON does"}
	}
	return &SyntaxError{Msg: "malformed JSON: " + err.Error()}
}

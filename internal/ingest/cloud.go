package ingest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// CloudEvents content types.
const (
	ContentTypeCloudEvents      = "application/cloudevents+json"
	ContentTypeCloudEventsBatch = "application/cloudevents-batch+json"
)

// IsCloudEvents reports whether a request uses a CloudEvents content mode:
// structured or batch by content type, binary by a ce-specversion header.
func IsCloudEvents(h http.Header) bool {
	if h.Get("ce-specversion") != "" {
		return true
	}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == ContentTypeCloudEvents || mt == ContentTypeCloudEventsBatch
}

// ParseCloudEvents decodes CloudEvents 1.0 (structured, batch or binary
// mode, through the CloudEvents SDK) from a request whose body was already
// read, maps each onto a canonical event attribute for attribute and
// validates them exactly as ParseBody does.
//
// The envelope attributes are checked before the SDK sees them, so that a
// bad specversion, id or time is named like ParseBody names it; the SDK's
// own error text is never passed on, because it can quote the event.
func ParseCloudEvents(h http.Header, body []byte) ([]recovery.Event, error) {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	switch mt {
	case ContentTypeCloudEventsBatch:
		if err := checkText(body, "events"); err != nil {
			return nil, err
		}
		return parseCEBatch(body)
	case ContentTypeCloudEvents:
		if err := checkText(body, ""); err != nil {
			return nil, err
		}
		return parseCEStructured(body)
	}
	for k, vs := range h {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "ce-"); ok {
			for _, v := range vs {
				if !utf8.ValidString(v) {
					return nil, &ValidationError{Errors: []FieldError{{Field: name, Message: "must be valid text: bytes that are not UTF-8"}}}
				}
			}
		}
	}
	if err := checkText(body, "data"); err != nil {
		return nil, err
	}
	return parseCEBinary(h, body)
}

func parseCEStructured(body []byte) ([]recovery.Event, error) {
	attrs, err := ceAttrs(body)
	if err != nil {
		return nil, err
	}
	var ev event.Event
	if errs := precheckCE(attrs); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	if err := ev.UnmarshalJSON(withoutExtensions(body, attrs)); err != nil {
		return nil, &SyntaxError{Msg: "not a valid CloudEvent 1.0: " + ceHint}
	}
	return checkCloudEvents([]event.Event{ev}, func(int) string { return "" })
}

func parseCEBatch(body []byte) ([]recovery.Event, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, &SyntaxError{Msg: "the body is empty: send a JSON array of CloudEvents"}
	}
	var raws []json.RawMessage
	if err := json.Unmarshal(trimmed, &raws); err != nil {
		if trimmed[0] != '[' {
			return nil, &SyntaxError{Msg: "a CloudEvents batch must be a JSON array of CloudEvents"}
		}
		return nil, syntaxError(trimmed, err)
	}
	if err := checkBatchLen(len(raws)); err != nil {
		return nil, err
	}
	evs := make([]event.Event, len(raws))
	var errs []FieldError
	for i, raw := range raws {
		attrs, err := ceAttrs(raw)
		if err != nil {
			errs = append(errs, FieldError{fmt.Sprintf("events[%d]", i), "must be a JSON object"})
			continue
		}
		fes := precheckCE(attrs)
		if len(fes) == 0 && evs[i].UnmarshalJSON(withoutExtensions(raw, attrs)) != nil {
			fes = []FieldError{{"", "is not a valid CloudEvent 1.0: " + ceHint}}
		}
		for _, fe := range fes {
			errs = append(errs, FieldError{strings.TrimSuffix(batchPrefix(i)+fe.Field, "."), fe.Message})
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return checkCloudEvents(evs, batchPrefix)
}

func parseCEBinary(h http.Header, body []byte) ([]recovery.Event, error) {
	var errs []FieldError
	if v := h.Get("ce-specversion"); v != "1.0" {
		errs = append(errs, FieldError{"specversion", "must be 1.0 (the ce-specversion header)"})
	}
	if v := h.Get("ce-time"); v != "" {
		if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
			errs = append(errs, FieldError{"time", timeMessage})
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	hdr := h.Clone()
	for k := range hdr {
		if name, ok := strings.CutPrefix(strings.ToLower(k), "ce-"); ok && !ceAttributes[name] {
			delete(hdr, k) // an extension: ignored, even one the SDK would refuse
		}
	}
	req := &http.Request{Method: http.MethodPost, Header: hdr, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body))}
	ev, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		return nil, &SyntaxError{Msg: "not a valid CloudEvent 1.0: " + ceHint}
	}
	return checkCloudEvents([]event.Event{*ev}, func(int) string { return "" })
}

// ceHint replaces the SDK's reason, which may quote attribute values.
const ceHint = "check that the attributes are well formed (source a URI reference, dataschema a URI, data_base64 base64)"

// timeMessage is the checker's message for a bad time, repeated where the
// SDK would otherwise fail first.
const timeMessage = "must be an RFC 3339 time such as 2026-11-20T10:00:00Z"

// checkCloudEvents maps decoded CloudEvents onto canonical envelopes and
// validates them with the canonical validator.
func checkCloudEvents(evs []event.Event, prefix func(int) string) ([]recovery.Event, error) {
	wires := make([]wireEvent, len(evs))
	var errs []FieldError
	for i := range evs {
		e := &evs[i]
		for _, fe := range fromCloudEvent(e.SpecVersion(), e.ID(), e.Source(), e.Type(), e.Time(), e.Subject(),
			e.DataContentType(), e.DataBase64, e.Data(), &wires[i]) {
			errs = append(errs, FieldError{Field: prefix(i) + fe.Field, Message: fe.Message})
		}
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return check(wires, prefix)
}

// ceAttrs decodes a structured-mode event's top level.
func ceAttrs(raw []byte) (map[string]json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 {
		return nil, &SyntaxError{Msg: "the body is empty: send one CloudEvent as a JSON object"}
	}
	if trimmed[0] != '{' {
		return nil, &SyntaxError{Msg: "a structured CloudEvent must be a JSON object"}
	}
	var attrs map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &attrs); err != nil {
		return nil, syntaxError(trimmed, err)
	}
	return attrs, nil
}

// precheckCE checks the envelope attributes the SDK would reject with a
// message that can quote them, using the canonical validator's words.
func precheckCE(attrs map[string]json.RawMessage) []FieldError {
	var c checker
	o := make(map[string]any, 6)
	for _, k := range []string{"specversion", "id", "source", "type", "time", "subject"} {
		var v any
		if raw, ok := attrs[k]; ok && json.Unmarshal(raw, &v) == nil && v != nil {
			o[k] = v
		}
	}
	switch o["specversion"] {
	case "1.0":
	case nil:
		c.add("specversion", "is required and must be 1.0")
	default:
		c.add("specversion", "must be 1.0")
	}
	for _, k := range []string{"id", "source", "type", "subject"} {
		if _, ok := o[k].(string); o[k] != nil && !ok {
			c.add(k, "must be a string")
		}
	}
	if s, ok := o["time"].(string); ok {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			c.add("time", timeMessage)
		}
	} else if o["time"] != nil {
		c.add("time", "must be a string")
	}
	return c.errs
}

// ceAttributes are the CloudEvents 1.0 context attributes and data members;
// anything else is an extension, which the canonical event does not carry.
var ceAttributes = map[string]bool{"specversion": true, "id": true, "source": true, "type": true,
	"time": true, "subject": true, "datacontenttype": true, "dataschema": true, "data": true, "data_base64": true}

// withoutExtensions drops extension attributes, so that one the SDK would
// refuse (a bad name, an object value) is ignored like any other.
func withoutExtensions(raw []byte, attrs map[string]json.RawMessage) []byte {
	kept := make(map[string]json.RawMessage, len(attrs))
	for k, v := range attrs {
		if ceAttributes[k] {
			kept[k] = v
		}
	}
	if len(kept) == len(attrs) {
		return raw
	}
	b, err := json.Marshal(kept)
	if err != nil {
		return raw // cannot happen: every value was decoded from valid JSON
	}
	return b
}

// fromCloudEvent fills the canonical envelope from CloudEvents attributes;
// what it cannot carry is reported, the rest is left to the validator.
func fromCloudEvent(spec, id, source, typ string, at time.Time, subject, contentType string,
	base64Data bool, data []byte, w *wireEvent) []FieldError {
	var errs []FieldError
	if spec != "1.0" {
		errs = append(errs, FieldError{"specversion", "must be 1.0"})
	}
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/json" && !strings.HasSuffix(mt, "+json") {
			errs = append(errs, FieldError{"datacontenttype", "must be application/json: event data is a JSON object"})
		}
	}
	if base64Data {
		errs = append(errs, FieldError{"data_base64", "is not accepted: send the event data as a JSON object in data"})
	}
	set := func(s string) value {
		if s == "" {
			return value{}
		}
		return textValue(s)
	}
	w.ID, w.Source, w.Type, w.Subject = set(id), set(source), set(typ), set(subject)
	if !at.IsZero() {
		w.Time = textValue(at.Format(time.RFC3339Nano))
	}
	w.Data = data
	return errs
}

package ingest

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

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
func ParseCloudEvents(h http.Header, body []byte) ([]recovery.Event, error) {
	req := &http.Request{Method: http.MethodPost, Header: h.Clone(), Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body))}
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == ContentTypeCloudEventsBatch {
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, &SyntaxError{Msg: "the body is empty: send a JSON array of CloudEvents"}
		}
		evs, err := cehttp.NewEventsFromHTTPRequest(req)
		if err != nil {
			return nil, &SyntaxError{Msg: "not a CloudEvents batch: " + plainCEError(err)}
		}
		if err := checkBatchLen(len(evs)); err != nil {
			return nil, err
		}
		wires := make([]wireEvent, len(evs))
		var errs []FieldError
		for i := range evs {
			for _, fe := range fromCloudEvent(evs[i].SpecVersion(), evs[i].ID(), evs[i].Source(), evs[i].Type(),
				evs[i].Time(), evs[i].Subject(), evs[i].DataContentType(), evs[i].DataBase64, evs[i].Data(), &wires[i]) {
				errs = append(errs, FieldError{Field: batchPrefix(i) + fe.Field, Message: fe.Message})
			}
		}
		if len(errs) > 0 {
			return nil, &ValidationError{Errors: errs}
		}
		return check(wires, batchPrefix)
	}
	ev, err := cehttp.NewEventFromHTTPRequest(req)
	if err != nil {
		return nil, &SyntaxError{Msg: "not a CloudEvent: " + plainCEError(err)}
	}
	var w wireEvent
	if errs := fromCloudEvent(ev.SpecVersion(), ev.ID(), ev.Source(), ev.Type(), ev.Time(), ev.Subject(),
		ev.DataContentType(), ev.DataBase64, ev.Data(), &w); len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	return check([]wireEvent{w}, func(int) string { return "" })
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
	set := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	w.ID, w.Source, w.Type, w.Subject = set(id), set(source), set(typ), set(subject)
	if !at.IsZero() {
		w.Time = at.UTC().Format(time.RFC3339Nano)
	}
	w.Data = data
	return errs
}

// plainCEError keeps the SDK's reason without echoing payload content.
func plainCEError(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200] + "…"
	}
	return msg
}

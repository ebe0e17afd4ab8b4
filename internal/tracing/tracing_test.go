package tracing

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestServerContinuesTheCallersTraceAndNamesTheRoute sends a request with
// a traceparent: the server span joins the caller's trace, is named after
// the route's pattern (not the path, which carries a token), and its
// traceparent, stored and parsed again, is the same span.
func TestServerContinuesTheCallersTraceAndNamesTheRoute(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	var stored string
	mux := http.NewServeMux()
	mux.HandleFunc("GET /r/{token}", func(w http.ResponseWriter, r *http.Request) {
		Route(r, "GET /r/{token}")
		stored = TraceParent(r.Context())
		w.WriteHeader(http.StatusTeapot)
	})
	h := Server(Tracer(tp), mux)
	const caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	req := httptest.NewRequest("GET", "/r/secret-token", nil)
	req.Header.Set("traceparent", caller)
	h.ServeHTTP(httptest.NewRecorder(), req)

	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans, want 1", len(ended))
	}
	sp := ended[0]
	if sp.Name() != "GET /r/{token}" {
		t.Errorf("span name %q, want the route's pattern", sp.Name())
	}
	if got := sp.SpanContext().TraceID().String(); got != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("trace %s, want the caller's", got)
	}
	if sp.Parent().SpanID().String() != "00f067aa0ba902b7" {
		t.Errorf("parent %s, want the caller's span", sp.Parent().SpanID())
	}
	for _, kv := range sp.Attributes() {
		if strings.Contains(kv.Value.Emit(), "secret-token") {
			t.Errorf("attribute %s carries the path's token", kv.Key)
		}
		if kv.Key == "http.response.status_code" && kv.Value.AsInt64() != http.StatusTeapot {
			t.Errorf("status attribute %d", kv.Value.AsInt64())
		}
	}
	if got := SpanContext(stored); got.SpanID() != sp.SpanContext().SpanID() || got.TraceID() != sp.SpanContext().TraceID() {
		t.Errorf("stored traceparent %q does not parse back to the request's span", stored)
	}
	if SpanContext("").IsValid() || SpanContext("garbage").IsValid() {
		t.Error("an empty or malformed traceparent parses as valid")
	}
}

// TestLogLinesNameTheirTrace logs with and without a span.
func TestLogLinesNameTheirTrace(t *testing.T) {
	tp := sdktrace.NewTracerProvider()
	var buf bytes.Buffer
	log := slog.New(LogHandler(slog.NewTextHandler(&buf, nil))).With("role", "api")
	ctx, span := Tracer(tp).Start(context.Background(), "work")
	log.InfoContext(ctx, "inside")
	span.End()
	log.Info("outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	want := "trace_id=" + span.SpanContext().TraceID().String() + " span_id=" + span.SpanContext().SpanID().String()
	if !strings.Contains(lines[0], want) || !strings.Contains(lines[0], "role=api") {
		t.Errorf("line in a span %q lacks %q", lines[0], want)
	}
	if strings.Contains(lines[1], "trace_id") {
		t.Errorf("line without a span names a trace: %q", lines[1])
	}
}

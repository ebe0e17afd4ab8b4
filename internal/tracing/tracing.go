// Package tracing follows a request through the service with
// OpenTelemetry: the HTTP request that brings an event, the relay's signal
// that carries it to its order's workflow (linked by the trace context
// stored with the event), the workflows and activities (the Temporal
// SDK's tracing interceptor) and each provider call. Spans carry routes,
// kinds, channels and ids of our own making, never a customer's data: no
// URL paths (customer links carry tokens), no addresses, no bodies.
//
// Traces are exported over OTLP/gRPC when OTEL_EXPORTER_OTLP_ENDPOINT (or
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is set; the exporter reads the other
// OTEL_EXPORTER_OTLP_* variables itself (headers, TLS, timeout).
// Otherwise nothing is traced and nothing is added to Temporal's headers.
package tracing

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.37.0"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"
	"go.temporal.io/sdk/interceptor"

	temporalotel "go.temporal.io/sdk/contrib/opentelemetry"
)

// Name is the instrumentation scope of the service's own spans.
const Name = "github.com/recoveryhq/recovery"

// Propagator carries trace context across HTTP and in stored events:
// W3C Trace Context and Baggage.
var Propagator propagation.TextMapPropagator = propagation.NewCompositeTextMapPropagator(
	propagation.TraceContext{}, propagation.Baggage{})

// Endpoint returns the OTLP endpoint configured in the environment, if any.
func Endpoint(getenv func(string) string) string {
	if v := getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"); v != "" {
		return v
	}
	return getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
}

// OTLP returns a tracer provider exporting over OTLP/gRPC to the
// endpoint of the OTEL_EXPORTER_OTLP_* variables, naming the process
// service. Stop it with Shutdown, which flushes what is buffered.
func OTLP(ctx context.Context, service string) (*sdktrace.TracerProvider, error) {
	exp, err := otlptracegrpc.New(ctx)
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	res := resource.NewSchemaless(semconv.ServiceName(service))
	return sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res)), nil
}

// Tracer returns the service's tracer from tp (a no-op one for nil).
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		tp = noop.NewTracerProvider()
	}
	return tp.Tracer(Name)
}

// TemporalInterceptor is the Temporal SDK's tracing interceptor on tp:
// for clients (starts, signals, queries) and, through them, for workers
// (workflows, activities, child workflows, timers are not spans).
func TemporalInterceptor(tp trace.TracerProvider) (interceptor.Interceptor, error) {
	return temporalotel.NewTracingInterceptor(temporalotel.TracerOptions{
		Tracer: tp.Tracer("temporal-sdk-go"), TextMapPropagator: Propagator})
}

// Server starts a server span per request, continuing a trace the caller
// sent in its traceparent header. Its name is the method until the route
// is known (see Route).
func Server(tr trace.Tracer, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := Propagator.Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tr.Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(semconv.HTTPRequestMethodKey.String(r.Method)))
		defer span.End()
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r.WithContext(ctx))
		span.SetAttributes(semconv.HTTPResponseStatusCode(sw.status))
		if sw.status >= 500 {
			span.SetStatus(codes.Error, http.StatusText(sw.status))
		}
	})
}

// Route names the request's span after the route that answers it: the
// router's pattern ("POST /v1/events"), never the path, which carries
// incident ids and tokens.
func Route(r *http.Request, pattern string) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	route := pattern
	if _, path, ok := strings.Cut(pattern, " "); ok {
		route = path
	}
	span.SetName(r.Method + " " + route)
	span.SetAttributes(semconv.HTTPRoute(route))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush on (server-sent events, streamed answers).
func (w *statusRecorder) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TraceParent returns the W3C traceparent of the span in ctx ("" if
// none), to be stored with what the request brought.
func TraceParent(ctx context.Context) string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return ""
	}
	c := propagation.MapCarrier{}
	propagation.TraceContext{}.Inject(ctx, c)
	return c["traceparent"]
}

// SpanContext parses a stored traceparent (invalid for "" or garbage).
func SpanContext(traceParent string) trace.SpanContext {
	if traceParent == "" {
		return trace.SpanContext{}
	}
	ctx := propagation.TraceContext{}.Extract(context.Background(), propagation.MapCarrier{"traceparent": traceParent})
	return trace.SpanContextFromContext(ctx)
}

// Fail marks span as failed with err (nothing for nil). The error's text
// is the caller's to keep free of personal data.
func Fail(span trace.Span, err error) {
	if err == nil {
		return
	}
	span.RecordError(err)
	span.SetStatus(codes.Error, err.Error())
}

// Attr is shorthand for a string attribute.
func Attr(k, v string) attribute.KeyValue { return attribute.String(k, v) }

// LogHandler adds the trace_id and span_id of the context's span to each
// record logged with a context, so that a log line leads to its trace.
func LogHandler(next slog.Handler) slog.Handler { return logHandler{next} }

type logHandler struct{ next slog.Handler }

func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r = r.Clone()
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, r)
}

func (h logHandler) WithAttrs(as []slog.Attr) slog.Handler { return logHandler{h.next.WithAttrs(as)} }
func (h logHandler) WithGroup(name string) slog.Handler    { return logHandler{h.next.WithGroup(name)} }

package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
	"github.com/recoveryhq/recovery/internal/tracing"
)

// TestOneTraceFromRequestToProvider records every span in memory while a
// misroute story goes through the API, the relay, the order's workflow,
// the incident's workflow and its activities to SendGrid's stub, and
// finds them in one trace: the provider call's ancestors lead through an
// activity, the incident's workflow and the relay's signal to the HTTP
// request that brought the events. No span carries the customer's name
// or address (workflow ids, which name the order, are Temporal's), and
// the request's log line names the trace.
func TestOneTraceFromRequestToProvider(t *testing.T) {
	ctx := context.Background()
	dbURL := stacktest.PostgresURL(t)
	tp := stacktest.Temporal(t)
	sg := providerstub.SendGrid("SG.trace-key")
	defer sg.Close()

	rec := tracetest.NewSpanRecorder()
	provider := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer provider.Shutdown(ctx) //nolint:errcheck
	cfg := configOf(t, sendGridVars(dbURL, tp.Address(), sg.URL, "SG.trace-key"))
	cfg.Traces = provider
	logs := &lockedBuffer{}
	s, err := startStack(ctx, cfg, dbURL, tp.Address(), parts{api: true, relay: true, worker: true}, true,
		newLogger(logs, slog.LevelDebug))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	base := "http://" + s.Addr()

	order := fmt.Sprintf("trace-%d", time.Now().UnixNano())
	email := "trace-" + order + "@example.com"
	push(t, base, misroute(order, email, "EUR", 8999))
	waitFor(t, base, order, "the apology was sent", 90*time.Second, func(i remedyIncident) bool {
		return len(i.Contacts) > 0 && i.Contacts[0].Status == "sent"
	})

	spans := rec.Started()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var sends []sdktrace.ReadOnlySpan
	for _, sp := range spans {
		byID[sp.SpanContext().SpanID()] = sp
		if sp.Name() == "send sendgrid" {
			sends = append(sends, sp)
		}
		for _, kv := range sp.Attributes() {
			if v := kv.Value.Emit(); strings.Contains(v, email) || strings.Contains(v, "Test Customer") {
				t.Errorf("span %q carries the customer's data in %s", sp.Name(), kv.Key)
			}
		}
	}
	if len(sends) != 1 {
		t.Fatalf("%d provider spans, want 1 (spans: %s)", len(sends), names(spans))
	}
	// Walk from the provider call to the root.
	var path []string
	for sp, ok := sends[0], true; ok; sp, ok = byID[sp.Parent().SpanID()] {
		if sp.SpanContext().TraceID() != sends[0].SpanContext().TraceID() {
			t.Fatalf("span %q is in another trace", sp.Name())
		}
		path = append(path, sp.Name())
		if !sp.Parent().IsValid() {
			break
		}
	}
	t.Logf("trace %s, from the provider call up:\n  %s", sends[0].SpanContext().TraceID(), strings.Join(path, "\n  <- "))
	root := path[len(path)-1]
	if root != "POST /v1/events" {
		t.Fatalf("the provider call's root span is %q, want the request POST /v1/events; path %v", root, path)
	}
	for _, want := range []string{"RunActivity:", "RunWorkflow:RecoveryWorkflow", "StartChildWorkflow:RecoveryWorkflow",
		"RunWorkflow:OrderWorkflow", "SignalWithStartWorkflow:OrderWorkflow", "relay signal"} {
		found := false
		for _, n := range path {
			found = found || strings.HasPrefix(n, want)
		}
		if !found {
			t.Errorf("no %q span between the provider call and the request; path %v", want, path)
		}
	}
	// The request's own log line names its trace.
	trID := sends[0].SpanContext().TraceID().String()
	if !strings.Contains(logs.String(), "trace_id="+trID) {
		t.Errorf("no log line names trace %s:\n%s", trID, logs.String())
	}
	// Untraced processes are unchanged: the log handler adds nothing
	// without a span.
	if strings.Contains(tracing.TraceParent(ctx), "-") {
		t.Error("a context without a span has a traceparent")
	}
}

func names(spans []sdktrace.ReadWriteSpan) string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name())
	}
	return strings.Join(out, ", ")
}

package main

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/ingest"
)

// The bench writes its request bodies by hand; they must be what the API
// accepts, event for event.
func TestBenchBodyIsValidIngest(t *testing.T) {
	b := &bench{}
	evs := b.events(3, 5)
	got, err := ingest.ParseBody(benchBody(evs))
	if err != nil {
		t.Fatalf("bench body rejected: %v", err)
	}
	if len(got) != len(evs) {
		t.Fatalf("parsed %d events, sent %d", len(got), len(evs))
	}
	for i := range evs {
		g, w := got[i], evs[i]
		if g.ID != w.ID || g.Type != w.Type || !g.Time.Equal(w.Time) || g.Order() != w.OrderID || !slices.Equal(g.Data, w.Data) {
			t.Fatalf("event %d: got %+v, sent %+v", i, g, w)
		}
	}
}

// TestBenchTemporalPhasesRun: `recovery bench -phases temporal` runs on
// its own (it posted with a key the API did not know, and answered 401),
// and prints the end to end rates, the cost per order, the incidents'
// rate and latencies and the burst's outcome.
//
// Time budget: about 2 minutes (a throwaway Postgres and Temporal; the
// burst's promise is a minute ahead).
func TestBenchTemporalPhasesRun(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), []string{"bench", "-phases", "temporal", "-signals", "20", "-orders", "10", "-duration", "1s",
		"-conns", "2", "-batch-conns", "2", "-incidents", "20", "-burst", "30"}, func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench -phases temporal: %v\n%s", err, out.String())
	}
	for _, want := range []string{"temporal: bare SignalWithStart", "end to end, processed", "cost: correct order", "cost: misroute",
		"storage: per order of 5 events", "incidents: fully handled", "latency at 50%", "relay lag", "latency, single story",
		"storage: per misrouted order", "30 of 30 contacted, 0 more than once"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the bench printed no %q:\n%s", want, out.String())
		}
	}
}

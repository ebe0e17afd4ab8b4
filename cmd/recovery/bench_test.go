package main

import (
	"bytes"
	"io"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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

// TestBenchIngestPhasesRun: `recovery bench -phases ingest` measures both
// pairs, and every request of its load clients is answered 202 (a
// request refused or broken counts as failed).
//
// Time budget: about 30 seconds (a throwaway Postgres and Temporal).
func TestBenchIngestPhasesRun(t *testing.T) {
	var out bytes.Buffer
	err := run(t.Context(), []string{"bench", "-phases", "ingest", "-duration", "1s", "-conns", "4", "-batch-conns", "2",
		"-batch", "20"}, func(string) string { return "" }, &out, io.Discard)
	if err != nil {
		t.Fatalf("bench -phases ingest: %v\n%s", err, out.String())
	}
	line := regexp.MustCompile(`(?m)^(postgres|http): .*? (\d+) rows/s .*\((\d+) failed\)$`)
	found := line.FindAllStringSubmatch(out.String(), -1)
	if len(found) != 4 {
		t.Fatalf("want 4 measured lines, got %d:\n%s", len(found), out.String())
	}
	for _, m := range found {
		if m[2] == "0" || m[3] != "0" {
			t.Errorf("%q: want a rate and no failures", m[0])
		}
	}
	for _, want := range []string{"HTTP single-event ingest / one-INSERT baseline", "HTTP batch ingest / batched INSERT"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the bench printed no %q:\n%s", want, out.String())
		}
	}
}

// TestBenchTemporalPhasesRun: `recovery bench -phases temporal` runs on
// its own (it posted with a key the API did not know, and answered 401),
// and prints the end to end rates, the cost per order, the incidents'
// rate and latencies and the burst's outcome.
//
// Time budget: about 90 seconds (a throwaway Postgres and Temporal; the
// burst's promise is 10 seconds ahead).
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

// The bench's customers live where it is about noon, so that a contact
// window never holds their contact back.
func TestMiddayZone(t *testing.T) {
	for h := range 24 {
		now := time.Date(2026, 12, 6, h, 30, 0, 0, time.UTC)
		loc, err := time.LoadLocation(middayZone(now))
		if err != nil {
			t.Fatalf("%02d:30 UTC: %v", h, err)
		}
		if local := now.In(loc).Hour(); local < 11 || local > 13 {
			t.Errorf("%02d:30 UTC: %s is at %02d:30, not about noon", h, loc, local)
		}
	}
}

// pct is the nearest-rank percentile.
func TestPercentile(t *testing.T) {
	var ds []time.Duration
	for i := 1; i <= 100; i++ {
		ds = append(ds, time.Duration(101-i)*time.Millisecond) // unsorted
	}
	for p, want := range map[float64]time.Duration{50: 50 * time.Millisecond, 95: 95 * time.Millisecond,
		99: 99 * time.Millisecond, 100: 100 * time.Millisecond} {
		if got := pct(ds, p); got != want {
			t.Errorf("p%.0f = %s, want %s", p, got, want)
		}
	}
	if got := pct(ds[:3], 99); got != 100*time.Millisecond {
		t.Errorf("p99 of 3 = %s, want the largest", got)
	}
	if got := pct(nil, 50); got != 0 {
		t.Errorf("p50 of none = %s", got)
	}
}

package main

import (
	"slices"
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

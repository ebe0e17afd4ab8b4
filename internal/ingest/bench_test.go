package ingest

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkParseBody parses a batch of 100 pinned order events.
func BenchmarkParseBody(b *testing.B) {
	evs := make([]string, 100)
	for i := range evs {
		evs[i] = strings.Replace(pinnedOrder, "evt-1", fmt.Sprintf("evt-%d", i), 1)
	}
	body := []byte(`{"events":[` + strings.Join(evs, ",") + `]}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseBody(body); err != nil {
			b.Fatal(err)
		}
	}
}

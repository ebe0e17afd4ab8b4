package store

import "testing"

// The inbox holds at most a bound of event data in memory; one submission
// alone always fits.
func TestInboxAdmitsUpToItsBound(t *testing.T) {
	var in Inbox
	if !in.admit(300, 1000) || !in.admit(600, 1000) {
		t.Fatal("refused within the bound")
	}
	if in.admit(200, 1000) {
		t.Fatal("admitted past the bound")
	}
	if in.queued.Load() != 900 {
		t.Fatalf("queued %d after a refusal, want 900", in.queued.Load())
	}
	in.queued.Add(-900)
	if !in.admit(5000, 1000) {
		t.Fatal("a submission alone must fit")
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestDevSurvivesItsOwnCrash kills `recovery dev` with SIGKILL in the
// middle of a burst of 100 misroutes (300 events). Nobody stops the
// private Postgres by hand: the next start takes over. The client pushes
// everything again (what was acknowledged comes back as duplicates), and
// every incident exists once with one apology, nothing left pending.
func TestDevSurvivesItsOwnCrash(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "state")
	env, base := devEnv(t, dataDir)
	dev := startDev(t, env, base)
	run := time.Now().UnixNano()
	const n = 100
	stories := make([][]byte, n)
	for i := range stories {
		orderID := fmt.Sprintf("crash-%d-%d", run, i)
		raw, _ := json.Marshal(map[string]any{"events": demoStory(orderID, time.Now())})
		raw = bytes.ReplaceAll(raw, []byte("ada@example.com"), []byte(orderID+"@example.com"))
		stories[i] = bytes.ReplaceAll(raw, []byte(`"id":"c-7"`), []byte(`"id":"c-`+orderID+`"`))
	}
	var acked atomic.Int64
	killed := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, s := range stories {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			req, _ := http.NewRequest("POST", base+"/v1/events", bytes.NewReader(s))
			req.Header.Set("Authorization", "Bearer "+e2eKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return // the process is gone: the retry below pushes it again
			}
			resp.Body.Close()
			if resp.StatusCode == 202 && acked.Add(1) == 30 {
				once.Do(func() {
					dev.cmd.Process.Kill() //nolint:errcheck // SIGKILL: nothing is cleaned up
					close(killed)
				})
			}
		})
	}
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatalf("only %d stories were acknowledged; the stack was never killed", acked.Load())
	}
	<-dev.done
	t.Logf("killed after %d of %d stories were acknowledged", acked.Load(), n)

	dev = startDev(t, env, base) // refused before: "already running"
	for _, s := range stories {  // the integration retries everything
		if code, body := postRaw(t, base, string(s)); code != 202 {
			t.Fatalf("push after the restart: %d %s", code, body)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var out struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?limit=500&kind=misrouted", nil, &out)
		told, once := 0, true
		for _, inc := range out.Incidents {
			if len(inc.Contacts) > 1 {
				once = false
			}
			if len(inc.Contacts) == 1 && inc.Contacts[0].Status == "sent" {
				told++
			}
		}
		if !once {
			t.Fatalf("an incident has more than one apology: %+v", out.Incidents)
		}
		if len(out.Incidents) == n && told == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d incidents, %d told, want %d of each", len(out.Incidents), told, n)
		}
		time.Sleep(500 * time.Millisecond)
	}
	conn, err := pgx.Connect(context.Background(), dev.databaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	// Every incident told does not mean every event relayed: a story's
	// last scan may still be on its way. All are relayed soon after.
	var stored, pending int
	for until := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE relayed_at IS NULL) FROM events WHERE id LIKE $1`,
			fmt.Sprintf("crash-%d-%%", run)).Scan(&stored, &pending) //nolint:errcheck
		if pending == 0 || time.Now().After(until) {
			break
		}
	}
	if want := n * len(demoStory("crash-count", time.Now())); stored != want || pending != 0 {
		t.Fatalf("%d events stored, %d pending; want %d and 0", stored, pending, want)
	}
	dev.stop(30 * time.Second)
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
)

// TestIngestAnswersAfterCommit checks invariants 1 and 2 on the real HTTP
// handler and the real Postgres inbox: every 202 names events that a fresh
// connection already sees, and a repeat is answered duplicate.
func TestIngestAnswersAfterCommit(t *testing.T) {
	ctx := context.Background()
	dbURL := stacktest.PostgresURL(t)
	cfg, _ := loadConfig(func(k string) string {
		return map[string]string{"RECOVERY_ADDR": "127.0.0.1:0", "RECOVERY_DEV_API_KEY": "k"}[k]
	})
	s, err := startStack(ctx, cfg, dbURL, "", parts{api: true}, true, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	b := &bench{}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for range 64 {
		wg.Go(func() {
			ev := b.events(1, 1)[0]
			body, _ := json.Marshal(ev)
			for attempt, want := range []string{"accepted", "duplicate"} {
				got, err := postOne(s.Addr(), string(body))
				if err != nil || got != want {
					errs <- fmt.Errorf("post %d of %s: %q, %v; want %s", attempt, ev.ID, got, err, want)
					return
				}
				var n int
				pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE source = $1 AND id = $2`, ev.Source, ev.ID).Scan(&n) //nolint:errcheck
				if n != 1 {
					errs <- fmt.Errorf("after a 202 for %s the database holds %d rows, want 1", ev.ID, n)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if st := s.inbox.Stats(); st.Commits >= st.Events {
		t.Logf("note: %d events took %d commits (no grouping happened in this run)", st.Events, st.Commits)
	}
}

func postOne(addr, body string) (string, error) {
	req, _ := http.NewRequest("POST", "http://"+addr+"/v1/events", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer k")
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 202 {
		return "", fmt.Errorf("%s: %s", resp.Status, data)
	}
	var out struct{ Results []struct{ Status string } }
	if err := json.Unmarshal(data, &out); err != nil || len(out.Results) != 1 {
		return "", fmt.Errorf("bad answer %s", data)
	}
	return out.Results[0].Status, nil
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestMigrateServeWorkerAndPush runs the production commands as separate
// processes against one Postgres and the embedded Temporal server:
// `migrate` twice, `serve` (API and relay) and `worker`, then `events
// push` with a file in each accepted shape and more than one batch.
func TestMigrateServeWorkerAndPush(t *testing.T) {
	prod := newProduction(t, "", "RECOVERY_API_KEYS=serve-key-0123456789,"+e2eKey, "RECOVERY_API_KEY=serve-key-0123456789")
	base, env, dbURL := prod.base, prod.env, prod.dbURL

	out := runCLI(t, env, "migrate")
	if !strings.HasPrefix(out, "applied ") || strings.HasPrefix(out, "applied 0 ") {
		t.Fatalf("first migrate: %q, want migrations applied", out)
	}
	if out := runCLI(t, env, "migrate"); !strings.HasPrefix(out, "applied 0 migration") {
		t.Fatalf("second migrate: %q, want nothing left to apply", out)
	}

	prod.start(t)
	for path, want := range map[string]int{"/healthz": 200, "/readyz": 200} {
		resp, err := http.Get(base + path)
		if err != nil || resp.StatusCode != want {
			t.Fatalf("GET %s: %v %v", path, resp, err)
		}
		resp.Body.Close()
	}
	if code, _ := as(t, "dev", base, "GET", "/v1/incidents", nil); code != 401 {
		t.Fatalf("serve answered the dev key with %d: it must work only in dev", code)
	}
	if code, _ := as(t, "serve-key-0123456789", base, "GET", "/v1/incidents", nil); code != 200 {
		t.Fatalf("serve answered a configured key with %d", code)
	}

	dir := t.TempDir()
	write := func(name, text string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	stock := func(i int) string {
		b, _ := json.Marshal(map[string]any{"id": fmt.Sprintf("inv-%d", i), "source": "push-test", "type": "inventory.changed",
			"time": time.Now().UTC().Format(time.RFC3339), "data": map[string]any{"sku": fmt.Sprintf("SKU-%d", i), "available": i}})
		return string(b)
	}
	orderID := fmt.Sprintf("push-%d", time.Now().UnixNano())
	story, _ := json.Marshal(map[string]any{"events": demoStory(orderID, time.Now())})
	var ndjson strings.Builder
	for i := 3; i < 2503; i++ { // 2,500 events: three batches
		ndjson.WriteString(stock(i) + "\n")
	}
	files := []string{
		write("one.json", stock(0)),
		write("array.json", "["+stock(1)+",\n"+stock(2)+"]"),
		write("story.json", string(story)),
		write("many.ndjson", ndjson.String()),
	}
	total := 3 + len(demoStory(orderID, time.Now())) + 2500
	args := append([]string{"events", "push"}, files...)
	if out := runCLI(t, env, args...); !strings.Contains(out, fmt.Sprintf("accepted %d, duplicates 0", total)) {
		t.Fatalf("push:\n%s\nwant all %d accepted", out, total)
	}
	if out := runCLI(t, env, args...); !strings.Contains(out, fmt.Sprintf("accepted 0, duplicates %d", total)) {
		t.Fatalf("second push:\n%s\nwant all %d duplicates", out, total)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var stored int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&stored); err != nil || stored != total {
		t.Fatalf("%d events stored (%v), want %d", stored, err, total)
	}

	// The relay in serve hands the story to Temporal; the worker process
	// detects the misroute and writes the apology.
	inc := waitIncident(t, base, orderID, "misrouted", 60*time.Second)
	if inc.Contacts[0].Channel != "email" || inc.Offer == nil || inc.Offer.Status != "applied" {
		t.Fatalf("incident %+v", inc)
	}
}

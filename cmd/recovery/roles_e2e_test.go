package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// kill ends a process at once, as a crash or an OOM kill would.
func (p *devProc) kill() {
	p.cmd.Process.Kill() //nolint:errcheck
	<-p.done
	p.cmd.ProcessState = &os.ProcessState{} // stop finds it gone
}

// Two of each role as separate processes (api, relay, worker) against one
// Postgres and the embedded Temporal's frontend over gRPC. Orders are
// pushed through both APIs; halfway, one of each role is killed (SIGKILL).
// Every order still gets exactly one incident, every incident exactly one
// apology, and SendGrid gets exactly one request per incident.
//
// Time budget: about 3 minutes on 2 cores with 1,000 misroute stories
// (the default; 170 s measured on a quiet machine); ROLES_ORDERS sets
// another count.
func TestTwoOfEachRoleSurviveLosingOneOfEach(t *testing.T) {
	orders := 1000
	if n, err := strconv.Atoi(os.Getenv("ROLES_ORDERS")); err == nil {
		orders = n
	}
	prod := newProduction(t, "", fmt.Sprintf("RECOVERY_TASK_QUEUE=roles-%d", time.Now().UnixNano()),
		"RECOVERY_RATE_LIMIT=0", "RECOVERY_SENDGRID_RPS=1000")
	runCLI(t, prod.env, "migrate")
	start := func(role string) (*devProc, string) {
		addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
		env := append(slices.Clone(prod.env), "RECOVERY_ADDR="+addr, "RECOVERY_PUBLIC_URL=http://"+addr)
		return startProc(t, env, "http://"+addr, role), "http://" + addr
	}
	var apis []string
	procs := map[string][]*devProc{}
	for _, role := range []string{"worker", "worker", "relay", "relay", "api", "api"} {
		p, base := start(role)
		procs[role] = append(procs[role], p)
		if role == "api" {
			apis = append(apis, base)
		}
	}
	// Each role answers its own health, and only that.
	for _, p := range []*devProc{procs["relay"][0], procs["worker"][0]} {
		resp, err := http.Get(p.base + "/v1/incidents")
		if err != nil || resp.StatusCode != 404 {
			t.Fatalf("%s serves more than its health: %v %v", p.cmd.Args[1], resp, err)
		}
		resp.Body.Close()
	}

	run := fmt.Sprintf("roles-%d", time.Now().UnixNano()%1e9)
	var alive atomic.Int32 // APIs still up, from the first
	alive.Store(2)
	push := func(i int) {
		// A customer each: the built-in policy holds repeat claimants for
		// a person.
		var story []json.RawMessage
		for _, ev := range demoStory(fmt.Sprintf("%s-%04d", run, i), time.Now()) {
			e := strings.ReplaceAll(string(ev), `"c-7"`, fmt.Sprintf(`"c-%s-%d"`, run, i))
			story = append(story, json.RawMessage(strings.ReplaceAll(e, "ada@example.com", fmt.Sprintf("ada+%s-%d@example.com", run, i))))
		}
		for attempt := 0; ; attempt++ {
			base := apis[(i+attempt)%int(alive.Load())]
			code, body := as(t, e2eKey, base, "POST", "/v1/events", map[string]any{"events": story})
			if code == 202 {
				return
			}
			if attempt > 20 {
				t.Fatalf("order %d not accepted: %d %s", i, code, body)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for i := range orders {
		if i == orders/2 {
			// One of each dies: the second API (pushes move to the first),
			// a relay and a worker.
			alive.Store(1)
			procs["api"][1].kill()
			procs["relay"][1].kill()
			procs["worker"][1].kill()
			t.Logf("killed one api, one relay and one worker after %d orders", i)
		}
		push(i)
	}
	pushed := time.Now()

	conn, err := pgx.Connect(context.Background(), prod.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(time.Duration(orders/2+90) * time.Second)
	for {
		var ours, told, most int
		err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE told = 1), coalesce(max(n), 0) FROM (
  SELECT i.id, count(c.*) AS n, count(c.*) FILTER (WHERE c.status IN ('sent', 'unconfirmed')) AS told
  FROM incidents i LEFT JOIN contacts c ON c.incident_id = i.id
  WHERE i.order_id LIKE $1 GROUP BY i.id) x`, run+"-%").Scan(&ours, &told, &most)
		if err != nil {
			t.Fatal(err)
		}
		if most > 1 || ours > orders {
			t.Fatalf("%d incidents for %d orders; an incident has %d contacts", ours, orders, most)
		}
		if ours == orders && told == orders {
			break
		}
		if time.Now().After(deadline) {
			rows, _ := conn.Query(context.Background(), `SELECT i.status, coalesce(o.status, '-'), coalesce(c.status, '-'), count(*)
  FROM incidents i LEFT JOIN offers o ON o.incident_id = i.id LEFT JOIN contacts c ON c.incident_id = i.id
  WHERE i.order_id LIKE $1 GROUP BY 1, 2, 3`, run+"-%")
			for rows.Next() {
				var a, b, c string
				var n int
				rows.Scan(&a, &b, &c, &n) //nolint:errcheck
				t.Logf("incident %s, offer %s, contact %s: %d", a, b, c, n)
			}
			rows.Close()
			for role, ps := range procs {
				t.Logf("%s output:\n%s", role, tail(ps[0].out.String(), 3000))
			}
			t.Fatalf("after %s: %d incidents, %d told, want %d of each", time.Since(pushed), ours, told, orders)
		}
		time.Sleep(time.Second)
	}
	perIncident := map[string]int{}
	for _, r := range prod.sg.Requests() {
		if args, ok := r.JSON["custom_args"].(map[string]any); ok {
			if id, _ := args["incident_id"].(string); id != "" {
				perIncident[id]++
			}
		}
	}
	for id, n := range perIncident {
		if n > 1 {
			t.Errorf("incident %s reached SendGrid %d times", id, n)
		}
	}
	if len(perIncident) < orders {
		t.Errorf("SendGrid got %d incidents' apologies, want %d", len(perIncident), orders)
	}
	t.Logf("%d orders through 2 APIs, 2 relays, 2 workers (one of each killed halfway): every incident once, "+
		"every apology once, %s after the last push", orders, time.Since(pushed).Round(time.Second))
}

// tail is the end of a process's output.
func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

package chaos

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	crand "crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"

	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
	"github.com/recoveryhq/recovery/workflows"
)

// The kinds of fault, one per run, in rotation.
const (
	killAPI      = "kill-api"      // SIGKILL of serve during a burst of group commits
	killRelay    = "kill-relay"    // SIGKILL of serve just after events committed, mid-batch
	killWorker   = "kill-worker"   // SIGKILL of the worker the moment SendGrid has a message
	pgRestart    = "pg-restart"    // the application's Postgres stopped for 2 s, then started
	temporalDown = "temporal-down" // Temporal unreachable for 8 s
	pgCut        = "pg-cut"        // every Postgres connection cut, three times
)

var kinds = []string{killAPI, killRelay, killWorker, pgRestart, temporalDown, pgCut}

// result is what one run found.
type result struct {
	kind                    string
	lost, duplicated, stuck int
	notes                   []string
	took                    time.Duration
}

func (r *result) add(n *int, format string, args ...any) {
	*n++
	if len(r.notes) < 12 {
		r.notes = append(r.notes, fmt.Sprintf(format, args...))
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// TestChaos runs CHAOS_RUNS runs (by default one of each kind of fault)
// from CHAOS_SEED (1), the kind rotating, and ends with one line of
// figures.
func TestChaos(t *testing.T) {
	runs, seed := envInt("CHAOS_RUNS", len(kinds)), envInt("CHAOS_SEED", 1)
	from := envInt("CHAOS_FROM", 0) // to repeat one run of a series: CHAOS_FROM=6 CHAOS_RUNS=1
	in := startInfra(t)
	type total struct{ runs, lost, duplicated, stuck int }
	byKind := map[string]*total{}
	var all total
	for i := from; i < from+runs; i++ {
		k := kinds[(seed+i)%len(kinds)]
		r := runOnce(t, in, fmt.Sprintf("s%d-r%d", seed, i), uint64(seed)*1000+uint64(i), k)
		if byKind[k] == nil {
			byKind[k] = &total{}
		}
		for _, tt := range []*total{byKind[k], &all} {
			tt.runs++
			tt.lost += r.lost
			tt.duplicated += r.duplicated
			tt.stuck += r.stuck
		}
		t.Logf("run %d (%s): %d lost, %d duplicated, %d stuck in %s %v", i, k, r.lost, r.duplicated, r.stuck,
			r.took.Round(100*time.Millisecond), r.notes)
	}
	var parts []string
	for _, k := range kinds {
		if tt := byKind[k]; tt != nil {
			parts = append(parts, fmt.Sprintf("%s %d/%d/%d/%d", k, tt.runs, tt.lost, tt.duplicated, tt.stuck))
		}
	}
	line := fmt.Sprintf("chaos: %d runs, %d lost, %d duplicated, %d stuck (per kind runs/lost/duplicated/stuck: %s)",
		all.runs, all.lost, all.duplicated, all.stuck, strings.Join(parts, ", "))
	fmt.Println(line)
	if all.lost+all.duplicated+all.stuck > 0 {
		t.Error(line)
	}
}

// order is one order of a run's workload: its events, pushed in steps,
// and what it must come to.
type order struct {
	id     string
	steps  [][]map[string]any // pushed in turn, a pause between
	expect string             // the incident kind it must open ("": none)
	// contact: the customer must be told (once); else nobody is.
	contact bool
	// optional: the incident may not open at all (its evidence and what
	// healed it arrived together, after an outage).
	optional bool
}

// workload builds a seeded mix of orders.
func workload(runID string, rng *rand.Rand) []order {
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(d).Format(time.RFC3339Nano) }
	n := 0
	ev := func(oid, typ string, at time.Duration, data map[string]any) map[string]any {
		n++
		data["order_id"] = oid
		return map[string]any{"id": fmt.Sprintf("%s-%d", oid, n), "source": "chaos-" + runID, "type": typ,
			"time": ts(at), "data": data}
	}
	created := func(oid string, promise time.Duration) map[string]any {
		return ev(oid, "order.created", -48*time.Hour, map[string]any{"currency": "EUR", "total_minor": 5000 + rng.IntN(5000),
			"promised_delivery": ts(promise),
			"customer":          map[string]any{"email": oid + "@example.com", "locale": "en-GB"},
			"shipping_address":  map[string]any{"postal_code": "10115", "country": "DE"},
			"lines":             []any{map[string]any{"sku": "LAMP-01", "quantity": 1, "unit_price_minor": 5000}}})
	}
	shipped := func(oid, carrier string) map[string]any {
		return ev(oid, "shipment.created", -40*time.Hour, map[string]any{"shipment_id": "s-1", "carrier": carrier,
			"origin": map[string]any{"postal_code": "04103", "country": "DE"}})
	}
	scan := func(oid, carrier, status, country, postal string, at time.Duration, extra ...string) map[string]any {
		d := map[string]any{"shipment_id": "s-1", "carrier": carrier, "status": status,
			"location": map[string]any{"country": country, "postal_code": postal}}
		if len(extra) > 0 {
			d["exception_code"] = extra[0]
		}
		return ev(oid, "shipment.tracking", at, d)
	}
	var out []order
	add := func(kind string, count int, build func(oid string) order) {
		for i := range count {
			o := build(fmt.Sprintf("%s-%s-%d", runID, kind, i))
			out = append(out, o)
		}
	}
	far := 30 * 24 * time.Hour
	add("happy", 3+rng.IntN(3), func(oid string) order {
		return order{id: oid, steps: [][]map[string]any{{created(oid, far), shipped(oid, "dhl"),
			scan(oid, "dhl", "picked_up", "DE", "04103", -30*time.Hour), scan(oid, "dhl", "delivered", "DE", "10115", -time.Hour)}}}
	})
	misroute := func(oid string) order {
		return order{id: oid, expect: "misrouted", contact: true, steps: [][]map[string]any{{created(oid, far), shipped(oid, "dhl"),
			scan(oid, "dhl", "picked_up", "DE", "04103", -30*time.Hour), scan(oid, "dhl", "in_transit", "PL", "60-001", -time.Hour)}}}
	}
	add("misrouted", 3+rng.IntN(3), misroute)
	add("repeated", 2, func(oid string) order { // the same story pushed twice: duplicates
		o := misroute(oid)
		o.steps = append(o.steps, o.steps[0])
		return o
	})
	add("healed", 2, func(oid string) order { // a soft exception, delivered before the settle ends: never mentioned
		return order{id: oid, expect: "carrier_exception", optional: true, steps: [][]map[string]any{
			{created(oid, far), shipped(oid, "dhl"), scan(oid, "dhl", "picked_up", "DE", "04103", -30*time.Hour),
				scan(oid, "dhl", "exception", "DE", "06108", -time.Hour, "weather")},
			{scan(oid, "dhl", "delivered", "DE", "10115", 0)}}}
	})
	add("late", 2, func(oid string) order { // promised in 3 s, never shipped
		return order{id: oid, expect: "late", contact: true, steps: [][]map[string]any{{created(oid, 3*time.Second)}}}
	})
	add("stalled", 2, func(oid string) order { // a lane with a 4 s stall limit
		return order{id: oid, expect: "stalled", contact: true, steps: [][]map[string]any{{created(oid, far), shipped(oid, "stallco"),
			scan(oid, "stallco", "picked_up", "DE", "04103", 0)}}}
	})
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func runOnce(t *testing.T, in *infra, runID string, seed uint64, kind string) *result {
	start := time.Now()
	res := &result{kind: kind}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	ctx := context.Background()
	db := "chaos_" + strings.ReplaceAll(runID, "-", "_")
	if err := in.app.CreateDatabase(ctx, db); err != nil {
		t.Fatal(err)
	}
	directURL := in.app.URL(db)
	proxiedURL := strings.Replace(directURL, fmt.Sprintf("127.0.0.1:%d", in.app.Port()), in.appProxy.Addr(), 1)
	sg := providerstub.SendGrid("SG.chaos-key")
	defer sg.Close()
	sgKey, err := ecdsa.GenerateKey(elliptic.P256(), crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&sgKey.PublicKey)
	sgPublic := base64.StdEncoding.EncodeToString(der)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	env := append(os.Environ(), "DATABASE_URL="+proxiedURL, "TEMPORAL_ADDRESS="+in.tProxy.Addr(),
		"RECOVERY_ADDR="+addr, "RECOVERY_API_KEYS=chaos-key-0123456789", "RECOVERY_TASK_QUEUE=chaos-"+runID,
		"RECOVERY_RELAY_LEASE=3s", "RECOVERY_CONTACT_WINDOW=00:00-24:00", "RECOVERY_LINK_SECRET=chaos-links",
		"SENDGRID_API_KEY=SG.chaos-key", "SENDGRID_FROM=care@shop.example", "SENDGRID_API_BASE="+sg.URL,
		"RECOVERY_SETTLE=carrier_exception=12s", "RECOVERY_STALL_LIMITS=stallco=4s", "RECOVERY_WORKER_STOP_TIMEOUT=1s",
		"RECOVERY_LOG_LEVEL=warn", "SENDGRID_WEBHOOK_PUBLIC_KEY="+sgPublic, "RECOVERY_CONFIRM_WAIT=5s")
	// SendGrid reports each email it takes, so that an apology whose
	// attempt died before its request left is sent again.
	sg.ReportTo(base+"/v1/webhooks/sendgrid/events", sgKey)
	if out, err := execBinary(env, "migrate"); err != nil {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	serve := &proc{args: []string{"serve"}, env: env}
	worker := &proc{args: []string{"worker"}, env: append(env, "RECOVERY_ADDR=")}
	for _, p := range []*proc{serve, worker} {
		if err := p.start(); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		serve.stop()
		worker.stop()
		if t.Failed() || res.lost+res.duplicated+res.stuck > 0 {
			t.Logf("serve:\n%s\nworker:\n%s", tail(serve.out.String()), tail(worker.out.String()))
		}
	}()
	if !waitReady(base, 60*time.Second) {
		t.Fatalf("serve not ready:\n%s", serve.out.String())
	}
	// A poison event stored as older data would be: an order id Temporal
	// refuses. It must end quarantined, and stop nothing.
	// A pool, not one connection: the database may be restarted under it.
	conn, err := pgxpool.New(ctx, directURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	poisonOrder := strings.Repeat("p", 1200) + runID
	if _, err := conn.Exec(ctx, `INSERT INTO events (source, id, type, order_id, occurred_at, data) VALUES ('chaos-poison', $1, 'order.created', $2, now(), $3)`,
		"poison-"+runID, poisonOrder, `{"order_id":"`+poisonOrder+`","currency":"EUR","total_minor":1}`); err != nil {
		t.Fatal(err)
	}

	orders := workload(runID, rng)
	var acked sync.Map // event id -> order id
	var faultOnce sync.Once
	fault := func() {} // set below
	var sent atomic.Int64
	if kind == killWorker {
		target := int64(1 + rng.IntN(4))
		sg.BeforeAnswer = func(providerstub.Request) {
			if sent.Add(1) == target {
				worker.kill()
				go func() { time.Sleep(500 * time.Millisecond); worker.start() }() //nolint:errcheck
			}
		}
	}
	switch kind {
	case killAPI:
		fault = func() { serve.kill(); time.Sleep(300 * time.Millisecond); serve.start() } //nolint:errcheck
	case killRelay:
		fault = func() { time.Sleep(50 * time.Millisecond); serve.kill(); serve.start() } //nolint:errcheck
	case pgRestart:
		fault = func() {
			if err := in.app.Restart(ctx, 2*time.Second); err != nil {
				res.add(&res.stuck, "postgres restart: %v", err)
			}
		}
	case temporalDown:
		fault = func() { in.tProxy.Down(); time.Sleep(8 * time.Second); in.tProxy.Up() }
	case pgCut:
		fault = func() {
			for range 3 {
				in.appProxy.Cut()
				time.Sleep(500 * time.Millisecond)
			}
		}
	}
	faultAt := 1 + rng.IntN(len(orders)-1) // after this many orders' first push
	var wg sync.WaitGroup
	var faultWG sync.WaitGroup
	pushed := 0
	for _, o := range orders {
		wg.Go(func() {
			for i, step := range o.steps {
				if i > 0 {
					time.Sleep(time.Second)
				}
				if !push(base, step) {
					res.add(&res.stuck, "order %s: push never accepted", o.id)
					return
				}
				for _, e := range step {
					acked.Store(e["id"].(string), o.id)
				}
			}
		})
		if pushed++; pushed == faultAt {
			faultWG.Go(func() { faultOnce.Do(fault) })
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
	}
	wg.Wait()
	faultWG.Wait()
	check(t, in, res, conn, sg, orders, &acked, runID)
	res.took = time.Since(start)
	return res
}

// push sends one batch until it is accepted (as an integration retries),
// giving up after 90 s.
func push(base string, evs []map[string]any) bool {
	body, _ := json.Marshal(map[string]any{"events": evs})
	deadline := time.Now().Add(90 * time.Second)
	c := &http.Client{Timeout: 10 * time.Second}
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("POST", base+"/v1/events", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer chaos-key-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 202 {
				return true
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return false
}

func waitReady(base string, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return true
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func execBinary(env []string, args ...string) (string, error) {
	cmd := execCommand(binary, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func tail(s string) string {
	if len(s) > 4000 {
		return s[len(s)-4000:]
	}
	return s
}

// check waits for the run to settle and counts what was lost, duplicated
// or left stuck.
func check(t *testing.T, in *infra, res *result, conn *pgxpool.Pool, sg *providerstub.Stub, orders []order,
	acked *sync.Map, runID string) {
	ctx := context.Background()
	tc, err := client.Dial(client.Options{HostPort: in.temporal.Address(), Logger: quietLogger{}})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	perOrder := map[string]int{}
	acked.Range(func(k, v any) bool { perOrder[v.(string)]++; return true })
	type incident struct {
		id, kind, status string
	}
	settled := func() (bool, map[string][]incident, map[string]int) {
		var pending int
		conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE relayed_at IS NULL AND dead_at IS NULL`).Scan(&pending) //nolint:errcheck
		incs := map[string][]incident{}
		rows, err := conn.Query(ctx, `SELECT id, order_id, kind, status FROM incidents`)
		if err == nil {
			for rows.Next() {
				var i incident
				var o string
				rows.Scan(&i.id, &o, &i.kind, &i.status) //nolint:errcheck
				incs[o] = append(incs[o], i)
			}
			rows.Close()
		}
		// The apology's sends per incident: its first step's, and when
		// that step ended unconfirmed (its attempt died around the
		// request), the second's, which is the same apology sent again
		// when SendGrid reported nothing of the first.
		perStep := map[string]int{}
		for _, r := range sg.Requests() {
			if args, _ := r.JSON["custom_args"].(map[string]any); args != nil {
				perStep[fmt.Sprint(args["incident_id"], "/", args["step"])]++
			}
		}
		sends := map[string]int{}
		for k, n := range perStep {
			if id, ok := strings.CutSuffix(k, "/1"); ok {
				sends[id] += n
			}
		}
		if rows, err := conn.Query(ctx, `SELECT incident_id FROM contacts WHERE step = 1 AND status = 'unconfirmed'`); err == nil {
			for rows.Next() {
				var id string
				rows.Scan(&id) //nolint:errcheck
				sends[id] += perStep[id+"/2"]
			}
			rows.Close()
		}
		// A send whose worker died stays 'sending' until its retry decides:
		// settled means every step came to an outcome.
		var sending int
		conn.QueryRow(ctx, `SELECT count(*) FROM contacts WHERE status = 'sending'`).Scan(&sending) //nolint:errcheck
		if pending > 0 || sending > 0 {
			return false, incs, sends
		}
		for _, o := range orders {
			got := incs[o.id]
			if o.expect != "" && !o.optional && len(got) == 0 {
				return false, incs, sends
			}
			for _, i := range got {
				if o.contact && sends[i.id] == 0 {
					return false, incs, sends
				}
				if !o.contact && i.status != "healed" {
					return false, incs, sends
				}
			}
		}
		return true, incs, sends
	}
	deadline := time.Now().Add(90 * time.Second)
	ok, incs, sends := settled()
	for !ok && time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		ok, incs, sends = settled()
	}
	// Events: every acknowledged one stored, once.
	var stored int
	conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE source = $1`, "chaos-"+runID).Scan(&stored) //nolint:errcheck
	n := 0
	acked.Range(func(any, any) bool { n++; return true })
	if stored != n {
		res.add(&res.lost, "%d events acknowledged, %d stored", n, stored)
	}
	var pending, dead int
	conn.QueryRow(ctx, `SELECT count(*) FILTER (WHERE relayed_at IS NULL AND dead_at IS NULL),
		count(*) FILTER (WHERE dead_at IS NOT NULL AND error_kind = 'invalid-argument') FROM events`).Scan(&pending, &dead) //nolint:errcheck
	if pending > 0 {
		res.add(&res.stuck, "%d events still pending", pending)
	}
	if dead != 1 {
		res.add(&res.stuck, "%d poison events quarantined, want 1", dead)
	}
	// Each order's workflow applied each of its events exactly once.
	ids := make([]string, 0, len(perOrder))
	for o := range perOrder {
		ids = append(ids, o)
	}
	sort.Strings(ids)
	for _, o := range ids {
		var sum workflows.OrderSummary
		var err error
		for try := 0; try < 3; try++ { // a query waits for a worker; one busy a moment is no loss
			qctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			var v converter.EncodedValue
			v, err = tc.QueryWorkflow(qctx, workflows.OrderWorkflowID(o), "", workflows.QueryState)
			cancel()
			if err == nil {
				err = v.Get(&sum)
			}
			if err == nil {
				break
			}
		}
		switch {
		case err != nil:
			res.add(&res.lost, "order %s: no workflow state (%v)", o, err)
		case sum.AppliedEvents < perOrder[o]:
			res.add(&res.lost, "order %s: %d of %d events applied", o, sum.AppliedEvents, perOrder[o])
		case sum.AppliedEvents > perOrder[o]:
			res.add(&res.duplicated, "order %s: %d events applied, %d sent", o, sum.AppliedEvents, perOrder[o])
		}
	}
	// Incidents: the expected ones, once each, told once or not at all.
	for _, o := range orders {
		got := incs[o.id]
		switch {
		case o.expect == "" && len(got) > 0:
			res.add(&res.duplicated, "order %s: %d unexpected incidents (%s)", o.id, len(got), got[0].kind)
		case o.expect != "" && !o.optional && len(got) == 0:
			res.add(&res.lost, "order %s: no %s incident", o.id, o.expect)
		case len(got) > 1:
			res.add(&res.duplicated, "order %s: %d incidents", o.id, len(got))
		}
		for _, i := range got {
			if i.kind != o.expect {
				res.add(&res.duplicated, "order %s: a %s incident, want %s", o.id, i.kind, o.expect)
			}
			switch s := sends[i.id]; {
			case o.contact && s == 0:
				res.add(&res.stuck, "order %s: the customer was never told", o.id)
			case o.contact && s > 1:
				res.add(&res.duplicated, "order %s: %d apologies", o.id, s)
			case !o.contact && s > 0:
				res.add(&res.duplicated, "order %s: told of what healed first", o.id)
			case !o.contact && i.status != "healed":
				res.add(&res.stuck, "order %s: incident %s, want healed", o.id, i.status)
			}
		}
	}
}

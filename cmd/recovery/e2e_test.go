package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/workflows"
)

// TestMain lets the test binary act as the recovery binary: the end-to-end
// tests start it as a subprocess with RECOVERY_TEST_AS_MAIN=1, so they run
// exactly the code `go run ./cmd/recovery` runs. After the tests, the
// API's answers they saw are checked against docs/openapi.yaml.
func TestMain(m *testing.M) {
	if os.Getenv("RECOVERY_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	installResponseRecorder()
	stacktest.MainThen(m, checkRecordedAnswers)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// lockedBuffer collects a subprocess's output: written by exec's copying
// goroutines while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// devProc is a `recovery dev` subprocess.
type devProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	out  *lockedBuffer
	env  []string
	base string
	done chan error
}

// freePort asks the kernel for a free loopback port.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// freePortBlock returns the first of five consecutive free ports (four
// for the embedded Temporal server, then the API's), below Linux's ephemeral range (32768 and up) so
// that no outgoing connection takes one of them between the two starts of
// the stack.
func freePortBlock(t *testing.T) int {
	t.Helper()
	for try := range 200 {
		base := 20000 + (os.Getpid()*7919+try*104729)%12000
		ok := true
		for i := range 6 {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+i))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no block of six free ports between 20000 and 32000")
	return 0
}

// devEnv returns the environment of a dev stack living in dataDir.
func devEnv(t *testing.T, dataDir string) ([]string, string) {
	ports := freePortBlock(t)
	addr := fmt.Sprintf("127.0.0.1:%d", ports+4)
	env := append(os.Environ(), "RECOVERY_TEST_AS_MAIN=1", "RECOVERY_DATA_DIR="+dataDir,
		"RECOVERY_ADDR="+addr, fmt.Sprintf("RECOVERY_TEMPORAL_PORT=%d", ports),
		"RECOVERY_URL=http://"+addr, "RECOVERY_DEV_API_KEY="+e2eKey, "DATABASE_URL=", "TEMPORAL_ADDRESS=",
		fmt.Sprintf("RECOVERY_TEMPORAL_UI_PORT=%d", ports+5))
	return env, "http://" + addr
}

// temporalAddrOf is the address of the embedded Temporal a dev stack in
// env runs.
func temporalAddrOf(env []string) string {
	for _, kv := range env {
		if port, ok := strings.CutPrefix(kv, "RECOVERY_TEMPORAL_PORT="); ok {
			return "127.0.0.1:" + port
		}
	}
	return ""
}

// startDev starts `recovery dev` and waits until /readyz answers 200 and
// the banner is out (dev prints it once its console account and the
// Temporal UI are in place, a moment after the API is ready).
func startDev(t *testing.T, env []string, base string) *devProc {
	t.Helper()
	p := startProc(t, env, base, "dev")
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(p.out.String(), "Stop:"); {
		if time.Now().After(deadline) {
			t.Fatalf("dev is ready but printed no banner within 30s:\n%s", p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return p
}

// startProc starts the binary with args and, when base is set, waits until
// its /readyz answers 200.
func startProc(t *testing.T, env []string, base string, args ...string) *devProc {
	t.Helper()
	p := &devProc{t: t, out: &lockedBuffer{}, env: env, base: base, done: make(chan error, 1)}
	p.cmd = exec.Command(os.Args[0], args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.stop(30 * time.Second) })
	if base == "" {
		return p
	}
	deadline := time.Now().Add(3 * time.Minute)
	for time.Now().Before(deadline) {
		select {
		case err := <-p.done:
			t.Fatalf("recovery %s exited early: %v\n%s", args[0], err, p.out)
		default:
		}
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("recovery %s not ready after 3 minutes:\n%s", args[0], p.out)
	return nil
}

// stop sends Ctrl-C and returns how long the process took to exit.
func (p *devProc) stop(limit time.Duration) time.Duration {
	if p.cmd.ProcessState != nil {
		return 0
	}
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGINT) //nolint:errcheck
	select {
	case <-p.done:
		p.cmd.ProcessState = &os.ProcessState{}
		return time.Since(start)
	case <-time.After(limit):
		p.cmd.Process.Kill() //nolint:errcheck
		<-p.done
		p.cmd.ProcessState = &os.ProcessState{}
		p.t.Errorf("recovery %s did not stop within %s after Ctrl-C:\n%s", p.cmd.Args[1], limit, p.out)
		return limit
	}
}

// databaseURL is the private Postgres the banner names.
func (p *devProc) databaseURL() string {
	for _, line := range strings.Split(p.out.String(), "\n") {
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "Postgres:"); ok {
			return strings.TrimSpace(u)
		}
	}
	p.t.Fatalf("the dev banner names no Postgres URL:\n%s", p.out)
	return ""
}

// waitRelayed waits until the relay has handed an event to its workflow
// (Temporal accepted the signal).
func waitRelayed(t *testing.T, dbURL, eventID string, limit time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for {
		var relayed bool
		err := conn.QueryRow(ctx, `SELECT relayed_at IS NOT NULL FROM events WHERE id = $1`, eventID).Scan(&relayed)
		if err == nil && relayed {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("event %s not relayed within %s (last error %v)", eventID, limit, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// api calls the running stack with the dev key and decodes the answer.
func api(t *testing.T, base, method, path string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, base+path, r)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		json.NewDecoder(resp.Body).Decode(out) //nolint:errcheck
	}
	return resp.StatusCode
}

// incident is the part of the pinned incident shape the tests check.
type incident struct {
	ID         string    `json:"id"`
	OrderID    string    `json:"order_id"`
	ShipmentID string    `json:"shipment_id"`
	Kind       string    `json:"kind"`
	Status     string    `json:"status"`
	Evidence   []string  `json:"evidence"`
	DetectedAt time.Time `json:"detected_at"`
	Decision   *struct {
		PolicyVersion string `json:"policy_version"`
		Rule          string `json:"rule"`
		Trace         []struct {
			Rule    string `json:"rule"`
			Matched bool   `json:"matched"`
			Why     string `json:"why"`
		} `json:"trace"`
	} `json:"decision"`
	Offer *struct {
		Remedy     string `json:"remedy"`
		ValueMinor int64  `json:"value_minor"`
		Currency   string `json:"currency"`
		Status     string `json:"status"`
	} `json:"offer"`
	Contacts []struct {
		Channel, To, Subject, Body, Status string
		SentAt                             *time.Time `json:"sent_at"`
	} `json:"contacts"`
}

// waitIncident polls GET /v1/incidents?order_id= until an incident of kind
// with a sent contact appears.
func waitIncident(t *testing.T, base, orderID, kind string, limit time.Duration) incident {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var out struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?order_id="+orderID, nil, &out)
		for _, inc := range out.Incidents {
			if inc.Kind == kind && len(inc.Contacts) > 0 && inc.Contacts[0].Status == "sent" {
				return inc
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("no %s incident with a sent contact for order %s within %s", kind, orderID, limit)
	return incident{}
}

// runCLI runs the binary with args in env and returns its output.
func runCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("recovery %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// lateOrder is an order promised soon whose parcel never arrives.
func lateOrder(orderID string, promised time.Time) map[string]any {
	return map[string]any{"events": []any{
		map[string]any{"id": orderID + "-1", "source": "e2e", "type": "order.created",
			"time": time.Now().UTC().Format(time.RFC3339),
			"data": map[string]any{"order_id": orderID, "currency": "USD", "total_minor": 2000,
				"promised_delivery": promised.UTC().Format(time.RFC3339),
				"customer":          map[string]any{"id": "c-1", "email": "late@example.com", "locale": "en-US"},
				"shipping_address":  map[string]any{"postal_code": "94107", "country": "US"},
				"lines":             []any{map[string]any{"sku": "A", "quantity": 1, "unit_price_minor": 2000}}}},
	}}
}

func TestDevStackEndToEnd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() { // as root the cluster lives outside the data dir
		if target, err := os.Readlink(filepath.Join(dataDir, "postgres", "cluster")); err == nil {
			os.RemoveAll(target)
		}
	})
	env, base := devEnv(t, dataDir)
	dev := startDev(t, env, base)

	// The README's story: the demo pushes a misroute; the incident carries
	// the captured apology.
	out := runCLI(t, env, "events", "demo")
	if !strings.Contains(out, `"kind": "misrouted"`) {
		t.Fatalf("demo output has no misrouted incident:\n%s", out)
	}
	orderID := strings.TrimSuffix(strings.Fields(strings.SplitN(out, "Pushed order ", 2)[1])[0], ":")
	demo := waitIncident(t, base, orderID, "misrouted", 10*time.Second)
	if demo.Offer == nil || demo.Offer.ValueMinor != 1350 || demo.Offer.Currency != "EUR" || demo.Offer.Status != "applied" {
		t.Fatalf("demo offer = %+v, want an applied 1350 EUR discount", demo.Offer)
	}
	c := demo.Contacts[0]
	if c.Channel != "email" || c.To != "ada@example.com" || c.SentAt == nil {
		t.Fatalf("apology contact = %+v", c)
	}
	// German, as the customer's locale says: German words, a decimal comma.
	if !strings.Contains(c.Subject, "Es tut uns leid") || !strings.Contains(c.Body, "Ihr Paket wurde falsch geleitet") ||
		!strings.Contains(c.Body, "13,50") || strings.Contains(c.Body, "13.50") {
		t.Fatalf("apology is not the German one with 13,50: %q / %q", c.Subject, c.Body)
	}
	if d := demo.Decision; d == nil || d.PolicyVersion == "" || d.Rule != "everything else" || len(d.Trace) != 4 ||
		d.Trace[0].Matched || d.Trace[0].Why == "" || !d.Trace[3].Matched {
		t.Fatalf("decision = %+v, want the built-in policy's catch-all with a reason for each rule before it", demo.Decision)
	}
	if len(demo.Evidence) != 1 || !strings.HasSuffix(demo.Evidence[0], "-scan-2") {
		t.Fatalf("evidence = %v, want the Poznań scan", demo.Evidence)
	}

	// Pushing the same story again changes nothing: every event is a duplicate.
	var res struct{ Accepted, Duplicates int }
	story := demoStory(orderID, time.Now())
	if code := api(t, base, "POST", "/v1/events", map[string]any{"events": story}, &res); code != 202 || res.Accepted != 0 || res.Duplicates != len(story) {
		t.Fatalf("repeat push: %d %+v", code, res)
	}

	// Every detector, each beside a journey that must open nothing.
	t.Run("scenarios", func(t *testing.T) { runScenarios(t, base) })
	t.Run("provider webhooks", func(t *testing.T) { runProviderStory(t, base) })

	// The built-in policy replayed over everything above.
	t.Run("policy dry-run", func(t *testing.T) {
		dbURL := dev.databaseURL()
		policyFile := filepath.Join(t.TempDir(), "p.yaml")
		os.WriteFile(policyFile, []byte(runCLI(t, env, "policy", "show")), 0o600) //nolint:errcheck
		out := runCLI(t, append(slices.Clone(env), "DATABASE_URL="+dbURL), "policy", "dry-run", policyFile)
		// The demo came first: the catch-all rule; a lost parcel is the
		// "lost or damaged" rule's.
		demoLine := ""
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, demo.ID) {
				demoLine = line
			}
		}
		if !strings.HasSuffix(demoLine, "everything else") || !strings.Contains(out, "lost or damaged") {
			t.Fatalf("dry-run output lacks the demo's rule or the lost-parcel rule:\n%s", out)
		}
		// The totals, summed independently over the read API: every offer
		// approved or carried out counts as given.
		var all struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?limit=500", nil, &all)
		var given int64
		for _, inc := range all.Incidents {
			if o := inc.Offer; o != nil && o.Currency == "EUR" && (o.Status == "approved" || o.Status == "applied") {
				given += o.ValueMinor
			}
		}
		want := fmt.Sprintf("EUR: offered %d.%02d EUR,", given/100, given%100)
		if given < 1350 || !strings.Contains(out, want) {
			t.Fatalf("dry-run totals: want %q (%d incidents, the demo's 13.50 among them):\n%s", want, len(all.Incidents), out)
		}
	})

	// Nothing personal in Temporal: every history of every story above is
	// read back and searched for the customers' names, addresses, codes
	// and link tokens.
	t.Run("no personal data in Temporal", func(t *testing.T) {
		assertNoPersonalDataInTemporal(t, temporalAddrOf(env), dev.databaseURL())
	})
	t.Run("erasure", func(t *testing.T) { runErasure(t, base, dev.databaseURL()) })
	t.Run("search attributes", func(t *testing.T) { findBySearchAttributes(t, temporalAddrOf(env), orderID, demo.ID) })
	t.Run("metrics", func(t *testing.T) { scrapeMetrics(t, base) })
	t.Run("temporal ui", func(t *testing.T) { checkTemporalUI(t, env, base, orderID) })
	t.Run("console", func(t *testing.T) { checkConsole(t, base, demo.ID) })
	// Paging: pages of 3 with the cursor find the same incidents as one
	// page of 500, in the same order.
	t.Run("paging", func(t *testing.T) {
		var all struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?limit=500", nil, &all)
		var paged []string
		for path := "/v1/incidents?limit=3"; path != ""; {
			var page struct {
				Incidents  []incident
				NextCursor string `json:"next_cursor"`
			}
			if code := api(t, base, "GET", path, nil, &page); code != 200 {
				t.Fatalf("%s: %d", path, code)
			}
			for _, inc := range page.Incidents {
				paged = append(paged, inc.ID)
			}
			path = ""
			if page.NextCursor != "" {
				path = "/v1/incidents?limit=3&cursor=" + page.NextCursor
			}
		}
		var whole []string
		for _, inc := range all.Incidents {
			whole = append(whole, inc.ID)
		}
		if len(whole) < 4 || !slices.Equal(paged, whole) {
			t.Fatalf("pages of 3 gave %d incidents, one page %d:\n%v\n%v", len(paged), len(whole), paged, whole)
		}
	})

	// A late order whose promise falls while the stack is down: the timer
	// set before the stop must fire after the restart.
	lateID := fmt.Sprintf("late-%d", time.Now().UnixNano())
	promise := time.Now().Add(20 * time.Second)
	if code := api(t, base, "POST", "/v1/events", lateOrder(lateID, promise), &res); code != 202 || res.Accepted != 1 {
		t.Fatalf("late order push: %d %+v", code, res)
	}
	// Relayed means its workflow has the order, and so the timer.
	waitRelayed(t, dev.databaseURL(), lateID+"-1", 30*time.Second)
	took := dev.stop(30 * time.Second)
	t.Logf("Ctrl-C stopped the stack in %s", took)
	if time.Now().After(promise) {
		t.Fatalf("the stack took until after the promise to stop (%s): the timer may have fired before the restart", took)
	}
	for time.Now().Before(promise.Add(time.Second)) { // the promise passes while nothing runs
		time.Sleep(100 * time.Millisecond)
	}
	restarted := time.Now()
	dev = startDev(t, env, base)
	again := waitIncident(t, base, orderID, "misrouted", 10*time.Second)
	if again.ID != demo.ID || len(again.Contacts) != 1 {
		t.Fatalf("after restart the incident changed: %+v (was %+v)", again, demo)
	}
	late := waitIncident(t, base, lateID, "late", 90*time.Second)
	if late.Offer == nil || late.Offer.ValueMinor != 300 {
		t.Fatalf("late offer = %+v, want 15%% of 2000 = 300", late.Offer)
	}
	if late.DetectedAt.Before(restarted) {
		t.Fatalf("late incident detected at %s, before the restart at %s", late.DetectedAt, restarted)
	}
	dev.stop(30 * time.Second)
}

// checkTemporalUI finds the Temporal UI that dev serves: the page, its
// settings naming dev's codec endpoint (so that payloads are decoded
// there), and the demo order's workflow through the UI's own API.
func checkTemporalUI(t *testing.T, env []string, base, orderID string) {
	var port string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "RECOVERY_TEMPORAL_UI_PORT="); ok {
			port = v
		}
	}
	ui := "http://127.0.0.1:" + port
	get := func(path string) (int, string) {
		resp, err := http.Get(ui + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != 200 || !strings.Contains(body, "<html") {
		t.Fatalf("the UI's page: %d %.200s", code, body)
	}
	var settings struct {
		Codec struct{ Endpoint string }
	}
	_, body := get("/api/v1/settings")
	if err := json.Unmarshal([]byte(body), &settings); err != nil || settings.Codec.Endpoint != base+"/codec" {
		t.Fatalf("UI settings name codec endpoint %q, want %s/codec (%v): %.300s", settings.Codec.Endpoint, base, err, body)
	}
	code, body := get("/api/v1/namespaces/default/workflows/" + url.PathEscape(workflows.OrderWorkflowID(orderID)))
	if code != 200 || !strings.Contains(body, "OrderWorkflow") {
		t.Fatalf("the demo order's workflow through the UI: %d %.300s", code, body)
	}
	// The browser, on the UI's page, may call the codec endpoint.
	req, _ := http.NewRequest(http.MethodOptions, base+"/codec/default/decode", nil)
	req.Header.Set("Origin", ui)
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() //nolint:errcheck
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != ui {
		t.Fatalf("the codec endpoint's preflight from the UI's origin %s: %d, allows %q", ui, resp.StatusCode, got)
	}
}

// checkConsole signs in to the console with dev's account (printed in
// the banner) and reads the queue and the demo's incident page.
func checkConsole(t *testing.T, base, incidentID string) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	resp, err := hc.PostForm(base+"/console/login", url.Values{"name": {DevConsoleUser}, "password": {DevConsolePassword}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close() //nolint:errcheck
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Awaiting approval") || !strings.Contains(string(body), DevConsoleUser) {
		t.Fatalf("signed in, the queue: %d %.300s", resp.StatusCode, body)
	}
	resp, err = hc.Get(base + "/console/incidents/" + incidentID)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close() //nolint:errcheck
	// The timeline tells the demo's story from the store: the scan in
	// Poznań is the evidence, and the apology as the customer got it.
	for _, want := range []string{"Timeline", "Poznań", "(evidence)", "The message"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("the demo's incident page lacks %q", want)
		}
	}
	if resp.StatusCode != 200 || !strings.Contains(string(body), "misrouted") || !strings.Contains(string(body), "Why this offer") {
		t.Fatalf("the demo's incident page: %d %.300s", resp.StatusCode, body)
	}
}

package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/worker"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/recoveryhq/recovery/internal/codec"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/workflows"
)

// personalData collects, from the project's database, everything that
// must never reach Temporal: the customers' names, email addresses, phone
// numbers and streets from the events, the addresses messages went to,
// the codes issued, and the signed tokens of the links sent.
func personalData(t *testing.T, dbURL string) []string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	seen := map[string]bool{}
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= 6 { // short strings match by chance
			seen[strings.ToLower(s)] = true
		}
	}
	rows, _ := conn.Query(ctx, `SELECT type, data FROM events WHERE type IN ('order.created', 'order.updated', 'customer.updated')`)
	for rows.Next() {
		var typ string
		var data []byte
		if err := rows.Scan(&typ, &data); err != nil {
			t.Fatal(err)
		}
		var oc recovery.OrderContact
		oc.Apply(typ, data)
		add(oc.Customer.Name)
		add(oc.Customer.Email)
		add(oc.Customer.Phone)
		add(recovery.NormalizeAddress(recovery.ChannelSMS, oc.Customer.Phone))
		add(oc.Address.Line1)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	token := regexp.MustCompile(`/[ru]/([A-Za-z0-9._~-]{16,})`)
	rows, _ = conn.Query(ctx, `SELECT to_addr, body FROM contacts`)
	for rows.Next() {
		var to, body string
		if err := rows.Scan(&to, &body); err != nil {
			t.Fatal(err)
		}
		add(to)
		for _, m := range token.FindAllStringSubmatch(body, -1) {
			add(m[1])
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT code FROM issued_codes UNION SELECT code FROM offers WHERE code <> ''`)
	for rows.Next() {
		var code string
		if err := rows.Scan(&code); err != nil {
			t.Fatal(err)
		}
		add(code)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	return out
}

// historyText returns everything a history event holds as text: the event
// in protojson (error messages, ids, types: payloads there are base64) and
// the decoded data of every payload in it (inputs, results, signals,
// updates, memo, search attributes, failure details), decrypted by open
// first (dev encrypts them with its built-in key).
func historyText(m protoreflect.Message, b *strings.Builder, open func(*commonpb.Payload) *commonpb.Payload) {
	if p, ok := m.Interface().(*commonpb.Payload); ok {
		p = open(p)
		b.Write(p.GetData())
		b.WriteByte('\n')
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				historyText(v.List().Get(i).Message(), b, open)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				historyText(mv.Message(), b, open)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			historyText(v.Message(), b, open)
		}
		return true
	})
}

// assertNoPersonalDataInTemporal reads back every workflow history the
// stack left in Temporal, every run, and fails on any of the personal
// data, encoded or not, encrypted (with dev's built-in key) or not, and
// on any history that does not replay with today's code. It returns how
// many histories and events it read.
func assertNoPersonalDataInTemporal(t *testing.T, temporalAddr, dbURL string) (histories, events int) {
	t.Helper()
	secrets := personalData(t, dbURL)
	if len(secrets) < 10 {
		t.Fatalf("only %d personal values in the database: the check would prove nothing", len(secrets))
	}
	devCodec, err := codec.New(codec.DevKey())
	if err != nil {
		t.Fatal(err)
	}
	decrypted := 0
	open := func(p *commonpb.Payload) *commonpb.Payload {
		if !codec.Encrypted(p) {
			return p
		}
		out, err := devCodec.Decode([]*commonpb.Payload{p})
		if err != nil {
			t.Errorf("a payload does not decrypt with the dev key: %v", err)
			return p
		}
		decrypted++
		return out[0]
	}
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default", Logger: quietTemporalLogger(quietLogger())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var token []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default",
			PageSize: 500, NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range page.Executions {
			histories++
			var text strings.Builder
			var hist historypb.History
			it := c.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false,
				enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				hist.Events = append(hist.Events, ev)
				events++
				js, _ := protojson.Marshal(ev)
				text.Write(js)
				text.WriteByte('\n')
				historyText(ev.ProtoReflect(), &text, open)
			}
			// The execution's own record: memo and search attributes.
			info, _ := protojson.Marshal(ex)
			text.Write(info)
			historyText(ex.ProtoReflect(), &text, open)
			// Every history the stories left replays with today's code.
			replayer, err := worker.NewWorkflowReplayerWithOptions(worker.WorkflowReplayerOptions{
				DataConverter: converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), devCodec)})
			if err != nil {
				t.Fatal(err)
			}
			replayer.RegisterWorkflow(workflows.OrderWorkflow)
			replayer.RegisterWorkflow(workflows.RecoveryWorkflow)
			if err := replayer.ReplayWorkflowHistory(nil, &hist); err != nil {
				t.Errorf("workflow %s (run %s) does not replay: %v", ex.Execution.WorkflowId, ex.Execution.RunId, err)
			}
			lower := strings.ToLower(text.String())
			for _, s := range secrets {
				if strings.Contains(lower, s) {
					t.Errorf("workflow %s (run %s) holds %q", ex.Execution.WorkflowId, ex.Execution.RunId, s)
				}
			}
		}
		if token = page.NextPageToken; len(token) == 0 {
			break
		}
	}
	if histories == 0 {
		t.Fatal("no workflow histories to read")
	}
	if decrypted == 0 {
		t.Error("no payload was encrypted: dev encrypts every payload with its built-in key")
	}
	t.Logf("read %d histories, %d events (%d payloads decrypted): none holds any of %d personal values", histories, events,
		decrypted, len(secrets))
	return histories, events
}

// dumpDatabase returns every row of every table of the project's database
// as JSON text, bytea as hex: the data a pg_dump holds.
func dumpDatabase(t *testing.T, dbURL string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, _ := conn.Query(ctx, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY table_name`)
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil || len(tables) < 10 {
		t.Fatalf("tables %v: %v", tables, err)
	}
	var b strings.Builder
	for _, table := range tables {
		rows, _ := conn.Query(ctx, `SELECT row_to_json(t)::text FROM `+pgx.Identifier{table}.Sanitize()+` t`)
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		b.WriteString(table + "\n" + strings.Join(lines, "\n") + "\n")
	}
	return strings.ToLower(b.String())
}

// runErasure tells a customer of a misroute, then erases them through the
// API: the export before holds their data; the database after holds none
// of it, and the incident, its kind and its amounts are still there.
func runErasure(t *testing.T, base, dbURL string) {
	n := time.Now().UnixNano() % 100000
	order := fmt.Sprintf("erase-%05d", n)
	who := map[string]string{"c-7": fmt.Sprintf("cust-zoe-%d", n), "Ada Weber": "Zoë Erasmus",
		"ada@example.com": fmt.Sprintf("zoe.erasmus.%d@example.com", n), "+493012345678": fmt.Sprintf("+4917055%05d", n),
		"Invalidenstr. 1": "Löschweg 9"}
	var story []json.RawMessage
	for _, ev := range demoStory(order, time.Now()) {
		s := string(ev)
		for from, to := range who {
			s = strings.ReplaceAll(s, from, to)
		}
		story = append(story, json.RawMessage(s))
	}
	if code := api(t, base, "POST", "/v1/events", map[string]any{"events": story}, nil); code != 202 {
		t.Fatalf("push: %d", code)
	}
	inc := waitIncident(t, base, order, "misrouted", 30*time.Second)
	if inc.Contacts[0].To != who["ada@example.com"] {
		t.Fatalf("the apology went to %q", inc.Contacts[0].To)
	}
	ops := func(method, path string, out any) int {
		req, _ := http.NewRequest(method, base+path, nil)
		req.Header.Set("Authorization", "Bearer dev-ops-key")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		json.NewDecoder(resp.Body).Decode(out) //nolint:errcheck
		return resp.StatusCode
	}
	var exp struct {
		Orders    []string
		Events    []json.RawMessage
		Incidents []incident
	}
	if code := ops("GET", "/v1/customers/"+who["c-7"]+"/export", &exp); code != 200 || len(exp.Orders) != 1 ||
		len(exp.Events) != len(story) || len(exp.Incidents) != 1 || !strings.Contains(string(exp.Events[0]), "Zoë Erasmus") {
		t.Fatalf("export: %d %+v", code, exp)
	}
	var rep map[string]any
	if code := ops("POST", "/v1/customers/"+who["c-7"]+"/erase", &rep); code != 200 || rep["events"] == 0.0 || rep["contacts"] != 1.0 {
		t.Fatalf("erase: %d %v", code, rep)
	}
	dump := dumpDatabase(t, dbURL)
	for _, personal := range []string{who["Ada Weber"], who["ada@example.com"], who["+493012345678"], who["Invalidenstr. 1"], who["c-7"]} {
		if strings.Contains(dump, strings.ToLower(personal)) || strings.Contains(dump, hex.EncodeToString([]byte(strings.ToLower(personal)))) {
			t.Errorf("after erasure the database still holds %q", personal)
		}
	}
	var after incident
	if code := api(t, base, "GET", "/v1/incidents/"+inc.ID, nil, &after); code != 200 || after.Kind != "misrouted" ||
		after.Offer == nil || after.Offer.ValueMinor != inc.Offer.ValueMinor || after.Offer.Currency != "EUR" ||
		len(after.Contacts) != 1 || after.Contacts[0].Status != "sent" || after.Contacts[0].To != "" {
		t.Fatalf("the incident after erasure: %d %+v", code, after)
	}
	if code := ops("POST", "/v1/customers/"+who["c-7"]+"/erase", &rep); code != 200 || rep["events"] != 0.0 || rep["contacts"] != 0.0 {
		t.Fatalf("erasing again: %d %v", code, rep)
	}
}

// findBySearchAttributes finds the demo's incident in Temporal's
// visibility by what it is (kind, order, carrier) and where it stands.
func findBySearchAttributes(t *testing.T, temporalAddr, orderID, incidentID string) {
	c, err := client.Dial(client.Options{HostPort: temporalAddr, Namespace: "default", Logger: quietTemporalLogger(quietLogger())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	query := fmt.Sprintf("RecoveryKind = 'misrouted' AND RecoveryOrderID = '%s' AND RecoveryCarrier = 'dhl' AND RecoveryStage = 'done'", orderID)
	deadline := time.Now().Add(15 * time.Second)
	for {
		res, err := c.ListWorkflow(context.Background(), &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", Query: query})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Executions) == 1 {
			if id := res.Executions[0].Execution.WorkflowId; !strings.HasPrefix(id, "incident/"+orderID+"/") {
				t.Fatalf("found %s, want the demo's incident (%s)", id, incidentID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%q found %d workflows, want the demo's incident", query, len(res.Executions))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// scrapeMetrics checks that /metrics holds the key series, moved by the
// stories above, and the Temporal SDK's under their standard names.
func scrapeMetrics(t *testing.T, base string) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	text := string(raw)
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics: %d", resp.StatusCode)
	}
	value := func(prefix string) float64 {
		sum := 0.0
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, prefix) {
				f := strings.Fields(line)
				v, _ := strconv.ParseFloat(f[len(f)-1], 64)
				sum += v
			}
		}
		return sum
	}
	for _, series := range []string{
		`recovery_events_received_total{outcome="accepted"`,
		`recovery_events_received_total{outcome="duplicate"`,
		`recovery_http_requests_total{code="202",method="POST",route="POST /v1/events"}`,
		`recovery_incidents_total{event="opened",kind="misrouted"}`,
		`recovery_contacts_total{channel="email",status="sent"}`,
		`recovery_remedies_total{currency="EUR",remedy="discount"}`,
		`recovery_remedy_value_minor_units_total{currency="EUR",remedy="discount"}`,
		`recovery_detection_to_first_contact_seconds_count`,
		`recovery_ingest_commit_events_count`,
		`recovery_provider_request_duration_seconds_count{provider="capture"}`,
		`temporal_request_total`,
		`temporal_workflow_completed_total`,
		`temporal_activity_execution_latency_seconds_count`,
		`temporal_workflow_task_schedule_to_start_latency_seconds_count`,
	} {
		if value(series) <= 0 {
			t.Errorf("/metrics: %s did not move", series)
		}
	}
	for _, gauge := range []string{"recovery_relay_pending_events ", "recovery_relay_oldest_pending_seconds ",
		"recovery_events_quarantined ", "recovery_approvals_waiting "} {
		if !strings.Contains(text, "\n"+gauge) {
			t.Errorf("/metrics has no %s", gauge)
		}
	}
	// No label names an order, an incident or a customer.
	named := regexp.MustCompile(`="[^"]*(demo-\d|inc-|@|order/|incident/)`)
	for _, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "#") && named.MatchString(line) {
			t.Errorf("a label names an order, an incident or a customer: %s", line)
		}
	}
	if t.Failed() {
		var names []string
		for _, line := range strings.Split(text, "\n") {
			if strings.HasPrefix(line, "temporal_") || strings.HasPrefix(line, "recovery_") {
				names = append(names, strings.SplitN(line, " ", 2)[0])
			}
		}
		t.Logf("series:\n%s", strings.Join(names, "\n"))
	}
}

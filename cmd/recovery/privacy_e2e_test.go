package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/recoveryhq/recovery/internal/codec"
	"github.com/recoveryhq/recovery/internal/recovery"
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
// data, encoded or not, encrypted (with dev's built-in key) or not. It
// returns how many histories and events it read.
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
			it := c.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false,
				enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
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

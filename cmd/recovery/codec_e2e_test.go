package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	commonpb "go.temporal.io/api/common/v1"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/recoveryhq/recovery/internal/codec"
)

// eachPayload calls fn with every payload a history event holds, except
// search attributes (Temporal's server must read those, so no codec ever
// sees them; they hold workflow versions, never data).
func eachPayload(m protoreflect.Message, fn func(*commonpb.Payload)) {
	switch v := m.Interface().(type) {
	case *commonpb.Payload:
		fn(v)
		return
	case *commonpb.SearchAttributes:
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList() && fd.Message() != nil:
			for i := 0; i < v.List().Len(); i++ {
				eachPayload(v.List().Get(i).Message(), fn)
			}
		case fd.IsMap() && fd.MapValue().Message() != nil:
			v.Map().Range(func(_ protoreflect.MapKey, mv protoreflect.Value) bool {
				eachPayload(mv.Message(), fn)
				return true
			})
		case !fd.IsList() && !fd.IsMap() && fd.Message() != nil:
			eachPayload(v.Message(), fn)
		}
		return true
	})
}

// demoOrder is the order id `events demo` printed.
func demoOrder(t *testing.T, out string) string {
	t.Helper()
	_, rest, ok := strings.Cut(out, "Pushed order ")
	if !ok || !strings.Contains(out, `"kind": "misrouted"`) {
		t.Fatalf("demo output has no misrouted incident:\n%s", out)
	}
	return strings.TrimSuffix(strings.Fields(rest)[0], ":")
}

// decodeVia posts payloads to a codec endpoint's /default/decode with the
// header given and returns the status and the decoded payloads.
func decodeVia(t *testing.T, endpoint string, ps []*commonpb.Payload, header ...string) (int, []*commonpb.Payload) {
	t.Helper()
	body, err := protojson.Marshal(&commonpb.Payloads{Payloads: ps})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", endpoint+"/default/decode", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Namespace", "default")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("%s/default/decode: %d as %q, want problem+json: %s", endpoint, resp.StatusCode, ct, b)
		}
		return resp.StatusCode, nil
	}
	var out commonpb.Payloads
	if err := protojson.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s/default/decode answered %s: %v", endpoint, b, err)
	}
	return resp.StatusCode, out.Payloads
}

// TestPayloadEncryptionAndKeyRotation runs dev with key k1, pushes the
// demo story, restarts it with "k2,k1", pushes it again and heals the
// first order's misroute (its workflows, written with k1, are replayed
// and carried on with k2), then reads every history back with a client
// that has no codec: every payload is encrypted, with k1 before the
// rotation and k2 after. The codec endpoints (dev's own, and
// `recovery codec-server` with a read key) turn them back into JSON.
func TestPayloadEncryptionAndKeyRotation(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() { // as root the cluster lives outside the data dir
		if target, err := os.Readlink(filepath.Join(dataDir, "postgres", "cluster")); err == nil {
			os.RemoveAll(target)
		}
	})
	k1, k2 := "k1:"+b64Key(0x11), "k2:"+b64Key(0x22)
	env, base := devEnv(t, dataDir)
	withKeys := func(keys string) []string { return append(slices.Clone(env), "RECOVERY_PAYLOAD_KEYS="+keys) }

	start := time.Now()
	dev := startDev(t, withKeys(k1), base)
	if banner := dev.out.String(); !strings.Contains(banner, "Payloads:  encrypted with key k1") ||
		!strings.Contains(banner, "Codec:     "+base+"/codec") {
		t.Fatalf("the dev banner does not name the key and the codec endpoint:\n%s", banner)
	}
	first := demoOrder(t, runCLI(t, withKeys(k1), "events", "demo"))
	t.Logf("k1: dev up and the demo's incident open after %s", time.Since(start).Round(time.Second))
	dev.stop(30 * time.Second)
	rotated := time.Now()

	dev = startDev(t, withKeys(k2+","+k1), base)
	second := demoOrder(t, runCLI(t, withKeys(k2+","+k1), "events", "demo"))
	if second == first {
		t.Fatalf("both demos pushed order %s", first)
	}
	// Delivered to the right address after all: the first order's
	// misroute heals, which its k1 workflows can only do if the worker
	// reads their k1 history after the rotation.
	scan := map[string]any{"id": first + "-delivered", "source": "demo-shop", "type": "shipment.tracking",
		"time": time.Now().UTC().Format(time.RFC3339),
		"data": map[string]any{"order_id": first, "shipment_id": "s-1", "carrier": "dhl", "status": "delivered",
			"location": map[string]any{"city": "Berlin", "postal_code": "10115", "country": "DE"}}}
	if code := api(t, base, "POST", "/v1/events", scan, nil); code != 202 {
		t.Fatalf("delivered scan: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var out struct{ Incidents []incident }
		api(t, base, "GET", "/v1/incidents?order_id="+first, nil, &out)
		if len(out.Incidents) == 1 && out.Incidents[0].Status == "healed" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first order's incident did not heal after the rotation: %+v\n%s", out.Incidents, dev.out)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("k2,k1: restarted, second demo, first order healed after %s", time.Since(start).Round(time.Second))

	// Every history, read with a client that has no codec.
	c, err := client.Dial(client.Options{HostPort: temporalAddrOf(env), Namespace: "default",
		Logger: quietTemporalLogger(quietLogger())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	byKey := map[string]int{}
	var all []*commonpb.Payload
	histories, mixed := 0, 0
	var token []byte
	for {
		page, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{Namespace: "default", PageSize: 500,
			NextPageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, ex := range page.Executions {
			histories++
			keys := map[string]bool{}
			it := c.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enumspb.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
			for it.HasNext() {
				ev, err := it.Next()
				if err != nil {
					t.Fatal(err)
				}
				want := "k2"
				if ev.EventTime.AsTime().Before(rotated) {
					want = "k1"
				}
				eachPayload(ev.ProtoReflect(), func(p *commonpb.Payload) {
					enc := string(p.GetMetadata()["encoding"])
					if enc != codec.Encoding {
						t.Errorf("%s event %d (%s): a payload encoded %q (%d bytes), not encrypted", ex.Execution.WorkflowId, ev.EventId,
							ev.EventType, enc, len(p.Data))
						return
					}
					if id := codec.KeyIDOf(p); id != want {
						t.Errorf("%s event %d (%s) at %s: key %q, want %s (rotated at %s)", ex.Execution.WorkflowId, ev.EventId,
							ev.EventType, ev.EventTime.AsTime().Format(time.TimeOnly), id, want, rotated.Format(time.TimeOnly))
					}
					byKey[codec.KeyIDOf(p)]++
					keys[codec.KeyIDOf(p)] = true
					all = append(all, p)
				})
			}
			if len(keys) == 2 {
				mixed++
			}
		}
		if token = page.NextPageToken; len(token) == 0 {
			break
		}
	}
	t.Logf("%d histories: %d payloads with k1, %d with k2; %d histories hold both", histories, byKey["k1"], byKey["k2"], mixed)
	if byKey["k1"] < 5 || byKey["k2"] < 5 || mixed == 0 || len(all) != byKey["k1"]+byKey["k2"] {
		t.Fatalf("want payloads of both keys and a history carried on across the rotation: %v, %d mixed", byKey, mixed)
	}

	// Back to JSON through dev's own codec endpoint (a caller on this
	// machine), and through `recovery codec-server` with a read key.
	checkDecoded := func(where string, ps []*commonpb.Payload) {
		t.Helper()
		if len(ps) != len(all) {
			t.Fatalf("%s decoded %d payloads of %d", where, len(ps), len(all))
		}
		jsons := 0
		for i, p := range ps {
			switch enc := string(p.GetMetadata()["encoding"]); enc {
			case "json/plain":
				if !json.Valid(p.Data) {
					t.Fatalf("%s: payload %d is not JSON (%d bytes)", where, i, len(p.Data))
				}
				jsons++
			case "binary/null":
			default:
				t.Fatalf("%s: payload %d decoded to %q", where, i, enc)
			}
		}
		if jsons*2 < len(ps) {
			t.Fatalf("%s: only %d of %d payloads are JSON", where, jsons, len(ps))
		}
	}
	status, decoded := decodeVia(t, base+"/codec", all)
	if status != 200 {
		t.Fatalf("dev's codec endpoint: %d", status)
	}
	checkDecoded("dev's /codec", decoded)

	reader := "codec-reader-" + fmt.Sprint(time.Now().UnixNano())
	codecAddr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	srvEnv := append(withKeys(k2+","+k1), "RECOVERY_CODEC_ADDR="+codecAddr,
		`RECOVERY_KEYS={"keys": [{"name": "ops-reader", "key": "`+reader+`", "rights": ["read"]}]}`)
	srv := startProc(t, srvEnv, "", "codec-server")
	endpoint := "http://" + codecAddr
	for i := 0; ; i++ {
		if resp, err := http.Get(endpoint + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if i == 100 {
			t.Fatalf("codec-server did not answer:\n%s", srv.out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, _ := decodeVia(t, endpoint, all[:1]); status != 401 {
		t.Fatalf("codec-server without a credential: %d, want 401", status)
	}
	if status, _ := decodeVia(t, endpoint, all[:1], "Authorization", "Bearer not-"+reader); status != 401 {
		t.Fatalf("codec-server with a wrong key: %d, want 401", status)
	}
	status, decoded = decodeVia(t, endpoint, all, "Authorization", "Bearer "+reader)
	if status != 200 {
		t.Fatalf("codec-server with a read key: %d\n%s", status, srv.out)
	}
	checkDecoded("codec-server", decoded)
	srv.stop(10 * time.Second)
	for _, secret := range []string{b64Key(0x11), b64Key(0x22), reader} {
		if strings.Contains(srv.out.String(), secret) || strings.Contains(dev.out.String(), secret) {
			t.Errorf("a key shows in the output:\n%s\n%s", srv.out, dev.out)
		}
	}
	dev.stop(30 * time.Second)
	t.Logf("done in %s", time.Since(start).Round(time.Second))
}

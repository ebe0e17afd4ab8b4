package main

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/faults"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
)

// TestServeWithTemporalUnreachable starts `recovery serve` and `worker`
// while Temporal cannot be reached (a proxy that refuses connections):
// serve starts, /readyz is 200, events are accepted with 202 and kept.
// When Temporal comes back, every event reaches its workflow and the
// misroute among them is contacted.
func TestServeWithTemporalUnreachable(t *testing.T) {
	dbURL := stacktest.PostgresURL(t)
	tp := stacktest.Temporal(t)
	proxy, err := faults.NewProxy(tp.Address())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Down()
	sg := providerstub.SendGrid("SG.e2e-key")
	defer sg.Close()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	base := "http://" + addr
	env := append(os.Environ(), "RECOVERY_TEST_AS_MAIN=1", "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+proxy.Addr(),
		"RECOVERY_ADDR="+addr, "RECOVERY_API_KEYS=e2e-key", "RECOVERY_CONTACT_WINDOW=00:00-24:00", "RECOVERY_LINK_SECRET=outage",
		"SENDGRID_API_KEY=SG.e2e-key", "SENDGRID_FROM=care@shop.example", "SENDGRID_API_BASE="+sg.URL)
	startProc(t, env, base, "serve") // waits for /readyz 200
	startProc(t, append(slices.Clone(env), "RECOVERY_ADDR="), "", "worker")

	code, body := as(t, "e2e-key", base, "GET", "/readyz", nil)
	if code != 200 || !strings.Contains(body, "waiting for Temporal") {
		t.Fatalf("readyz while Temporal is away: %d %s", code, body)
	}
	orderID := fmt.Sprintf("outage-%d", time.Now().UnixNano())
	story := demoStory(orderID, time.Now())
	if code := api(t, base, "POST", "/v1/events", map[string]any{"events": story}, nil); code != 202 {
		t.Fatalf("push while Temporal is away: %d", code)
	}
	// Committed before the 202, kept while Temporal is away.
	if code, body := as(t, "e2e-key", base, "GET", "/readyz", nil); code != 200 || !strings.Contains(body, `"pending":`+fmt.Sprint(len(story))) {
		t.Fatalf("readyz with the story waiting: %d %s", code, body)
	}

	proxy.Up()
	inc := waitIncident(t, base, orderID, "misrouted", 90*time.Second)
	if inc.Contacts[0].Channel != "email" {
		t.Fatalf("incident %+v", inc)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := as(t, "e2e-key", base, "GET", "/readyz", nil)
		if code == 200 && strings.Contains(body, `"relay":"ok"`) && strings.Contains(body, `"pending":0`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after Temporal returned: %d %s", code, body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
}

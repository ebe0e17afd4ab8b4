package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
)

// TestKilledWorkerSendsExactlyOnce kills the worker process (SIGKILL) the
// moment SendGrid has accepted the apology and before the activity could
// complete. Temporal retries the activity on another worker, which finds
// the ledger row and does not send again: the customer gets one email.
func TestKilledWorkerSendsExactlyOnce(t *testing.T) {
	ctx := context.Background()
	dbURL := stacktest.PostgresURL(t)
	tp := stacktest.Temporal(t)
	sg := providerstub.SendGrid("SG.e2e-key")
	defer sg.Close()

	vars := sendGridVars(dbURL, tp.Address(), sg.URL, "SG.e2e-key")
	cfg := configOf(t, vars)
	api, err := startStack(ctx, cfg, dbURL, tp.Address(), parts{api: true, relay: true}, true, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer api.Stop()
	base := "http://" + api.Addr()

	// The first worker is a process of its own, killed from inside the
	// provider stub once the request has arrived.
	var env []string
	env = append(env, os.Environ()...)
	env = append(env, "RECOVERY_TEST_AS_MAIN=1")
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	env = append(env, "RECOVERY_PUBLIC_URL="+base, "RECOVERY_ADDR=")
	first := exec.Command(os.Args[0], "worker")
	first.Env = env
	out := &lockedBuffer{}
	first.Stdout, first.Stderr = out, out
	killed := make(chan struct{})
	var once sync.Once
	sg.BeforeAnswer = func(providerstub.Request) {
		once.Do(func() {
			first.Process.Kill() //nolint:errcheck
			close(killed)
		})
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	defer first.Process.Kill() //nolint:errcheck
	go first.Wait()            //nolint:errcheck

	order := fmt.Sprintf("kill-%d", time.Now().UnixNano())
	push(t, base, misroute(order, "kill@example.com", "EUR", 8999))
	select {
	case <-killed:
	case <-time.After(90 * time.Second):
		t.Fatalf("the apology never reached SendGrid; worker output:\n%s", out.String())
	}

	// A second worker (in this process) takes the retry.
	wcfg := cfg
	wcfg.Addr = ""
	second, err := startStack(ctx, wcfg, dbURL, tp.Address(), parts{worker: true}, false, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Stop()
	inc := waitFor(t, base, order, "the retried send settled", 90*time.Second, func(i remedyIncident) bool {
		return len(i.Contacts) == 1 && i.Contacts[0].Status != "sending"
	})
	if got := inc.Contacts[0].Status; got != "unconfirmed" {
		t.Fatalf("contact status = %q, want unconfirmed (the retry found the ledger row)", got)
	}
	// Give a wrong implementation time to send again.
	time.Sleep(2 * time.Second)
	if n := len(sg.Requests()); n != 1 {
		t.Fatalf("SendGrid received %d requests for one ladder step, want exactly 1", n)
	}
}

// sendGridVars are the settings of a stack on dbURL and temporalAddr
// that sends email through SendGrid's stub at sgURL, round the clock.
func sendGridVars(dbURL, temporalAddr, sgURL, key string) map[string]string {
	return map[string]string{"RECOVERY_ADDR": "127.0.0.1:0", "RECOVERY_DEV_API_KEY": e2eKey, "RECOVERY_LINK_SECRET": "e2e-links",
		"SENDGRID_API_KEY": key, "SENDGRID_FROM": "care@shop.example", "SENDGRID_API_BASE": sgURL,
		"RECOVERY_CONTACT_WINDOW": "00:00-24:00", "DATABASE_URL": dbURL, "TEMPORAL_ADDRESS": temporalAddr}
}

// configOf loads the configuration of vars.
func configOf(t *testing.T, vars map[string]string) Config {
	t.Helper()
	cfg, err := loadConfig(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

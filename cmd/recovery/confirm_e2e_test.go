package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/faults"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
)

// TestApologyLostBeforeItLeftIsSentAgain reproduces the send that dies
// between the ledger row and the provider: SendGrid is reached through a
// proxy that takes each connection and drops it before reading a byte,
// so the first attempt fails without an answer and its retry finds the
// row "sending": unconfirmed, as it must be (the email may have gone).
// SendGrid reports every email it takes (its signed Event Webhook, here
// from the stub) and said nothing, so after RECOVERY_CONFIRM_WAIT the
// apology goes out again as step 2: the customer hears from us, once.
func TestApologyLostBeforeItLeftIsSentAgain(t *testing.T) {
	ctx := context.Background()
	dbURL := stacktest.PostgresURL(t)
	tp := stacktest.Temporal(t)
	sg := providerstub.SendGrid("SG.confirm-key")
	defer sg.Close()
	proxy, err := faults.NewProxy(strings.TrimPrefix(sg.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.Down()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)

	vars := sendGridVars(dbURL, tp.Address(), "http://"+proxy.Addr(), "SG.confirm-key")
	vars["SENDGRID_WEBHOOK_PUBLIC_KEY"] = base64.StdEncoding.EncodeToString(der)
	vars["RECOVERY_CONFIRM_WAIT"] = "3s"
	vars["RECOVERY_TASK_QUEUE"] = fmt.Sprintf("confirm-%d", time.Now().UnixNano())
	s, err := startStack(ctx, configOf(t, vars), dbURL, tp.Address(), parts{api: true, relay: true, worker: true}, true, quietLogger())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	base := "http://" + s.Addr()
	sg.ReportTo(base+"/v1/webhooks/sendgrid/events", key)

	order := fmt.Sprintf("confirm-%d", time.Now().UnixNano())
	push(t, base, misroute(order, "confirm@example.com", "EUR", 8999))
	waitFor(t, base, order, "the apology unconfirmed", 90*time.Second, func(i remedyIncident) bool {
		return len(i.Contacts) > 0 && i.Contacts[0].Status == "unconfirmed"
	})
	if n := len(sg.Requests()); n != 0 {
		t.Fatalf("SendGrid received %d requests through a proxy that drops every connection", n)
	}
	proxy.Up()
	inc := waitFor(t, base, order, "the apology sent again", 60*time.Second, func(i remedyIncident) bool {
		return len(i.Contacts) == 2 && i.Contacts[1].Status == "sent"
	})
	if c := inc.Contacts[1]; c.Step != 2 || c.Channel != "email" || inc.Contacts[0].Status != "unconfirmed" {
		t.Fatalf("contacts %+v, want step 1 unconfirmed and step 2 the email sent", inc.Contacts)
	}
	// Give a wrong implementation time to send a third time.
	time.Sleep(4 * time.Second)
	if n := len(sg.Requests()); n != 1 {
		t.Fatalf("SendGrid received %d emails, want the apology once", n)
	}
}

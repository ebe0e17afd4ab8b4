package console

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/pgcluster/pgtest"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// flakyMail fails while down, then hands messages to the sink.
type flakyMail struct {
	down bool
	sink *messaging.MemorySink
}

func (f *flakyMail) Send(ctx context.Context, m recovery.Message) (string, error) {
	if f.down {
		return "", errors.New("sendgrid: 503")
	}
	return (&messaging.Capture{Sink: f.sink}).Send(ctx, m)
}

// TestApproversAreToldWhatWaits runs the notifier on a real store:
//   - an offer waiting for approval is told to the approvers whose limit
//     covers it and to admins, not to one whose limit is lower, a viewer,
//     an account without an email address or a disabled one;
//   - one item is its own email, with the link; several make a digest;
//   - each thing is told once, however many rounds (or processes) run;
//   - a failed send is tried again for that person only;
//   - what stopped waiting before its turn is not sent;
//   - an escalation is told again.
func TestApproversAreToldWhatWaits(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t)
	for _, u := range []store.ConsoleUser{
		{Name: "mara", Role: "approver", Limits: map[string]int64{"EUR": 100, "default": 0}, Email: "mara@shop.example"},
		{Name: "lee", Role: "approver", Limits: map[string]int64{"EUR": 20, "default": 0}, Email: "lee@shop.example"},
		{Name: "boss", Role: "admin", Email: "boss@shop.example"},
		{Name: "vic", Role: "viewer", Email: "vic@shop.example"},
		{Name: "nomail", Role: "admin"},
		{Name: "gone", Role: "admin", Email: "gone@shop.example"},
	} {
		u.PasswordHash = "x"
		if err := st.PutConsoleUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.DisableConsoleUser(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	waitFor := func(id, order string, minor int64) {
		t.Helper()
		inc := recovery.Incident{ID: id, OrderID: order, ShipmentID: "s-1", Kind: recovery.KindLost, Status: recovery.IncidentAwaitingApproval,
			WorkflowID: "incident/" + order + "/s-1/lost", DetectedAt: now.Add(-time.Hour)}
		if err := st.UpsertIncident(ctx, inc); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveDecision(ctx, id, recovery.RemedyDecision{Rule: "lost", NeedsApproval: true,
			Approval: recovery.ApprovalRule{EscalateAfter: 30 * time.Minute, Deadline: 2 * time.Hour}}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveOffer(ctx, id, recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: minor, Currency: "EUR",
			Status: recovery.OfferPending}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor("inc-1", "1001", 4500)
	mail := &flakyMail{sink: &messaging.MemorySink{}}
	clock := now
	n := &Notifier{Incidents: st, Store: st, Mail: mail, ConsoleURL: "https://ops.shop.example/console/",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return clock }}
	round := func() {
		t.Helper()
		if err := n.Round(ctx); err != nil {
			t.Fatal(err)
		}
	}
	sent := func() map[string][]recovery.Message {
		out := map[string][]recovery.Message{}
		for _, m := range mail.sink.Messages {
			out[m.To] = append(out[m.To], m)
		}
		return out
	}

	round()
	round() // again: nothing new
	got := sent()
	if len(got["mara@shop.example"]) != 1 || len(got["boss@shop.example"]) != 1 || len(got) != 2 {
		t.Fatalf("told %v; want mara (limit 100) and boss (admin) once each, not lee (limit 20), vic, nomail or gone", keys(got))
	}
	m := got["mara@shop.example"][0]
	if m.Channel != recovery.ChannelEmail || !strings.Contains(m.Subject, "Waiting for your approval: order 1001") ||
		!strings.Contains(m.Text, "https://ops.shop.example/console/incidents/inc-1") || !strings.Contains(m.Text, "45.00") {
		t.Fatalf("mara's email: %+v", m)
	}

	// Two more arrive while SendGrid is down: nobody gets anything. inc-3
	// is closed before SendGrid is back: then mara hears of inc-2 alone,
	// and lee (whose limit covers inc-3 only) of nothing.
	waitFor("inc-2", "1002", 3000)
	waitFor("inc-3", "1003", 1000)
	mail.down = true
	round()
	mail.down = false
	if err := st.SetIncidentStatus(ctx, "inc-3", recovery.IncidentResolved); err != nil {
		t.Fatal(err)
	}
	round()
	got = sent()
	if len(got["mara@shop.example"]) != 2 || len(got["lee@shop.example"]) != 0 {
		t.Fatalf("after the outage: mara %d email(s), lee %d; want 2 and 0 (inc-3 closed before lee's turn)",
			len(got["mara@shop.example"]), len(got["lee@shop.example"]))
	}
	if d := got["mara@shop.example"][1]; strings.Contains(d.Text, "inc-3") || !strings.Contains(d.Text, "inc-2") {
		t.Fatalf("mara's second email should be about inc-2 alone (inc-3 closed): %q / %q", d.Subject, d.Text)
	}

	// An hour on, inc-1 and inc-2 have escalated: one digest each.
	clock = now.Add(time.Hour)
	round()
	got = sent()
	d := got["mara@shop.example"][len(got["mara@shop.example"])-1]
	if len(got["mara@shop.example"]) != 3 || !strings.HasPrefix(d.Subject, "2 incidents wait") || strings.Count(d.Text, "Escalated") != 2 {
		t.Fatalf("the escalations: %d emails to mara, the last %q\n%s", len(got["mara@shop.example"]), d.Subject, d.Text)
	}
	for _, m := range mail.sink.Messages {
		if strings.Contains(m.Text, "ada@") || strings.Contains(m.Text, "Ada") {
			t.Fatalf("an approver's email names the customer: %s", m.Text)
		}
	}
}

func keys(m map[string][]recovery.Message) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

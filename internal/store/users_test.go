package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

func TestConsoleUsersAndLogins(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	u := store.ConsoleUser{Name: "mara", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$a2V5", Role: "approver",
		Limits: map[string]int64{"EUR": 100, "default": 0}}
	if err := st.PutConsoleUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	got, err := st.ConsoleUser(ctx, "mara")
	if err != nil || got.PasswordHash != u.PasswordHash || got.Role != "approver" || got.Limits["EUR"] != 100 || got.DisabledAt != nil {
		t.Fatalf("read back %+v, %v", got, err)
	}
	u.Role = "superuser"
	if err := st.PutConsoleUser(ctx, u); err == nil {
		t.Fatal("a role the console does not know was stored")
	}
	if err := st.DisableConsoleUser(ctx, "mara"); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.ConsoleUser(ctx, "mara"); got.DisabledAt == nil {
		t.Fatal("disabled, yet enabled")
	}
	if err := st.DisableConsoleUser(ctx, "nobody"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("disable an unknown name: %v", err)
	}
	if _, err := st.ConsoleUser(ctx, "nobody"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("read an unknown name: %v", err)
	}
	list, err := st.ConsoleUsers(ctx)
	if err != nil || len(list) != 1 || list[0].PasswordHash != "" {
		t.Fatalf("list %+v, %v: want one account, without its hash", list, err)
	}

	start := time.Now().Add(-time.Second)
	for _, ok := range []bool{false, false, true, false} {
		if err := st.RecordLogin(ctx, "mara", "192.0.2.7", ok); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.FailedLogins(ctx, "mara", start); err != nil || n != 3 {
		t.Fatalf("failed logins %d, %v; want 3", n, err)
	}
	if n, _ := st.FailedLogins(ctx, "mara", time.Now().Add(time.Minute)); n != 0 {
		t.Fatalf("failed logins in the future: %d", n)
	}
}

func TestConsoleSessionsExpire(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	ss := st.Sessions()
	if err := ss.CommitCtx(ctx, "tok-live", []byte("a"), time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := ss.CommitCtx(ctx, "tok-old", []byte("b"), time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if b, found, err := ss.FindCtx(ctx, "tok-live"); err != nil || !found || string(b) != "a" {
		t.Fatalf("live session: %q %v %v", b, found, err)
	}
	if _, found, _ := ss.FindCtx(ctx, "tok-old"); found {
		t.Fatal("an expired session was found")
	}
	if err := ss.DeleteCtx(ctx, "tok-live"); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := ss.FindCtx(ctx, "tok-live"); found {
		t.Fatal("a deleted session was found")
	}
}

// TestOrdersOfACustomer finds a customer's orders by the shop's id, an
// email address in any case, or a phone number as typed with spaces,
// and no one else's.
func TestOrdersOfACustomer(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	order := func(id, customer string) recovery.Event {
		return recovery.Event{ID: "e-" + id, Source: "shop", Type: recovery.TypeOrderCreated, Time: time.Now(),
			Data: []byte(`{"order_id":"` + id + `","currency":"EUR","total_minor":100,"customer":` + customer + `}`)}
	}
	if _, err := st.InsertEvents(ctx, []recovery.Event{
		order("o-1", `{"id":"c-1","email":"Ada@Example.com","phone":"+49 151 1234567"}`),
		order("o-2", `{"id":"c-1","email":"ada@example.com"}`),
		order("o-3", `{"id":"c-2","email":"bob@example.com","phone":"+4915100000"}`),
	}); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{"ada@EXAMPLE.com": "[o-1 o-2]", "+49 151 1234567": "[o-1]", "c-2": "[o-3]", "eve@example.com": "[]"} {
		who, err := recovery.ParseCustomerRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.OrdersOf(ctx, who, 10)
		slices.Sort(got)
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%s: %v %v, want %s", ref, got, err, want)
		}
	}
}

// TestPersonRequestHandledOnce marks a customer's request for a person
// handled: it reads back on the incident, is audited, and cannot be
// handled twice; a step without such a request cannot be handled.
func TestPersonRequestHandledOnce(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	inc := recovery.Incident{ID: "inc-p", OrderID: "o-p", Kind: recovery.KindLost, Status: recovery.IncidentOpen,
		DetectedAt: time.Now().UTC(), WorkflowID: "incident/o-p"}
	if err := st.UpsertIncident(ctx, inc); err != nil {
		t.Fatal(err)
	}
	for step := 1; step <= 2; step++ {
		if _, _, err := st.BeginContact(ctx, recovery.Contact{IncidentID: "inc-p", Step: step, Channel: "sms", To: "+4915100000",
			Body: "sorry", Status: recovery.ContactSent}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := st.RecordContactEvent(ctx, recovery.ContactEvent{IncidentID: "inc-p", Step: 1, Channel: "sms",
		Outcome: recovery.OutcomeResponded, Detail: recovery.DetailPersonRequested}); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPersonRequestHandled(ctx, "inc-p", 2, "console:mara", "called"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("a step without a request: %v", err)
	}
	if err := st.MarkPersonRequestHandled(ctx, "inc-p", 1, "console:mara", "called her back; reship booked"); err != nil {
		t.Fatal(err)
	}
	if err := st.MarkPersonRequestHandled(ctx, "inc-p", 1, "console:lee", "again"); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("handled twice: %v", err)
	}
	got, err := st.GetIncident(ctx, "inc-p")
	if err != nil {
		t.Fatal(err)
	}
	c := got.Contacts[0]
	if c.HandledAt == nil || c.HandledBy != "console:mara" || c.HandledNote != "called her back; reship booked" || got.Contacts[1].HandledAt != nil {
		t.Fatalf("contacts %+v", got.Contacts)
	}
	if n := len(got.Audit); n == 0 || got.Audit[n-1].Action != "person_request_handled" || got.Audit[n-1].Actor != "console:mara" {
		t.Fatalf("audit %+v", got.Audit)
	}
}

// TestRepliesReadBackWithTheIncident keeps two replies and reads them
// with the incident, in order; a reply to an incident that does not
// exist is recovery.ErrNotFound.
func TestRepliesReadBackWithTheIncident(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	at := time.Now().UTC().Truncate(time.Millisecond)
	if err := st.UpsertIncident(ctx, recovery.Incident{ID: "inc-r", OrderID: "o-r", Kind: recovery.KindLate,
		Status: recovery.IncidentOpen, DetectedAt: at}); err != nil {
		t.Fatal(err)
	}
	for i, body := range []string{"first", "second"} {
		if err := st.SaveReply(ctx, "inc-r", recovery.Reply{Step: 1, From: "ada@example.com", Body: body,
			ReceivedAt: at.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	inc, err := st.GetIncident(ctx, "inc-r")
	if err != nil || len(inc.Replies) != 2 || inc.Replies[0].Body != "first" || inc.Replies[1].Body != "second" {
		t.Fatalf("replies %+v, %v", inc.Replies, err)
	}
	if err := st.SaveReply(ctx, "inc-none", recovery.Reply{Step: 1, ReceivedAt: at}); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("a reply to no incident: %v", err)
	}
}

// TestConsoleViewsBelongToTheirPerson saves, replaces, lists and deletes
// a person's views; another person sees none of them, and a removed
// account takes its views along.
func TestConsoleViewsBelongToTheirPerson(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	for _, n := range []string{"mara", "lee"} {
		if err := st.PutConsoleUser(ctx, store.ConsoleUser{Name: n, PasswordHash: "h", Role: "viewer"}); err != nil {
			t.Fatal(err)
		}
	}
	st.SaveConsoleView(ctx, "mara", store.ConsoleView{Name: "lost", Query: "kind=lost"})   //nolint:errcheck
	st.SaveConsoleView(ctx, "mara", store.ConsoleView{Name: "eur", Query: "currency=EUR"}) //nolint:errcheck
	if err := st.SaveConsoleView(ctx, "mara", store.ConsoleView{Name: "lost", Query: "kind=lost&tab=attention"}); err != nil {
		t.Fatal(err)
	}
	views, err := st.ConsoleViews(ctx, "mara")
	if err != nil || fmt.Sprint(views) != "[{eur currency=EUR} {lost kind=lost&tab=attention}]" {
		t.Fatalf("views %v, %v", views, err)
	}
	if other, _ := st.ConsoleViews(ctx, "lee"); len(other) != 0 {
		t.Fatalf("lee sees %v", other)
	}
	if err := st.DeleteConsoleView(ctx, "mara", "eur"); err != nil {
		t.Fatal(err)
	}
	if views, _ := st.ConsoleViews(ctx, "mara"); len(views) != 1 {
		t.Fatalf("after deleting: %v", views)
	}
	if err := st.SaveConsoleView(ctx, "nobody", store.ConsoleView{Name: "x", Query: ""}); err == nil {
		t.Fatal("a view saved for no account")
	}
}

// TestOIDCAccounts: an identity provider's account follows the
// provider's role and email at each sign-in, but never takes over a local
// account or another subject's, and stays disabled once disabled.
func TestOIDCAccounts(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	if err := st.PutConsoleUser(ctx, store.ConsoleUser{Name: "mara", PasswordHash: "$argon2id$x", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	ada := store.ConsoleUser{Name: "ada", Role: "approver", Limits: map[string]int64{"EUR": 250, "default": 0}, Email: "ada@shop.example",
		Subject: "https://id.example 00u-ada"}
	got, err := st.PutOIDCUser(ctx, ada)
	if err != nil || got.Source != "oidc" || got.DisabledAt != nil || got.CreatedAt.IsZero() {
		t.Fatalf("first sign-in: %+v, %v", got, err)
	}
	ada.Role, ada.Limits, ada.Email = "viewer", nil, "ada@new.example"
	if _, err := st.PutOIDCUser(ctx, ada); err != nil {
		t.Fatal(err)
	}
	back, err := st.ConsoleUser(ctx, "ada")
	if err != nil || back.Role != "viewer" || back.Email != "ada@new.example" || back.Source != "oidc" || back.Subject != ada.Subject ||
		back.PasswordHash != "" {
		t.Fatalf("after her second sign-in: %+v, %v", back, err)
	}
	for _, c := range []store.ConsoleUser{
		{Name: "mara", Role: "admin", Subject: "https://id.example 00u-mara"}, // a local account's name
		{Name: "ada", Role: "admin", Subject: "https://id.example 00u-other"}, // another subject with her name
		{Name: "ada2", Role: "admin", Subject: "https://id.example 00u-ada"},  // her subject under another name
	} {
		if _, err := st.PutOIDCUser(ctx, c); !errors.Is(err, store.ErrAccountTaken) {
			t.Errorf("%s as %s: %v, want ErrAccountTaken", c.Subject, c.Name, err)
		}
	}
	if m, _ := st.ConsoleUser(ctx, "mara"); m.Role != "admin" || m.PasswordHash != "$argon2id$x" || m.Source != "local" {
		t.Fatalf("the local account was changed: %+v", m)
	}
	if err := st.DisableConsoleUser(ctx, "ada"); err != nil {
		t.Fatal(err)
	}
	if got, err := st.PutOIDCUser(ctx, ada); err != nil || got.DisabledAt == nil {
		t.Fatalf("signing in again enabled a disabled account: %+v, %v", got, err)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/devstack/stacktest"
	"github.com/recoveryhq/recovery/internal/store"
)

// TestUsersCommand adds, changes, lists and disables console accounts in
// a real database, the password read from standard input and stored only
// as an Argon2id hash; bad arguments change nothing.
func TestUsersCommand(t *testing.T) {
	ctx := context.Background()
	dbURL := stacktest.PostgresURL(t)
	env := map[string]string{"DATABASE_URL": dbURL}
	users := func(password string, args ...string) (string, error) {
		var out bytes.Buffer
		stdin = strings.NewReader(password)
		defer func() { stdin = nil }()
		err := run(ctx, append([]string{"users"}, args...), func(k string) string { return env[k] }, &out, &out)
		return out.String(), err
	}
	const pw = "a long passphrase for mara"
	if out, err := users(pw+"\n", "add", "mara", "--role", "approver", "--limit", "100:EUR", "--limit", "120:USD"); err != nil ||
		!strings.Contains(out, "saved mara (approver 100:EUR,120:USD,0:default)") {
		t.Fatalf("add: %v\n%s", err, out)
	}
	st, err := store.Open(ctx, dbURL, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	u, err := st.ConsoleUser(ctx, "mara")
	if err != nil || u.Role != "approver" || u.Limits["EUR"] != 100 || u.Limits["USD"] != 120 || u.Limits["default"] != 0 {
		t.Fatalf("stored %+v, %v", u, err)
	}
	if strings.Contains(u.PasswordHash, pw) {
		t.Fatal("the password is stored as it is")
	}
	if ok, _, err := console.VerifyPassword(pw, u.PasswordHash); !ok || err != nil {
		t.Fatalf("the stored hash does not verify the password: %v", err)
	}

	for name, tc := range map[string]struct {
		pw   string
		args []string
	}{
		"short password":         {"short\n", []string{"add", "ed", "--role", "viewer"}},
		"no password":            {"", []string{"add", "ed", "--role", "viewer"}},
		"unknown role":           {pw + "\n", []string{"add", "ed", "--role", "root"}},
		"approver sans limits":   {pw + "\n", []string{"add", "ed", "--role", "approver"}},
		"viewer with limits":     {pw + "\n", []string{"add", "ed", "--role", "viewer", "--limit", "5:EUR"}},
		"bad currency":           {pw + "\n", []string{"add", "ed", "--role", "approver", "--limit", "5:EURO"}},
		"bad amount":             {pw + "\n", []string{"add", "ed", "--role", "approver", "--limit", "lots:EUR"}},
		"name with a space":      {pw + "\n", []string{"add", "e d", "--role", "viewer"}},
		"not an email":           {pw + "\n", []string{"add", "ed", "--role", "viewer", "--email", "Ed <ed@shop.example>"}},
		"disable an unknown one": {"", []string{"disable", "ed"}},
	} {
		if out, err := users(tc.pw, tc.args...); err == nil {
			t.Errorf("%s: accepted\n%s", name, out)
		}
	}
	if _, err := st.ConsoleUser(ctx, "ed"); err == nil {
		t.Fatal("a refused add stored an account")
	}

	// Adding again changes the role, the password and the email.
	if _, err := users("another long passphrase\n", "add", "mara", "--role", "admin", "--email", "mara@shop.example"); err != nil {
		t.Fatal(err)
	}
	if u, _ := st.ConsoleUser(ctx, "mara"); u.Role != "admin" || len(u.Limits) != 0 || u.Email != "mara@shop.example" {
		t.Fatalf("changed to %+v", u)
	}
	if _, err := users("", "disable", "mara"); err != nil {
		t.Fatal(err)
	}
	out, err := users("", "list")
	if err != nil || !strings.Contains(out, "mara") || !strings.Contains(out, "admin") || !strings.Contains(out, "disabled") ||
		!strings.Contains(out, "mara@shop.example") || !strings.Contains(out, "local") {
		t.Fatalf("list: %v\n%s", err, out)
	}
	if _, err := users("", "frobnicate"); !errors.Is(err, errUsage) {
		t.Fatalf("an unknown subcommand: %v", err)
	}
}

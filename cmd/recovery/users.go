package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"

	"golang.org/x/term"

	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// stdin is where `users add` reads the password (a variable for tests).
var stdin io.Reader = os.Stdin

// runUsers manages the console's local accounts:
//
//	recovery users add NAME --role approver --limit 100:EUR --limit 0:default [--email ADDRESS]
//	recovery users list
//	recovery users disable NAME
//
// add reads the password from standard input (one line; on a terminal it
// is asked for twice, without echo), so that it never appears in the
// shell's history or the process list. Adding an existing name replaces
// its password, role, limits and email and enables it again. The email is
// where the console tells an approver what waits for them. Accounts made
// by single sign-on are listed as "oidc"; the provider's groups set their
// role at each sign-in, and disable works on them too.
func runUsers(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("users: add, list or disable: %w", errUsage)
	}
	if cfg.DatabaseURL == "" {
		return errors.New("DATABASE_URL must be set (the accounts live in Recovery's database)")
	}
	st, err := store.Open(ctx, cfg.DatabaseURL, 2)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := st.Migrate(ctx); err != nil {
		return err
	}
	switch args[0] {
	case "add":
		return usersAdd(ctx, st, args[1:], stdout)
	case "list":
		users, err := st.ConsoleUsers(ctx)
		if err != nil {
			return err
		}
		for _, u := range users {
			state := "enabled"
			if u.DisabledAt != nil {
				state = "disabled " + u.DisabledAt.UTC().Format("2006-01-02")
			}
			fmt.Fprintf(stdout, "%-20s %-5s %-9s %-24s %-12s %s\n", u.Name, u.Source, u.Role, formatLimits(u.Limits), state, cmp.Or(u.Email, "-"))
		}
		return nil
	case "disable":
		if len(args) != 2 {
			return fmt.Errorf("users disable NAME: %w", errUsage)
		}
		if err := st.DisableConsoleUser(ctx, args[1]); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "disabled %s\n", args[1])
		return nil
	}
	return fmt.Errorf("users %s: %w", args[0], errUsage)
}

// limitFlags collect --limit AMOUNT:CURRENCY (whole units; default for
// the currencies not named; -1 for no limit).
type limitFlags map[string]int64

func (l limitFlags) String() string { return formatLimits(l) }

func (l limitFlags) Set(v string) error {
	cur, n, err := console.ParseLimit(v)
	if err != nil {
		return err
	}
	l[cur] = n
	return nil
}

func formatLimits(l map[string]int64) string {
	if len(l) == 0 {
		return "-"
	}
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%d:%s", l[k], k))
	}
	return strings.Join(parts, ",")
}

func usersAdd(ctx context.Context, st *store.Store, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return fmt.Errorf("users add NAME --role ROLE [--limit AMOUNT:CURRENCY]...: %w", errUsage)
	}
	name := args[0]
	if !console.ValidName(name) {
		return fmt.Errorf("users add: %q: a name is 1 to 64 letters, digits and . _ - @", name)
	}
	fs := flag.NewFlagSet("users add", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	role := fs.String("role", "", "viewer, approver or admin")
	email := fs.String("email", "", "where the console tells the account what waits for it")
	limits := limitFlags{}
	fs.Var(limits, "limit", "AMOUNT:CURRENCY (repeatable)")
	if err := fs.Parse(args[1:]); err != nil {
		return fmt.Errorf("users add: %v: %w", err, errUsage)
	}
	switch {
	case *email != "" && !recovery.PlausibleEmail(*email):
		return fmt.Errorf("users add: --email %q is not an email address", *email)
	case !slices.Contains(console.Roles, *role):
		return fmt.Errorf("users add: --role must be one of %s", strings.Join(console.Roles, ", "))
	case *role == "approver" && len(limits) == 0:
		return errors.New("users add: an approver needs limits, such as --limit 100:EUR --limit 0:default")
	case *role != "approver" && len(limits) > 0:
		return fmt.Errorf("users add: only approvers have limits (a %s has none)", *role)
	case *role == "approver":
		if _, ok := limits["default"]; !ok {
			limits["default"] = 0 // the currencies not named: nothing without a person above
		}
	}
	pw, err := readPassword(stdout)
	if err != nil {
		return err
	}
	hash, err := console.HashPassword(pw, console.DefaultParams)
	if err != nil {
		return fmt.Errorf("users add: %w", err)
	}
	if err := st.PutConsoleUser(ctx, store.ConsoleUser{Name: name, PasswordHash: hash, Role: *role, Limits: limits, Email: *email}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "saved %s (%s %s)\n", name, *role, formatLimits(limits))
	return nil
}

// readPassword reads the password: on a terminal twice without echo,
// otherwise the first line of standard input.
func readPassword(stdout io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(stdout, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", err
		}
		fmt.Fprint(stdout, "Again: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stdout)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("users add: the passwords differ")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, console.MaxPassword+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("users add: no password on standard input (one line)")
	}
	return line, nil
}

// tokenLike reports whether s holds only letters, digits and . _ - @.

package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// ConsoleUser is a local account of the ops console.
type ConsoleUser struct {
	Name         string
	PasswordHash string
	Role         string
	// Limits are an approver's, in whole units per currency (default:
	// the currencies not named).
	Limits     map[string]int64
	CreatedAt  time.Time
	DisabledAt *time.Time
	// Email is where the console tells the account what waits for it
	// ("": nothing is sent).
	Email string
	// Source is "local" (a password) or "oidc" (an identity provider's
	// account, whose Subject is "issuer subject").
	Source, Subject string
}

// PutConsoleUser creates a local account, or replaces the hash, role,
// limits and email of an existing one (and enables it again; an OIDC
// account of that name becomes a local one).
func (s *Store) PutConsoleUser(ctx context.Context, u ConsoleUser) error {
	limits, err := json.Marshal(u.Limits)
	if err != nil {
		return err
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO console_users (name, password_hash, role, limits, email) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (name) DO UPDATE SET password_hash = $2, role = $3, limits = $4, email = $5, source = 'local', subject = NULL,
			updated_at = now(), disabled_at = NULL`,
		u.Name, u.PasswordHash, u.Role, limits, u.Email)
	if err != nil {
		return fmt.Errorf("save console user: %w", mapErr(err))
	}
	return nil
}

// ErrAccountTaken: the name belongs to a local account, or to another
// person of the identity provider.
var ErrAccountTaken = errors.New("the name belongs to another account")

// PutOIDCUser creates or updates the account of a person who signed in
// through the identity provider: the role, limits and email the provider
// gives now. It never enables a disabled account, and never takes over a
// local account or another subject's (ErrAccountTaken). It returns the
// account as stored.
func (s *Store) PutOIDCUser(ctx context.Context, u ConsoleUser) (ConsoleUser, error) {
	limits, err := json.Marshal(u.Limits)
	if err != nil {
		return u, err
	}
	err = s.pool.QueryRow(ctx, `INSERT INTO console_users (name, password_hash, role, limits, email, source, subject)
		VALUES ($1, '', $2, $3, $4, 'oidc', $5)
		ON CONFLICT (name) DO UPDATE SET role = $2, limits = $3, email = $4, updated_at = now()
			WHERE console_users.source = 'oidc' AND console_users.subject = $5
		RETURNING created_at, disabled_at`,
		u.Name, u.Role, limits, u.Email, u.Subject).Scan(&u.CreatedAt, &u.DisabledAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows), errors.Is(mapErr(err), recovery.ErrConflict):
		return u, fmt.Errorf("console user %q: %w", u.Name, ErrAccountTaken)
	case err != nil:
		return u, fmt.Errorf("save console user: %w", err)
	}
	u.Source, u.PasswordHash = "oidc", ""
	return u, nil
}

// ConsoleUser returns an account; none is recovery.ErrNotFound.
func (s *Store) ConsoleUser(ctx context.Context, name string) (ConsoleUser, error) {
	var u ConsoleUser
	var limits []byte
	err := s.pool.QueryRow(ctx, `SELECT name, password_hash, role, limits, created_at, disabled_at, email, source, coalesce(subject, '')
		FROM console_users WHERE name = $1`,
		name).Scan(&u.Name, &u.PasswordHash, &u.Role, &limits, &u.CreatedAt, &u.DisabledAt, &u.Email, &u.Source, &u.Subject)
	if errors.Is(err, pgx.ErrNoRows) {
		return u, fmt.Errorf("console user %q: %w", name, recovery.ErrNotFound)
	}
	if err != nil {
		return u, fmt.Errorf("read console user: %w", err)
	}
	return u, json.Unmarshal(limits, &u.Limits)
}

// ConsoleUsers lists the accounts by name, without their hashes.
func (s *Store) ConsoleUsers(ctx context.Context) ([]ConsoleUser, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, role, limits, created_at, disabled_at, email, source FROM console_users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	var out []ConsoleUser
	var u ConsoleUser
	var limits []byte
	_, err = pgx.ForEachRow(rows, []any{&u.Name, &u.Role, &limits, &u.CreatedAt, &u.DisabledAt, &u.Email, &u.Source}, func() error {
		u.Limits = nil
		if err := json.Unmarshal(limits, &u.Limits); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list console users: %w", err)
	}
	return out, nil
}

// DisableConsoleUser disables an account (kept for the audit trail).
func (s *Store) DisableConsoleUser(ctx context.Context, name string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE console_users SET disabled_at = now(), updated_at = now() WHERE name = $1 AND disabled_at IS NULL`, name)
	if err != nil {
		return fmt.Errorf("disable console user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("console user %q (or not enabled): %w", name, recovery.ErrNotFound)
	}
	return nil
}

// RecordLogin keeps a login attempt.
func (s *Store) RecordLogin(ctx context.Context, name, remote string, ok bool) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_logins (name, remote, ok) VALUES ($1, $2, $3)`, name, remote, ok)
	if err != nil {
		return fmt.Errorf("record login: %w", err)
	}
	return nil
}

// FailedLogins counts the failed attempts at a name since a time.
func (s *Store) FailedLogins(ctx context.Context, name string, since time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM console_logins WHERE name = $1 AND at >= $2 AND NOT ok`, name, since).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count failed logins: %w", err)
	}
	return n, nil
}

// Sessions keeps the console's sessions in Postgres for
// github.com/alexedwards/scs/v2 (its CtxStore): the browser holds only
// the token.
type Sessions struct{ st *Store }

// Sessions returns the console's session store.
func (s *Store) Sessions() Sessions { return Sessions{st: s} }

// FindCtx returns a session's data while it has not expired.
func (ss Sessions) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	var b []byte
	err := ss.st.pool.QueryRow(ctx, `SELECT data FROM console_sessions WHERE token = $1 AND now() < expiry`, token).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("find session: %w", err)
	}
	return b, true, nil
}

// CommitCtx saves a session until expiry, and drops expired ones now and
// then (one commit in a hundred), so that no sweeper runs.
func (ss Sessions) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	_, err := ss.st.pool.Exec(ctx, `INSERT INTO console_sessions (token, data, expiry) VALUES ($1, $2, $3)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry`, token, b, expiry)
	if err != nil {
		return fmt.Errorf("save session: %w", err)
	}
	if rand.IntN(100) == 0 {
		_, _ = ss.st.pool.Exec(ctx, `DELETE FROM console_sessions WHERE expiry < now()`)
	}
	return nil
}

// DeleteCtx ends a session.
func (ss Sessions) DeleteCtx(ctx context.Context, token string) error {
	_, err := ss.st.pool.Exec(ctx, `DELETE FROM console_sessions WHERE token = $1`, token)
	return err
}

// Find, Commit and Delete are the context-free forms scs.Store requires;
// scs calls the Ctx forms.
func (ss Sessions) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}
func (ss Sessions) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}
func (ss Sessions) Delete(token string) error { return ss.DeleteCtx(context.Background(), token) }

// OrdersOf returns the ids of the orders of the customer referred to (the
// shop's id, an email address or a phone number, matched exactly), for
// the console's search; at most limit, in no particular order.
func (s *Store) OrdersOf(ctx context.Context, who recovery.CustomerRef, limit int) ([]string, error) {
	rows, err := s.pool.Query(ctx, customerEvents, who.ID, who.Email, who.Phone)
	if err != nil {
		return nil, fmt.Errorf("find the customer's orders: %w", mapErr(err))
	}
	seen := map[string]bool{}
	var out []string
	var seq int64
	var typ, order string
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&seq, &typ, &order, &data}, func() error {
		var oc recovery.OrderContact
		oc.Apply(typ, data)
		if order != "" && !seen[order] && who.Matches(oc.Customer) && len(out) < limit {
			seen[order] = true
			out = append(out, order)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find the customer's orders: %w", err)
	}
	return out, nil
}

// MarkPersonRequestHandled records that by saw to the customer's request
// for a person on a contact step, with a note, and audits it. A step
// without such a request, or one already handled, is recovery.ErrNotFound.
func (s *Store) MarkPersonRequestHandled(ctx context.Context, incidentID string, step int, by, note string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE contacts SET handled_at = now(), handled_by = $3, handled_note = $4, updated_at = now()
		WHERE incident_id = $1 AND step = $2 AND detail = $5 AND handled_at IS NULL`,
		incidentID, step, by, note, recovery.DetailPersonRequested)
	if err != nil {
		return fmt.Errorf("mark handled: %w", mapErr(err))
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("no open request for a person on %s step %d: %w", incidentID, step, recovery.ErrNotFound)
	}
	return s.Audit(ctx, recovery.AuditEntry{IncidentID: incidentID, Actor: by, Action: "person_request_handled",
		At: time.Now().UTC(), Note: note})
}

// OrderEvents returns an order's events in the order they happened (at
// most limit), for the console's timeline.
func (s *Store) OrderEvents(ctx context.Context, orderID string, limit int) ([]recovery.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT source, id, type, occurred_at, subject, data FROM events
		WHERE order_id = $1 ORDER BY occurred_at, seq LIMIT $2`, orderID, limit)
	if err != nil {
		return nil, fmt.Errorf("read the order's events: %w", err)
	}
	var out []recovery.Event
	var e recovery.Event
	var data []byte
	_, err = pgx.ForEachRow(rows, []any{&e.Source, &e.ID, &e.Type, &e.Time, &e.Subject, &data}, func() error {
		e.Data = append([]byte(nil), data...)
		out = append(out, e)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the order's events: %w", err)
	}
	return out, nil
}

// ConsoleView is a saved view of the console's queue.
type ConsoleView struct {
	Name, Query string
}

// SaveConsoleView saves (or replaces) a user's view.
func (s *Store) SaveConsoleView(ctx context.Context, user string, v ConsoleView) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO console_views (user_name, name, query) VALUES ($1, $2, $3)
		ON CONFLICT (user_name, name) DO UPDATE SET query = EXCLUDED.query`, user, v.Name, v.Query)
	if err != nil {
		return fmt.Errorf("save view: %w", mapErr(err))
	}
	return nil
}

// ConsoleViews lists a user's views by name.
func (s *Store) ConsoleViews(ctx context.Context, user string) ([]ConsoleView, error) {
	rows, err := s.pool.Query(ctx, `SELECT name, query FROM console_views WHERE user_name = $1 ORDER BY name`, user)
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	var out []ConsoleView
	var v ConsoleView
	_, err = pgx.ForEachRow(rows, []any{&v.Name, &v.Query}, func() error {
		out = append(out, v)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list views: %w", err)
	}
	return out, nil
}

// DeleteConsoleView removes a user's view.
func (s *Store) DeleteConsoleView(ctx context.Context, user, name string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM console_views WHERE user_name = $1 AND name = $2`, user, name)
	if err != nil {
		return fmt.Errorf("delete view: %w", err)
	}
	return nil
}

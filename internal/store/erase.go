package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// The events that name a customer.
const customerEventTypes = `('order.created', 'order.updated', 'customer.updated')`

// customerEvents finds the events naming the customer referred to: by the
// shop's id, an email address or a phone number.
const customerEvents = `SELECT seq, type, order_id, data FROM events
WHERE type IN ` + customerEventTypes + ` AND data ? 'customer' AND (
  ($1 <> '' AND data->'customer'->>'id' = $1) OR
  ($2 <> '' AND lower(btrim(data->'customer'->>'email')) = $2) OR
  ($3 <> '' AND regexp_replace(data->'customer'->>'phone', '[^0-9+]', '', 'g') = $3))`

// optOutKey hashes the addresses of opt-outs whose customer was erased.
func (s *Store) hashAddress(channel, address string) string {
	if len(s.optOutKey) == 0 {
		return ""
	}
	m := hmac.New(sha256.New, s.optOutKey)
	m.Write([]byte(channel + ":" + recovery.NormalizeAddress(channel, address)))
	return "hmac:" + hex.EncodeToString(m.Sum(nil))
}

// customerScope is what belongs to one customer: their orders, the
// addresses their orders named, their incidents.
type customerScope struct {
	orders    []string
	emails    []string
	phones    []string
	incidents []string
	seqs      []int64 // customer.updated events without an order
}

func (s *Store) scope(ctx context.Context, q pgx.Tx, who recovery.CustomerRef) (customerScope, error) {
	var sc customerScope
	rows, err := q.Query(ctx, customerEvents, who.ID, who.Email, who.Phone)
	if err != nil {
		return sc, fmt.Errorf("find the customer's orders: %w", mapErr(err))
	}
	orders := map[string]bool{}
	for rows.Next() {
		var seq int64
		var typ, order string
		var data []byte
		if err := rows.Scan(&seq, &typ, &order, &data); err != nil {
			rows.Close()
			return sc, err
		}
		var oc recovery.OrderContact
		oc.Apply(typ, data)
		if !who.Matches(oc.Customer) { // the SQL's coarse match, confirmed
			continue
		}
		if order == "" {
			sc.seqs = append(sc.seqs, seq)
		} else {
			orders[order] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sc, fmt.Errorf("find the customer's orders: %w", mapErr(err))
	}
	for o := range orders {
		sc.orders = append(sc.orders, o)
	}
	slices.Sort(sc.orders)
	// Every address the orders named, old ones included.
	rows, err = q.Query(ctx, `SELECT type, data FROM events WHERE order_id = ANY($1) AND type IN `+customerEventTypes+
		` UNION ALL SELECT type, data FROM events WHERE seq = ANY($2)`, sc.orders, sc.seqs)
	if err != nil {
		return sc, fmt.Errorf("read the customer's addresses: %w", mapErr(err))
	}
	emails, phones := map[string]bool{}, map[string]bool{}
	for rows.Next() {
		var typ string
		var data []byte
		if err := rows.Scan(&typ, &data); err != nil {
			rows.Close()
			return sc, err
		}
		var oc recovery.OrderContact
		oc.Apply(typ, data)
		if e := recovery.NormalizeAddress(recovery.ChannelEmail, oc.Customer.Email); e != "" {
			emails[e] = true
		}
		if p := recovery.NormalizeAddress(recovery.ChannelSMS, oc.Customer.Phone); p != "" {
			phones[p] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return sc, err
	}
	if who.Email != "" {
		emails[who.Email] = true
	}
	if who.Phone != "" {
		phones[who.Phone] = true
	}
	for e := range emails {
		sc.emails = append(sc.emails, e)
	}
	for p := range phones {
		sc.phones = append(sc.phones, p)
	}
	slices.Sort(sc.emails)
	slices.Sort(sc.phones)
	rows, err = q.Query(ctx, `SELECT id FROM incidents WHERE order_id = ANY($1) ORDER BY id`, sc.orders)
	if err != nil {
		return sc, fmt.Errorf("find the customer's incidents: %w", mapErr(err))
	}
	sc.incidents, err = pgx.CollectRows(rows, pgx.RowTo[string])
	return sc, err
}

// addresses lists the scope's addresses as the ledger and opt-outs hold
// them, channel by channel.
func (sc customerScope) addresses() (channels, addrs []string) {
	for _, e := range sc.emails {
		channels, addrs = append(channels, recovery.ChannelEmail), append(addrs, e)
	}
	for _, p := range sc.phones {
		for _, ch := range []string{recovery.ChannelSMS, recovery.ChannelVoice} {
			channels, addrs = append(channels, ch), append(addrs, p)
		}
	}
	return channels, addrs
}

// ExportCustomer gathers everything kept about a customer; ErrNotFound
// when nothing names them.
func (s *Store) ExportCustomer(ctx context.Context, who recovery.CustomerRef) (recovery.CustomerExport, error) {
	out := recovery.CustomerExport{Customer: who, Orders: []string{}, Events: []recovery.Event{},
		Incidents: []recovery.Incident{}, OptOuts: []recovery.OptOutRecord{}, Captured: []recovery.CapturedMessage{}}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return out, fmt.Errorf("export: %w", mapErr(err))
	}
	defer tx.Rollback(ctx) //nolint:errcheck
	sc, err := s.scope(ctx, tx, who)
	if err != nil {
		return out, err
	}
	if len(sc.orders) == 0 && len(sc.seqs) == 0 {
		return out, fmt.Errorf("no order names this customer: %w", recovery.ErrNotFound)
	}
	out.Orders = sc.orders
	rows, err := tx.Query(ctx, `SELECT source, id, type, occurred_at, subject, data FROM events
		WHERE order_id = ANY($1) OR seq = ANY($2) ORDER BY seq`, sc.orders, sc.seqs)
	if err != nil {
		return out, fmt.Errorf("export events: %w", mapErr(err))
	}
	for rows.Next() {
		var e recovery.Event
		if err := rows.Scan(&e.Source, &e.ID, &e.Type, &e.Time, &e.Subject, &e.Data); err != nil {
			rows.Close()
			return out, err
		}
		out.Events = append(out.Events, e)
	}
	rows.Close()
	channels, addrs := sc.addresses()
	rows, err = tx.Query(ctx, `SELECT o.channel, o.address, o.source, o.created_at FROM opt_outs o
		JOIN unnest($1::text[], $2::text[]) AS a(channel, address) ON o.channel = a.channel AND o.address = a.address
		ORDER BY o.created_at`, channels, addrs)
	if err != nil {
		return out, fmt.Errorf("export opt-outs: %w", mapErr(err))
	}
	for rows.Next() {
		var o recovery.OptOutRecord
		if err := rows.Scan(&o.Channel, &o.Address, &o.Source, &o.At); err != nil {
			rows.Close()
			return out, err
		}
		out.OptOuts = append(out.OptOuts, o)
	}
	rows.Close()
	rows, err = tx.Query(ctx, `SELECT id, channel, to_addr, subject, text_body, html_body, idempotency_key, created_at
		FROM captured_messages WHERE lower(to_addr) = ANY($1) OR regexp_replace(to_addr, '[^0-9+]', '', 'g') = ANY($2) ORDER BY id`,
		sc.emails, sc.phones)
	if err != nil {
		return out, fmt.Errorf("export captured messages: %w", mapErr(err))
	}
	for rows.Next() {
		var m recovery.CapturedMessage
		if err := rows.Scan(&m.ID, &m.Channel, &m.To, &m.Subject, &m.Text, &m.HTML, &m.Key, &m.CreatedAt); err != nil {
			rows.Close()
			return out, err
		}
		out.Captured = append(out.Captured, m)
	}
	rows.Close()
	if err := tx.Commit(ctx); err != nil {
		return out, err
	}
	for _, id := range sc.incidents {
		inc, err := s.GetIncident(ctx, id)
		if err != nil {
			return out, err
		}
		out.Incidents = append(out.Incidents, inc)
	}
	return out, nil
}

// EraseCustomer removes a customer's personal data from every table the
// project owns, in one transaction: their orders' events keep only the
// facts the numbers need (recovery.Erased); their incidents lose the
// customer key; what was said to them loses address, subject and body;
// messages captured for them go; audit notes on their incidents go; their
// opt-outs stay as keyed hashes, so that STOP still holds; their orders'
// projections lose the shop's customer id. The incidents, their kinds,
// offers and amounts stay. Contacts still due find no address and are
// skipped. by names who asked, for the audit trail.
func (s *Store) EraseCustomer(ctx context.Context, who recovery.CustomerRef, by string) (recovery.ErasureReport, error) {
	rep := recovery.ErasureReport{Orders: []string{}}
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.Serializable}, func(tx pgx.Tx) error {
		sc, err := s.scope(ctx, tx, who)
		if err != nil {
			return err
		}
		rep.Orders = append(rep.Orders, sc.orders...)
		// Events: every event of the orders, and the customer's own.
		rows, err := tx.Query(ctx, `SELECT seq, type, data FROM events WHERE order_id = ANY($1) OR seq = ANY($2)`, sc.orders, sc.seqs)
		if err != nil {
			return fmt.Errorf("read the customer's events: %w", mapErr(err))
		}
		type change struct {
			seq  int64
			data []byte
		}
		var changes []change
		for rows.Next() {
			var seq int64
			var typ string
			var data []byte
			if err := rows.Scan(&seq, &typ, &data); err != nil {
				rows.Close()
				return err
			}
			erased := recovery.Erased(typ, data)
			if !jsonEqual(erased, data) {
				changes = append(changes, change{seq, erased})
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, c := range changes {
			if _, err := tx.Exec(ctx, `UPDATE events SET data = $2 WHERE seq = $1`, c.seq, c.data); err != nil {
				return fmt.Errorf("erase an event: %w", mapErr(err))
			}
		}
		rep.Events = len(changes)
		tag, err := tx.Exec(ctx, `UPDATE incidents SET customer_key = 'erased', survey_comment = '', updated_at = now()
			WHERE id = ANY($1) AND (customer_key <> 'erased' OR survey_comment <> '')`, sc.incidents)
		if err != nil {
			return fmt.Errorf("erase incidents: %w", mapErr(err))
		}
		rep.Incidents = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `UPDATE contacts SET to_addr = '', subject = '', body = '', detail = '', handled_note = '', updated_at = now()
			WHERE incident_id = ANY($1) AND (to_addr <> '' OR subject <> '' OR body <> '' OR detail <> '')`, sc.incidents)
		if err != nil {
			return fmt.Errorf("erase contacts: %w", mapErr(err))
		}
		rep.Contacts = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `DELETE FROM captured_messages
			WHERE lower(to_addr) = ANY($1) OR regexp_replace(to_addr, '[^0-9+]', '', 'g') = ANY($2)`, sc.emails, sc.phones)
		if err != nil {
			return fmt.Errorf("erase captured messages: %w", mapErr(err))
		}
		rep.CapturedMessages = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `UPDATE audit SET note = '' WHERE incident_id = ANY($1) AND note <> ''`, sc.incidents)
		if err != nil {
			return fmt.Errorf("erase audit notes: %w", mapErr(err))
		}
		rep.AuditNotes = int(tag.RowsAffected())
		tag, err = tx.Exec(ctx, `UPDATE incident_replies SET from_addr = '', subject = '', body = ''
			WHERE incident_id = ANY($1) AND (from_addr <> '' OR subject <> '' OR body <> '')`, sc.incidents)
		if err != nil {
			return fmt.Errorf("erase replies: %w", mapErr(err))
		}
		rep.Replies = int(tag.RowsAffected())
		if rep.OptOutsHashed, err = s.hashOptOuts(ctx, tx, sc); err != nil {
			return err
		}
		if rep.OrderStates, err = eraseProjections(ctx, tx, sc.orders); err != nil {
			return err
		}
		if rep.Events+rep.Incidents+rep.Contacts+rep.CapturedMessages+rep.AuditNotes+rep.OptOutsHashed+rep.OrderStates+rep.Replies == 0 {
			return nil // erased before: nothing to tell
		}
		at := time.Now().UTC()
		for _, id := range sc.incidents {
			if _, err := tx.Exec(ctx, `INSERT INTO audit (incident_id, actor, action, at, note) VALUES ($1, $2, 'erase', $3,
				'the customer''s personal data was erased')`, id, by, at); err != nil {
				return fmt.Errorf("audit the erasure: %w", mapErr(err))
			}
		}
		return nil
	})
	if err != nil {
		return recovery.ErasureReport{}, fmt.Errorf("erase customer: %w", err)
	}
	return rep, nil
}

// hashOptOuts replaces the scope's opt-out addresses with their keyed
// hashes.
func (s *Store) hashOptOuts(ctx context.Context, tx pgx.Tx, sc customerScope) (int, error) {
	channels, addrs := sc.addresses()
	n := 0
	for i, ch := range channels {
		h := s.hashAddress(ch, addrs[i])
		if h == "" {
			return 0, fmt.Errorf("no key to keep opt-outs as hashes (set the link secret): %w", recovery.ErrInvalid)
		}
		tag, err := tx.Exec(ctx, `UPDATE opt_outs SET address = $3 WHERE channel = $1 AND address = $2
			AND NOT EXISTS (SELECT 1 FROM opt_outs WHERE channel = $1 AND address = $3)`, ch, addrs[i], h)
		if err != nil {
			return 0, fmt.Errorf("hash opt-outs: %w", mapErr(err))
		}
		n += int(tag.RowsAffected())
		if _, err := tx.Exec(ctx, `DELETE FROM opt_outs WHERE channel = $1 AND address = $2`, ch, addrs[i]); err != nil {
			return 0, fmt.Errorf("hash opt-outs: %w", mapErr(err))
		}
	}
	return n, nil
}

// eraseProjections removes the shop's customer id from the orders'
// projections (the rest of them holds nothing personal).
func eraseProjections(ctx context.Context, tx pgx.Tx, orders []string) (int, error) {
	rows, err := tx.Query(ctx, `SELECT order_id, state FROM order_states WHERE order_id = ANY($1)`, orders)
	if err != nil {
		return 0, fmt.Errorf("read projections: %w", mapErr(err))
	}
	type change struct {
		order string
		state []byte
	}
	var changes []change
	for rows.Next() {
		var order string
		var state []byte
		if err := rows.Scan(&order, &state); err != nil {
			rows.Close()
			return 0, err
		}
		var st map[string]any
		if json.Unmarshal(state, &st) != nil {
			continue
		}
		o, _ := st["Order"].(map[string]any)
		c, _ := o["customer"].(map[string]any)
		if c == nil || c["id"] == nil || c["id"] == "" {
			continue
		}
		delete(c, "id")
		b, err := json.Marshal(st)
		if err != nil {
			continue
		}
		changes = append(changes, change{order, b})
	}
	rows.Close()
	for _, c := range changes {
		if _, err := tx.Exec(ctx, `UPDATE order_states SET state = $2 WHERE order_id = $1`, c.order, c.state); err != nil {
			return 0, fmt.Errorf("erase a projection: %w", mapErr(err))
		}
	}
	return len(changes), nil
}

// jsonEqual compares two JSON documents by value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	ja, _ := json.Marshal(x)
	jb, _ := json.Marshal(y)
	return string(ja) == string(jb)
}

// Purged says how many rows a retention pass deleted.
type Purged struct {
	Events, Contacts, CapturedMessages int64
}

// Purge deletes what is older than the retention: events received before
// (once relayed or quarantined), contacts and captured messages created
// before. Incidents, offers and order projections stay: they hold nothing
// personal once their contacts are gone, and the numbers need them.
func (s *Store) Purge(ctx context.Context, before time.Time) (Purged, error) {
	var p Purged
	tag, err := s.pool.Exec(ctx, `DELETE FROM events WHERE received_at < $1 AND (relayed_at IS NOT NULL OR dead_at IS NOT NULL)`, before)
	if err != nil {
		return p, fmt.Errorf("purge events: %w", mapErr(err))
	}
	p.Events = tag.RowsAffected()
	tag, err = s.pool.Exec(ctx, `DELETE FROM contacts WHERE created_at < $1`, before)
	if err != nil {
		return p, fmt.Errorf("purge contacts: %w", mapErr(err))
	}
	p.Contacts = tag.RowsAffected()
	tag, err = s.pool.Exec(ctx, `DELETE FROM captured_messages WHERE created_at < $1`, before)
	if err != nil {
		return p, fmt.Errorf("purge captured messages: %w", mapErr(err))
	}
	p.CapturedMessages = tag.RowsAffected()
	return p, nil
}

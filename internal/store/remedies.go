package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

const productColumns = `sku, name, category, attributes, price_minor, currency, stock, reserved`

func scanProduct(row pgx.Row) (recovery.Product, error) {
	var p recovery.Product
	err := row.Scan(&p.SKU, &p.Name, &p.Category, &p.Attributes, &p.PriceMinor, &p.Currency, &p.Stock, &p.Reserved)
	return p, err
}

// Product returns one catalog entry.
func (s *Store) Product(ctx context.Context, sku string) (recovery.Product, error) {
	p, err := scanProduct(s.pool.QueryRow(ctx, `SELECT `+productColumns+` FROM products WHERE sku = $1`, sku))
	if err != nil {
		return p, fmt.Errorf("product %q: %w", sku, mapErr(err))
	}
	return p, nil
}

// ProductsInCategory lists a category's products in a currency.
func (s *Store) ProductsInCategory(ctx context.Context, category, currency string) ([]recovery.Product, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+productColumns+` FROM products WHERE category = $1 AND currency = $2
		ORDER BY sku LIMIT 1000`, category, currency)
	if err != nil {
		return nil, fmt.Errorf("products in %q: %w", category, err)
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (recovery.Product, error) { return scanProduct(r) })
}

// UpsertProducts loads catalog entries (the dev seed file, an import):
// everything but the reserved count is replaced.
func (s *Store) UpsertProducts(ctx context.Context, ps []recovery.Product) error {
	b := &pgx.Batch{}
	for _, p := range ps {
		p.SKU = strings.ToUpper(p.SKU)
		attrs := p.Attributes
		if attrs == nil {
			attrs = map[string]string{}
		}
		b.Queue(`INSERT INTO products (sku, name, category, attributes, price_minor, currency, stock)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
			  attributes = EXCLUDED.attributes, price_minor = EXCLUDED.price_minor, currency = EXCLUDED.currency,
			  stock = EXCLUDED.stock, updated_at = now()`,
			p.SKU, p.Name, p.Category, attrs, p.PriceMinor, p.Currency, p.Stock)
	}
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("load products: %w", mapErr(err))
	}
	return nil
}

// ProductCount counts the catalog's products.
func (s *Store) ProductCount(ctx context.Context) (int64, error) {
	var n int64
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM products WHERE category <> ''`).Scan(&n)
	return n, err
}

// Reserve holds qty of sku for an incident, only if that much is available.
func (s *Store) Reserve(ctx context.Context, incidentID, sku string, qty int64) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var status string
		err := tx.QueryRow(ctx, `SELECT status FROM reservations WHERE incident_id = $1 AND sku = $2 FOR UPDATE`,
			incidentID, sku).Scan(&status)
		switch {
		case err == nil && status == "held":
			return nil
		case err == nil:
			return fmt.Errorf("reserve %s for %s: the reservation was %s: %w", sku, incidentID, status, recovery.ErrConflict)
		case !errors.Is(err, pgx.ErrNoRows):
			return fmt.Errorf("reserve %s: %w", sku, err)
		}
		tag, err := tx.Exec(ctx, `UPDATE products SET reserved = reserved + $2, updated_at = now()
			WHERE sku = $1 AND stock - reserved >= $2`, sku, qty)
		if err != nil {
			return fmt.Errorf("reserve %s: %w", sku, err)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("reserve %d of %s: not available: %w", qty, sku, recovery.ErrConflict)
		}
		_, err = tx.Exec(ctx, `INSERT INTO reservations (incident_id, sku, quantity, status) VALUES ($1, $2, $3, 'held')`,
			incidentID, sku, qty)
		return mapErr(err)
	})
}

// ReleaseReservation gives a held reservation back.
func (s *Store) ReleaseReservation(ctx context.Context, incidentID, sku string) error {
	return s.endReservation(ctx, incidentID, sku, "released", `UPDATE products SET reserved = reserved - $2, updated_at = now() WHERE sku = $1`)
}

// ConsumeReservation turns a held reservation into a sale.
func (s *Store) ConsumeReservation(ctx context.Context, incidentID, sku string) error {
	return s.endReservation(ctx, incidentID, sku, "consumed",
		`UPDATE products SET reserved = reserved - $2, stock = stock - $2, updated_at = now() WHERE sku = $1`)
}

func (s *Store) endReservation(ctx context.Context, incidentID, sku, status, adjust string) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var qty int64
		err := tx.QueryRow(ctx, `UPDATE reservations SET status = $3, updated_at = now()
			WHERE incident_id = $1 AND sku = $2 AND status = 'held' RETURNING quantity`, incidentID, sku, status).Scan(&qty)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // never held, or already ended
		}
		if err != nil {
			return fmt.Errorf("%s reservation of %s: %w", status, sku, err)
		}
		_, err = tx.Exec(ctx, adjust, sku, qty)
		return err
	})
}

// IssueCode stores a new code; an incident's remedy keeps its first code.
func (s *Store) IssueCode(ctx context.Context, c recovery.IssuedCode) (recovery.IssuedCode, error) {
	_, err := s.pool.Exec(ctx, `INSERT INTO issued_codes (code, incident_id, remedy, value_minor, currency, expires_at, status)
		VALUES ($1, $2, $3, $4, $5, $6, 'active') ON CONFLICT (incident_id, remedy) DO NOTHING`,
		c.Code, c.IncidentID, string(c.Remedy), c.ValueMinor, c.Currency, c.ExpiresAt)
	if err != nil {
		return c, fmt.Errorf("issue code for %s: %w", c.IncidentID, mapErr(err))
	}
	return s.code(ctx, `incident_id = $1 AND remedy = $2`, c.IncidentID, string(c.Remedy))
}

func (s *Store) code(ctx context.Context, where string, args ...any) (recovery.IssuedCode, error) {
	var c recovery.IssuedCode
	var remedy string
	err := s.pool.QueryRow(ctx, `SELECT code, incident_id, remedy, value_minor, currency, expires_at, status,
		redeemed_at, redeemed_order_id FROM issued_codes WHERE `+where, args...).Scan(&c.Code, &c.IncidentID, &remedy,
		&c.ValueMinor, &c.Currency, &c.ExpiresAt, &c.Status, &c.RedeemedAt, &c.OrderID)
	c.Remedy = recovery.Remedy(remedy)
	if err != nil {
		return c, fmt.Errorf("read code: %w", mapErr(err))
	}
	return c, nil
}

// VoidCode makes an incident's code for a remedy unusable (unless it was
// redeemed already).
func (s *Store) VoidCode(ctx context.Context, incidentID string, remedy recovery.Remedy) error {
	_, err := s.pool.Exec(ctx, `UPDATE issued_codes SET status = 'void', voided_at = now() WHERE incident_id = $1 AND remedy = $2 AND status = 'active'`,
		incidentID, string(remedy))
	if err != nil {
		return fmt.Errorf("void code of %s: %w", incidentID, err)
	}
	return nil
}

// RedeemCode uses a code once.
func (s *Store) RedeemCode(ctx context.Context, code, orderID string, at time.Time) (recovery.IssuedCode, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE issued_codes SET status = 'redeemed', redeemed_at = $3, redeemed_order_id = $2
		WHERE code = $1 AND status = 'active' AND (expires_at IS NULL OR expires_at > $3)`, code, orderID, at)
	if err != nil {
		return recovery.IssuedCode{}, fmt.Errorf("redeem code: %w", err)
	}
	c, err := s.code(ctx, `code = $1`, code)
	if err != nil {
		return c, err
	}
	if tag.RowsAffected() == 0 {
		why := c.Status
		if c.Status == recovery.CodeActive {
			why = "expired"
		}
		return c, fmt.Errorf("code is %s: %w", why, recovery.ErrConflict)
	}
	return c, nil
}

// Audit appends to an incident's audit trail.
func (s *Store) Audit(ctx context.Context, e recovery.AuditEntry) error {
	var key *string
	if e.Key != "" {
		key = &e.Key
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO audit (incident_id, actor, action, at, before, after, note, key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (incident_id, key) WHERE key IS NOT NULL DO NOTHING`,
		e.IncidentID, e.Actor, e.Action, e.At, nullJSON(e.Before), nullJSON(e.After), e.Note, key)
	if err != nil {
		return fmt.Errorf("audit %s: %w", e.IncidentID, err)
	}
	return nil
}

func nullJSON(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	return raw
}

// ApprovedSince sums the offers approved in a currency since a time.
func (s *Store) ApprovedSince(ctx context.Context, currency string, since time.Time) (int64, error) {
	var sum int64
	err := s.pool.QueryRow(ctx, `SELECT coalesce(sum(value_minor), 0) FROM offers
		WHERE currency = $1 AND approved_at >= $2 AND status IN ('approved', 'applied')`, currency, since).Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("approved since: %w", err)
	}
	return sum, nil
}

// SetIncidentStatus changes an open incident's status (not a closed one's).
func (s *Store) SetIncidentStatus(ctx context.Context, id, status string) error {
	_, err := s.pool.Exec(ctx, `UPDATE incidents SET status = $2, updated_at = now() WHERE id = $1 AND closed_at IS NULL`, id, status)
	if err != nil {
		return fmt.Errorf("set status of %s: %w", id, err)
	}
	return nil
}

// SetIncidentKind changes an open incident's kind and reason.
func (s *Store) SetIncidentKind(ctx context.Context, id string, kind recovery.Kind, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE incidents SET kind = $2, reason = $3, updated_at = now() WHERE id = $1 AND closed_at IS NULL`,
		id, string(kind), reason)
	if err != nil {
		return fmt.Errorf("set kind of %s: %w", id, err)
	}
	return nil
}

// Deliver keeps an outbound webhook instead of sending it (the capture
// outbox of dev); a repeated id is kept once.
func (s *Store) Deliver(ctx context.Context, w recovery.OutboundWebhook) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO captured_webhooks (id, type, data) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING`,
		w.ID, w.Type, w.Data)
	if err != nil {
		return fmt.Errorf("capture webhook: %w", err)
	}
	return nil
}

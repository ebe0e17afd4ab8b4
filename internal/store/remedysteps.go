package store

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// RemedyStep is one step of carrying out an incident's remedy, or of
// undoing it: stock held, shipped or given back; a code issued, voided or
// redeemed; the daily budget reserved.
type RemedyStep struct {
	At     time.Time
	What   string
	Detail string
	// Undo marks a compensation: a step taken back.
	Undo bool
}

// RemedySteps reads what was done to carry out an incident's remedy, and
// what was undone, oldest first. A code shows by its last four
// characters only.
func (s *Store) RemedySteps(ctx context.Context, incidentID string) ([]RemedyStep, error) {
	var out []RemedyStep
	rows, err := s.pool.Query(ctx, `SELECT sku, quantity, status, created_at, updated_at FROM reservations WHERE incident_id = $1`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read reservations: %w", err)
	}
	var sku, status string
	var qty int64
	var created, updated time.Time
	if _, err := pgx.ForEachRow(rows, []any{&sku, &qty, &status, &created, &updated}, func() error {
		out = append(out, RemedyStep{At: created, What: "stock held", Detail: fmt.Sprintf("%d × %s", qty, sku)})
		switch status {
		case "released":
			out = append(out, RemedyStep{At: updated, What: "stock given back", Detail: fmt.Sprintf("%d × %s", qty, sku), Undo: true})
		case "consumed":
			out = append(out, RemedyStep{At: updated, What: "stock shipped", Detail: fmt.Sprintf("%d × %s", qty, sku)})
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read reservations: %w", err)
	}
	rows, err = s.pool.Query(ctx, `SELECT code, remedy, value_minor, currency, status, created_at, voided_at, redeemed_at, redeemed_order_id
		FROM issued_codes WHERE incident_id = $1`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read codes: %w", err)
	}
	var code, remedy, currency, order string
	var value int64
	var voided, redeemed *time.Time
	if _, err := pgx.ForEachRow(rows, []any{&code, &remedy, &value, &currency, &status, &created, &voided, &redeemed, &order}, func() error {
		what := fmt.Sprintf("%s code …%s, %s", remedy, code[max(0, len(code)-4):], recovery.Money{Minor: value, Currency: currency})
		out = append(out, RemedyStep{At: created, What: "code issued", Detail: what})
		switch {
		case status == "void":
			out = append(out, RemedyStep{At: *cmp.Or(voided, &created), What: "code voided", Detail: what, Undo: true})
		case status == "redeemed" && redeemed != nil:
			out = append(out, RemedyStep{At: *redeemed, What: "code redeemed", Detail: what + ", on order " + order})
		}
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read codes: %w", err)
	}
	var b RemedyStep
	err = s.pool.QueryRow(ctx, `SELECT created_at, value_minor, currency FROM budget_reservations WHERE incident_id = $1`, incidentID).
		Scan(&b.At, &value, &currency)
	switch {
	case err == nil:
		b.What, b.Detail = "daily budget reserved", recovery.Money{Minor: value, Currency: currency}.String()
		out = append(out, b)
	case err != pgx.ErrNoRows:
		return nil, fmt.Errorf("read budget: %w", err)
	}
	slices.SortStableFunc(out, func(a, b RemedyStep) int { return a.At.Compare(b.At) })
	return out, nil
}

// Carriers names the carrier of each of the orders' shipments, from the
// latest event that names one: "order/shipment" → carrier.
func (s *Store) Carriers(ctx context.Context, orderIDs []string) (map[string]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (order_id, data->>'shipment_id') order_id, coalesce(data->>'shipment_id', ''), data->>'carrier'
		FROM events WHERE order_id = ANY($1) AND coalesce(data->>'carrier', '') <> ''
		ORDER BY order_id, data->>'shipment_id', occurred_at DESC, seq DESC`, orderIDs)
	if err != nil {
		return nil, fmt.Errorf("read carriers: %w", err)
	}
	out := map[string]string{}
	var order, shipment, carrier string
	if _, err := pgx.ForEachRow(rows, []any{&order, &shipment, &carrier}, func() error {
		out[order+"/"+shipment] = carrier
		return nil
	}); err != nil {
		return nil, fmt.Errorf("read carriers: %w", err)
	}
	return out, nil
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// deliveredOrder is one happy order's story: created, shipped, delivered
// to its postal code.
func deliveredOrder(id string, at time.Time) []any {
	ts := func(d time.Duration) string { return at.Add(d).UTC().Format(time.RFC3339) }
	return []any{
		map[string]any{"id": id + "-1", "source": "e2e", "type": "order.created", "time": ts(0),
			"data": map[string]any{"order_id": id, "currency": "EUR", "total_minor": 2500,
				"customer":         map[string]any{"id": "c-" + id, "email": id + "@example.com", "locale": "en"},
				"shipping_address": map[string]any{"line1": "Invalidenstr. 1", "postal_code": "10115", "country": "DE"},
				"lines":            []any{map[string]any{"sku": "A", "quantity": 1, "unit_price_minor": 2500}}}},
		map[string]any{"id": id + "-2", "source": "e2e", "type": "shipment.created", "time": ts(time.Minute),
			"data": map[string]any{"order_id": id, "shipment_id": "s-1", "carrier": "dhl",
				"origin": map[string]any{"postal_code": "04103", "country": "DE"},
				"lines":  []any{map[string]any{"sku": "A", "quantity": 1}}}},
		map[string]any{"id": id + "-3", "source": "e2e", "type": "shipment.tracking", "time": ts(2 * time.Minute),
			"data": map[string]any{"order_id": id, "shipment_id": "s-1", "status": "delivered",
				"location": map[string]any{"postal_code": "10115", "country": "DE"}}},
	}
}

// countOrders counts the order workflows in a state (a visibility query).
func countOrders(t *testing.T, c client.Client, status string) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := c.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: "default",
		Query: fmt.Sprintf("WorkflowType = 'OrderWorkflow' AND ExecutionStatus = '%s'", status)})
	if err != nil {
		t.Fatal(err)
	}
	return res.Count
}

// 1,000 delivered orders leave no open order workflow once idle, each
// with its projection; a late scan after that starts a new run that still
// knows where the order ships, and opens the right incident.
func TestDeliveredOrdersFinishAndALateScanStillCounts(t *testing.T) {
	const orders = 1000
	dataDir := filepath.Join(t.TempDir(), "state")
	t.Cleanup(func() {
		if target, err := os.Readlink(filepath.Join(dataDir, "postgres", "cluster")); err == nil {
			os.RemoveAll(target)
		}
	})
	env, base := devEnv(t, dataDir)
	env = append(env, "RECOVERY_ORDER_IDLE=5s")
	dev := startDev(t, env, base)
	defer dev.stop(30 * time.Second)

	run := fmt.Sprintf("fin-%d", time.Now().UnixNano())
	at := time.Now().Add(-time.Hour)
	var batch []any
	for i := range orders {
		batch = append(batch, deliveredOrder(fmt.Sprintf("%s-%d", run, i), at)...)
		if len(batch) >= 900 || i == orders-1 {
			var res struct{ Accepted int }
			if code := api(t, base, "POST", "/v1/events", map[string]any{"events": batch}, &res); code != 202 || res.Accepted != len(batch) {
				t.Fatalf("push: %d %+v", code, res)
			}
			batch = nil
		}
	}
	pushed := time.Now()

	c, err := client.Dial(client.Options{HostPort: temporalAddrOf(env), Namespace: "default",
		Logger: quietTemporalLogger(quietLogger())})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(4 * time.Minute)
	var running, completed int64
	for {
		running, completed = countOrders(t, c, "Running"), countOrders(t, c, "Completed")
		if running == 0 && completed >= orders {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d order workflows still running, %d completed", time.Since(pushed), running, completed)
		}
		time.Sleep(time.Second)
	}
	t.Logf("%d delivered orders: all %d order workflows completed %s after the push (idle 5s)", orders, completed,
		time.Since(pushed).Round(time.Second))

	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dev.databaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var kept int
	conn.QueryRow(ctx, `SELECT count(*) FROM order_states WHERE order_id LIKE $1`, run+"-%").Scan(&kept) //nolint:errcheck
	if kept != orders {
		t.Fatalf("%d projections kept, want %d", kept, orders)
	}

	// A late scan for one of them: "delivered", but in another postal code.
	late := fmt.Sprintf("%s-%d", run, 7)
	scan := map[string]any{"id": late + "-late", "source": "e2e", "type": "shipment.tracking",
		"time": at.Add(time.Hour).UTC().Format(time.RFC3339),
		"data": map[string]any{"order_id": late, "shipment_id": "s-1", "status": "delivered",
			"location": map[string]any{"postal_code": "80331", "country": "DE"}}}
	if code := api(t, base, "POST", "/v1/events", scan, nil); code != 202 {
		t.Fatalf("late scan: %d", code)
	}
	inc := waitIncident(t, base, late, "misrouted", time.Minute)
	if len(inc.Evidence) != 1 || inc.Evidence[0] != late+"-late" || inc.ShipmentID != "s-1" {
		t.Fatalf("incident after the late scan: %+v", inc)
	}
	if inc.Contacts[0].To != late+"@example.com" {
		t.Fatalf("the apology went to %q, not the order's customer", inc.Contacts[0].To)
	}
}

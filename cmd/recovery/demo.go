package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"time"
)

// demoStory returns a scripted misroute: an order from Berlin shipped from
// Leipzig whose parcel is scanned in Poland, a country that is neither its
// origin nor its destination.
func demoStory(orderID string, now time.Time) []json.RawMessage {
	at := func(h int) string { return now.Add(time.Duration(h-6) * time.Hour).UTC().Format(time.RFC3339) }
	ev := func(id, typ string, h int, data map[string]any) json.RawMessage {
		data["order_id"] = orderID
		b, _ := json.Marshal(map[string]any{"id": orderID + "-" + id, "source": "demo-shop", "type": typ,
			"time": at(h), "subject": "order/" + orderID, "data": data})
		return b
	}
	scan := func(status, city, postal, country, desc string) map[string]any {
		return map[string]any{"shipment_id": "s-1", "carrier": "dhl", "tracking_number": "JD014600" + orderID[len(orderID)-4:],
			"status": status, "description": desc,
			"location": map[string]any{"city": city, "postal_code": postal, "country": country}}
	}
	return []json.RawMessage{
		ev("order", "order.created", 0, map[string]any{
			"currency": "EUR", "total_minor": 8999,
			"promised_delivery": now.Add(72 * time.Hour).UTC().Format(time.RFC3339),
			"customer": map[string]any{"id": "c-7", "name": "Ada Weber", "email": "ada@example.com",
				"phone": "+493012345678", "locale": "de-DE", "time_zone": "Europe/Berlin"},
			"shipping_address": map[string]any{"line1": "Invalidenstr. 1", "city": "Berlin",
				"postal_code": "10115", "region": "BE", "country": "DE"},
			"lines": []any{map[string]any{"sku": "LAMP-01", "name": "Desk lamp", "category": "lighting",
				"quantity": 1, "unit_price_minor": 8999}},
		}),
		ev("ship", "shipment.created", 1, map[string]any{"shipment_id": "s-1", "carrier": "dhl",
			"tracking_number": "JD014600" + orderID[len(orderID)-4:],
			"origin":          map[string]any{"city": "Leipzig", "postal_code": "04103", "country": "DE"},
			"lines":           []any{map[string]any{"sku": "LAMP-01", "quantity": 1}}}),
		ev("scan-1", "shipment.tracking", 2, scan("picked_up", "Leipzig", "04103", "DE", "Picked up")),
		ev("scan-2", "shipment.tracking", 4, scan("in_transit", "Poznań", "60-001", "PL", "Arrived at facility")),
	}
}

// runDemo pushes the story to a running stack and waits for its incident.
func runDemo(ctx context.Context, c *apiClient, stdout io.Writer) error {
	orderID := fmt.Sprintf("demo-%d", time.Now().Unix())
	res, err := c.postEvents(ctx, demoStory(orderID, time.Now()))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Pushed order %s: picked up in Leipzig, then scanned in Poznań (PL) on its way to Berlin.\n"+
		"  accepted %d, duplicates %d. Waiting for the incident…\n", orderID, res.Accepted, res.Duplicates)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		var out struct {
			Incidents []json.RawMessage `json:"incidents"`
		}
		if err := c.do(ctx, "GET", "/v1/incidents?order_id="+url.QueryEscape(orderID), nil, &out); err != nil {
			return err
		}
		for _, raw := range out.Incidents {
			var inc struct {
				ID       string                    `json:"id"`
				Status   string                    `json:"status"`
				Contacts []struct{ Status string } `json:"contacts"`
			}
			json.Unmarshal(raw, &inc) //nolint:errcheck
			held := inc.Status == "awaiting_approval"
			if held || len(inc.Contacts) > 0 && inc.Contacts[0].Status == "sent" {
				pretty, _ := json.MarshalIndent(json.RawMessage(raw), "", "  ")
				fmt.Fprintf(stdout, "%s\n", pretty)
				if held {
					// The same customer again and again: the policy's repeat-claimant
					// guard holds the offer for a person.
					fmt.Fprintf(stdout, "The offer waits for approval. Approve it with\n"+
						"  curl -X POST -H 'Authorization: Bearer %s' %s/v1/incidents/%s/approve\n",
						DevApprover.Key, c.base, inc.ID)
				} else {
					fmt.Fprintf(stdout, "The apology's link opens the customer's page; every captured message, with\n"+
						"controls to answer as the customer, is at %s/dev/messages\n", c.base)
				}
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return fmt.Errorf("no incident with a sent apology for order %s after 90s; see GET /v1/incidents?order_id=%s", orderID, orderID)
}

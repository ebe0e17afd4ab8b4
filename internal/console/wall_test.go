package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/recoveryhq/recovery/internal/messaging"
	"github.com/recoveryhq/recovery/internal/messaging/providerstub"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
)

// wowStore has two WOW moments of the week of 2026-11-23 (one starred,
// with the customer's words) and an OW.
func wowStore(t *testing.T) (*store.Store, time.Time) {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	for i, c := range []struct{ order, name, city, answer, comment string }{
		{"w1", "Ada Weber", "Berlin", "wow", "The call made my day"},
		{"w2", "Bo Lind", "Malmö", "wow", ""},
		{"w3", "Cy Nord", "Oslo", "ow", ""},
	} {
		raw, _ := json.Marshal(recovery.OrderData{OrderID: c.order, Currency: "EUR", TotalMinor: 8999,
			Customer:        recovery.Customer{Name: c.name, Email: c.order + "@example.com"},
			ShippingAddress: recovery.Location{Line1: "Street 1", City: c.city, PostalCode: "10115", Country: "DE"}})
		if _, err := st.InsertEvents(ctx, []recovery.Event{{ID: c.order + "-o", Source: "shop", Type: recovery.TypeOrderCreated,
			Time: monday, Data: raw}}); err != nil {
			t.Fatal(err)
		}
		id := "inc-" + c.order
		if err := st.UpsertIncident(ctx, recovery.Incident{ID: id, OrderID: c.order, ShipmentID: "s-1", Kind: recovery.KindLost,
			Status: recovery.IncidentResolved, DetectedAt: monday.Add(time.Duration(i+1) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if err := st.SaveSurvey(ctx, id, recovery.Survey{Answer: c.answer, Via: "page", At: monday.Add(time.Duration(i+2) * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if c.comment != "" {
			if err := st.SaveSurveyComment(ctx, id, c.comment); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := st.StarMoment(ctx, "inc-w1", "console:mara", true); err != nil {
		t.Fatal(err)
	}
	if err := st.StarMoment(ctx, "inc-w3", "console:mara", true); !errors.Is(err, recovery.ErrNotFound) {
		t.Fatalf("starring an OW: %v, want not found", err)
	}
	return st, monday
}

// TestWowWallShowsFirstNamesAndCities: the wall lists the WOWs, newest
// first, with first names and cities only.
func TestWowWallShowsFirstNamesAndCities(t *testing.T) {
	st, monday := wowStore(t)
	ms, err := st.WowMoments(context.Background(), monday, monday.AddDate(0, 0, 7), false, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 || ms[0].IncidentID != "inc-w2" || ms[1].FirstName != "Ada" || ms[1].City != "Berlin" ||
		ms[1].Comment != "The call made my day" || ms[1].StarredAt == nil || ms[1].StarredBy != "console:mara" || ms[0].StarredAt != nil {
		t.Fatalf("moments %+v", ms)
	}
	if starred, _ := st.WowMoments(context.Background(), monday, monday.AddDate(0, 0, 7), true, 10); len(starred) != 1 {
		t.Fatalf("starred moments %+v, want Ada's", starred)
	}
}

// TestWeeklyDigestThroughSendGrid: on Monday from 08:00 UTC the digest of
// the week before goes, through the real SendGrid client, to each address
// once, whatever the number of rounds; it carries the week's numbers and
// the starred moment (first name and city, never a surname or an
// address); a failed send leaves the week to be sent again.
func TestWeeklyDigestThroughSendGrid(t *testing.T) {
	st, monday := wowStore(t)
	sg := providerstub.SendGrid("SG.test-key")
	t.Cleanup(sg.Close)
	clock := monday.AddDate(0, 0, 7).Add(7 * time.Hour) // next Monday, 07:00
	d := &Digest{Wall: st, Insights: st, To: []string{"team@shop.example", "ceo@shop.example"},
		Mail:       messaging.NewSendGrid(messaging.SendGridConfig{APIKey: "SG.test-key", From: "care@shop.example", APIBase: sg.URL}),
		ConsoleURL: "https://ops.shop.example/console", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Now: func() time.Time { return clock }}
	ctx := context.Background()
	if sent, err := d.Due(ctx); err != nil || sent || len(sg.Requests()) != 0 {
		t.Fatalf("before 08:00: sent %v, %v, %d requests", sent, err, len(sg.Requests()))
	}
	clock = clock.Add(2 * time.Hour)
	sg.Fail = 503
	if sent, err := d.Due(ctx); err == nil || sent {
		t.Fatalf("with SendGrid down: sent %v, %v", sent, err)
	}
	sg.Fail = 0
	before := len(sg.Requests())
	if sent, err := d.Due(ctx); err != nil || !sent {
		t.Fatalf("at 09:00: sent %v, %v", sent, err)
	}
	if sent, err := d.Due(ctx); err != nil || sent {
		t.Fatalf("a second round sent it again: %v, %v", sent, err)
	}
	reqs := sg.Requests()[before:]
	if len(reqs) != 2 {
		t.Fatalf("%d requests to SendGrid, want one per address", len(reqs))
	}
	var to []string
	for _, r := range reqs {
		body := fmt.Sprint(r.JSON)
		to = append(to, fmt.Sprint(r.JSON["personalizations"]))
		for _, want := range []string{"Your week in recovery: 3 incidents", "2 WOW", "OW 1, HOW 0, WOW 2", "Ada, Berlin", "The call made my day",
			"https://ops.shop.example/console/wall", "from=2026-11-23&to=2026-11-30"} {
			if !strings.Contains(body, want) {
				t.Errorf("the digest lacks %q:\n%s", want, body)
			}
		}
		for _, never := range []string{"Weber", "Street 1", "w1@example.com", "Bo,", "Malmö"} {
			if strings.Contains(body, never) {
				t.Errorf("the digest shows %q", never)
			}
		}
	}
	if !strings.Contains(strings.Join(to, " "), "team@shop.example") || !strings.Contains(strings.Join(to, " "), "ceo@shop.example") {
		t.Errorf("the digest went to %v", to)
	}
}

package browsertest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/recoveryhq/recovery/internal/console"
	"github.com/recoveryhq/recovery/internal/policy"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/store/storetest"
)

// workday serves the console as a working day leaves it, on a real
// store: the shop's orders and the carriers' scans; three offers awaiting
// approval (a lost parcel's refund, escalated; a repeat claimant's
// discount; a damaged parcel's refund over mara's limit in USD); a stalled
// parcel whose remedy failed and an event the relay quarantined, both
// needing attention; a customer who answered the apology asking for a
// person; and an older incident of the lost parcel's customer, resolved,
// with her survey answer; the day is 2026-11-24. mara approves up to
// 500 EUR, 400 GBP and 500 USD. Its policy page shows the built-in policy and replays over the
// store's incidents.
func workday(t *testing.T) (base string, rem *remedies, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	st = storetest.Open(t)
	hash, err := console.HashPassword(password, console.DefaultParams)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.PutConsoleUser(ctx, store.ConsoleUser{Name: "mara", PasswordHash: hash, Role: "approver", Email: "mara@shop.example",
		Limits: map[string]int64{"EUR": 500, "GBP": 400, "USD": 500, "default": 0}}); err != nil {
		t.Fatal(err)
	}
	// A fixed day, so that the pages (and their pictures) are the same
	// at every run; the console's clock says so too.
	now := workdayNow
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const day = 24 * time.Hour

	// What the shop and the carriers sent.
	var evs []recovery.Event
	event := func(orderID, id, typ string, at time.Time, data map[string]any) string {
		data["order_id"] = orderID
		raw, err := json.Marshal(data)
		if err != nil {
			t.Fatal(err)
		}
		evs = append(evs, recovery.Event{ID: orderID + "-" + id, Source: "shop-eu", Type: typ, Time: at,
			Subject: "order/" + orderID, Data: raw, OrderID: orderID})
		return orderID + "-" + id
	}
	order := func(id, currency string, total int64, at time.Time, promised time.Duration, customer map[string]any, city, postal, country, sku, name string) {
		event(id, "order", recovery.TypeOrderCreated, at, map[string]any{"currency": currency, "total_minor": total,
			"promised_delivery": at.Add(promised).Format(time.RFC3339), "customer": customer,
			"shipping_address": map[string]any{"city": city, "postal_code": postal, "country": country},
			"lines":            []any{map[string]any{"sku": sku, "name": name, "quantity": 1, "unit_price_minor": total}}})
	}
	scan := func(orderID, id string, at time.Time, carrier, status, city, postal, country, code string) string {
		return event(orderID, id, recovery.TypeShipmentTracking, at, map[string]any{"shipment_id": "s-1", "carrier": carrier,
			"tracking_number": "JD0146" + orderID, "status": status, "exception_code": code,
			"location": map[string]any{"city": city, "postal_code": postal, "country": country}})
	}
	ada := map[string]any{"id": "c-7", "name": "Ada Weber", "email": "ada.weber@example.com", "locale": "de-DE"}
	order("0990", "EUR", 5900, ago(21*day), 3*day, ada, "Berlin", "10115", "DE", "MUG-02", "Stoneware mug")
	scan("0990", "scan-1", ago(20*day), "dhl", "picked_up", "Leipzig", "04103", "DE", "")
	misrouted := scan("0990", "scan-2", ago(19*day), "dhl", "in_transit", "Poznań", "60-001", "PL", "")
	order("1001", "EUR", 24900, ago(6*day), 3*day, ada, "Berlin", "10115", "DE", "ESP-01", "Espresso machine")
	scan("1001", "scan-1", ago(6*day-3*time.Hour), "dhl", "picked_up", "Leipzig", "04103", "DE", "")
	scan("1001", "scan-2", ago(5*day), "dhl", "in_transit", "Hamburg", "20095", "DE", "")
	lost := scan("1001", "scan-3", ago(5*time.Hour+10*time.Minute), "dhl", "lost", "Hamburg", "20095", "DE", "")
	ben := map[string]any{"name": "Ben Okafor", "email": "ben.okafor@example.co.uk", "locale": "en-GB"}
	order("0995", "GBP", 70000, ago(16*day), 5*day, ben, "Leeds", "LS1 4AP", "GB", "SOFA-2", "Two-seat sofa")
	sofa := scan("0995", "scan-1", ago(14*day), "dpd", "in_transit", "Cardiff", "CF10 1AA", "GB", "")
	order("1002", "GBP", 12000, ago(5*day), 2*day, ben,
		"Leeds", "LS1 4AP", "GB", "BOOT-41", "Walking boots")
	scan("1002", "scan-1", ago(4*day), "royal_mail", "in_transit", "Manchester", "M1 1AE", "GB", "")
	order("1003", "USD", 65000, ago(4*day), 4*day, map[string]any{"name": "Carla Ruiz", "email": "carla.ruiz@example.com", "locale": "en-US"},
		"Austin", "78701", "US", "BIKE-07", "Road bike")
	damaged := scan("1003", "scan-1", ago(40*time.Minute), "ups", "exception", "Dallas", "75201", "US", "damaged")
	order("1004", "EUR", 7900, ago(9*day), 3*day, map[string]any{"name": "Dev Patel", "email": "dev.patel@example.com", "locale": "en-GB"},
		"Amsterdam", "1012 AB", "NL", "LAMP-01", "Desk lamp")
	stalled := scan("1004", "scan-1", ago(8*day), "postnl", "in_transit", "Utrecht", "3511 AA", "NL", "")
	order("1005", "EUR", 4500, ago(3*day), 3*day, map[string]any{"name": "Emma Lindqvist", "email": "emma.lindqvist@example.se", "locale": "sv-SE"},
		"Malmö", "211 20", "SE", "SCARF-03", "Wool scarf")
	wrongTurn := scan("1005", "scan-1", ago(2*day), "postnord", "in_transit", "Oslo", "0150", "NO", "")
	bad := event("1006", "update", recovery.TypeOrderCreated, ago(2*time.Hour), map[string]any{"currency": "EUR", "total_minor": -100})
	if _, err := st.InsertEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	// The relay delivered every event but one, which Temporal refused.
	claim, err := st.ClaimPending(ctx, 100, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	var out store.Outcome
	for _, p := range claim.Events {
		if p.Event.ID == bad {
			out.Dead = append(out.Dead, store.Quarantined{Seq: p.Seq, Kind: "invalid-argument",
				Note: "Temporal refused the signal's arguments: total_minor is negative"})
		} else {
			out.Relayed = append(out.Relayed, p.Seq)
		}
	}
	if err := claim.Done(ctx, out); err != nil {
		t.Fatal(err)
	}

	// The incidents, as their workflows left them.
	builtin := policy.Default().Version
	// trace is the built-in policy's trace of a decision by the rule
	// named: each rule before it false, as the policy says it.
	trace := func(matched string) []recovery.RuleTrace {
		var out []recovery.RuleTrace
		for _, r := range policy.Default().Rules {
			if r.Name == matched {
				return append(out, recovery.RuleTrace{Rule: r.Name, Matched: true})
			}
			out = append(out, recovery.RuleTrace{Rule: r.Name, Why: "condition is false: " + r.When})
		}
		t.Fatalf("the built-in policy has no rule %q", matched)
		return nil
	}
	money := func(minor int64, currency string) recovery.Money {
		return recovery.Money{Minor: minor, Currency: currency}
	}
	// The built-in policy's decisions: a lost or damaged parcel's reship
	// or refund, over 150.00 for a person to approve; a 15% discount for
	// everything else.
	lostOrDamaged := func(minor int64, currency string) *recovery.RemedyDecision {
		return &recovery.RemedyDecision{PolicyVersion: builtin, Rule: "lost or damaged", Trace: trace("lost or damaged"), NeedsApproval: true,
			Approval:        recovery.ApprovalRule{AutoUpToMinor: 15000, Role: "ops", EscalateAfter: 4 * time.Hour, Deadline: 24 * time.Hour, OnDeadline: "apply_default"},
			CustomerChooses: true, Default: recovery.RemedyReship, ChoiceTimeout: 48 * time.Hour, Ladder: []string{"voice", "sms", "email"},
			Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyReship, Value: money(minor, currency), Expedited: true},
				{Remedy: recovery.RemedyRefund, Value: money(minor, currency)}}}
	}
	everythingElse := func(minor int64, currency string) *recovery.RemedyDecision {
		return &recovery.RemedyDecision{PolicyVersion: builtin, Rule: "everything else", Trace: trace("everything else"),
			Offers: []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: money(minor, currency), ExpiresIn: 60 * day}}}
	}
	type story struct {
		inc      recovery.Incident
		decision *recovery.RemedyDecision
		offer    *recovery.Offer
		offered  time.Time // when the offer was made
		contact  *recovery.Contact
		news     *recovery.ContactEvent
		audit    []recovery.AuditEntry
		survey   *recovery.Survey
		closed   string // how a closed incident ended
	}
	for _, s := range []story{
		{inc: recovery.Incident{ID: "inc-0990", OrderID: "0990", ShipmentID: "s-1", Kind: recovery.KindMisrouted, Status: recovery.IncidentResolved,
			DetectedAt: ago(19*day - 10*time.Minute), Evidence: []string{misrouted}, WorkflowID: "incident/0990/s-1/misrouted",
			Reason: "scanned in Poznań, which is neither the origin (Leipzig) nor the destination (Berlin)"},
			decision: everythingElse(885, "EUR"),
			offer:    &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 885, Currency: "EUR", Status: recovery.OfferApplied, Code: "SORRY-7Q2K", ApprovedBy: "policy"},
			offered:  ago(19*day - 11*time.Minute),
			contact: &recovery.Contact{Step: 1, Channel: recovery.ChannelEmail, To: "ada.weber@example.com", Locale: "de-DE",
				Subject: "Es tut uns leid: Ihr Paket hat einen Umweg gemacht",
				Body:    "Hallo Ada,\n\nIhr Paket wurde falsch geleitet und kommt später an. Als Entschuldigung: 8,85 € Rabatt mit dem Code SORRY-7Q2K.\n\nIhr Team"},
			news: &recovery.ContactEvent{Step: 1, Channel: recovery.ChannelEmail, Outcome: recovery.OutcomeOpened, Detail: "opened"},
			survey: &recovery.Survey{Answer: recovery.SurveyWOW, Via: "page", At: ago(18 * day),
				Comment: "You called before I even noticed. Impressive."}, closed: "remedy applied; the customer answered the survey"},
		{inc: recovery.Incident{ID: "inc-0995", OrderID: "0995", ShipmentID: "s-1", Kind: recovery.KindMisrouted, Status: recovery.IncidentResolved,
			DetectedAt: ago(14*day - 5*time.Minute), Evidence: []string{sofa}, WorkflowID: "incident/0995/s-1/misrouted",
			Reason: "scanned in Cardiff, which is neither the origin nor the destination (Leeds)"},
			decision: everythingElse(10500, "GBP"),
			offer:    &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 10500, Currency: "GBP", Status: recovery.OfferApplied, Code: "SORRY-B3NX", ApprovedBy: "policy"},
			offered:  ago(14*day - 6*time.Minute), closed: "remedy applied"},
		{inc: recovery.Incident{ID: "inc-1001", OrderID: "1001", ShipmentID: "s-1", Kind: recovery.KindLost, Status: recovery.IncidentAwaitingApproval,
			DetectedAt: ago(5 * time.Hour), Evidence: []string{lost}, WorkflowID: "incident/1001/s-1/lost", Reason: "the carrier reports the parcel lost"},
			decision: lostOrDamaged(24900, "EUR"),
			offer:    &recovery.Offer{Remedy: recovery.RemedyReship, ValueMinor: 24900, Currency: "EUR", Status: recovery.OfferPending},
			offered:  ago(5 * time.Hour),
			audit:    []recovery.AuditEntry{{Actor: "system", Action: "escalate", At: ago(time.Hour), Note: "no decision after 4h0m0s; escalated to ops"}}},
		// Ben's sofa earned him 105.00 GBP within 30 days: a repeat claimant.
		{inc: recovery.Incident{ID: "inc-1002", OrderID: "1002", ShipmentID: "s-1", Kind: recovery.KindLate, Status: recovery.IncidentAwaitingApproval,
			DetectedAt: ago(90 * time.Minute), WorkflowID: "incident/1002/s-1/late", Reason: "the promised delivery passed without a delivery scan"},
			decision: &recovery.RemedyDecision{PolicyVersion: builtin, Rule: "repeat claimant", Trace: trace("repeat claimant"), NeedsApproval: true,
				Approval: recovery.ApprovalRule{AutoUpToMinor: 0, Role: "ops", EscalateAfter: 4 * time.Hour, Deadline: 24 * time.Hour, OnDeadline: "apply_default"},
				Offers:   []recovery.RemedyOffer{{Remedy: recovery.RemedyDiscount, Value: money(1200, "GBP"), ExpiresIn: 30 * day}}},
			offer:   &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1200, Currency: "GBP", Status: recovery.OfferPending},
			offered: ago(90 * time.Minute)},
		{inc: recovery.Incident{ID: "inc-1003", OrderID: "1003", ShipmentID: "s-1", Kind: recovery.KindCarrierException, Status: recovery.IncidentAwaitingApproval,
			DetectedAt: ago(35 * time.Minute), Evidence: []string{damaged}, WorkflowID: "incident/1003/s-1/carrier_exception",
			Reason: "the carrier reported a problem (damaged)"},
			decision: lostOrDamaged(65000, "USD"),
			offer:    &recovery.Offer{Remedy: recovery.RemedyReship, ValueMinor: 65000, Currency: "USD", Status: recovery.OfferPending},
			offered:  ago(35 * time.Minute)},
		{inc: recovery.Incident{ID: "inc-1004", OrderID: "1004", ShipmentID: "s-1", Kind: recovery.KindStalled, Status: recovery.IncidentNeedsAttention,
			DetectedAt: ago(6 * day), Evidence: []string{stalled}, WorkflowID: "incident/1004/s-1/stalled", Reason: "no scan for 48 hours"},
			decision: everythingElse(1185, "EUR"),
			offer:    &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 1185, Currency: "EUR", Status: recovery.OfferFailed},
			offered:  ago(6 * day),
			audit: []recovery.AuditEntry{{Actor: "system", Action: "failed", At: ago(6*day - 20*time.Minute),
				Note: "the shop's discount endpoint answered 503 five times"}}},
		{inc: recovery.Incident{ID: "inc-1005", OrderID: "1005", ShipmentID: "s-1", Kind: recovery.KindMisrouted, Status: recovery.IncidentOpen,
			DetectedAt: ago(2*day - 15*time.Minute), Evidence: []string{wrongTurn}, WorkflowID: "incident/1005/s-1/misrouted",
			Reason: "scanned in Oslo, which is neither the origin nor the destination (Malmö)"},
			decision: everythingElse(675, "EUR"),
			offer:    &recovery.Offer{Remedy: recovery.RemedyDiscount, ValueMinor: 675, Currency: "EUR", Status: recovery.OfferApplied, Code: "SORRY-M4LX", ApprovedBy: "policy"},
			offered:  ago(2*day - 16*time.Minute),
			contact: &recovery.Contact{Step: 1, Channel: recovery.ChannelEmail, To: "emma.lindqvist@example.se", Locale: "en-GB",
				Subject: "Sorry: your parcel took a wrong turn",
				Body:    "Hello Emma,\n\nYour parcel was sent the wrong way and will be late. As an apology, here is 6.75 EUR off with the code SORRY-M4LX.\n\nThe shop"},
			news: &recovery.ContactEvent{Step: 1, Channel: recovery.ChannelEmail, Outcome: recovery.OutcomeResponded, Detail: recovery.DetailPersonRequested},
			audit: []recovery.AuditEntry{{Actor: "customer", Action: "person-requested", At: ago(3 * time.Hour),
				Note: "asked for a person (email, step 1)"}}},
	} {
		addIncident(t, st, s.inc, nil)
		id := s.inc.ID
		if s.decision != nil {
			if err := st.SaveDecision(ctx, id, *s.decision); err != nil {
				t.Fatal(err)
			}
		}
		if s.offer != nil {
			if err := st.SaveOffer(ctx, id, *s.offer); err != nil {
				t.Fatal(err)
			}
			// The store stamps an offer with the time it is saved; these
			// were made earlier (the queue's deadlines count from then).
			if _, err := st.Pool().Exec(ctx, `UPDATE offers SET created_at = $2 WHERE incident_id = $1`, id, s.offered); err != nil {
				t.Fatal(err)
			}
		}
		if c := s.contact; c != nil {
			c.IncidentID, c.Status = id, recovery.ContactSending
			if _, _, err := st.BeginContact(ctx, *c); err != nil {
				t.Fatal(err)
			}
			if err := st.FinishContact(ctx, id, c.Step, c.Channel, recovery.ContactSent, "msg-"+id, s.offered.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if ev := s.news; ev != nil {
			ev.IncidentID = id
			if _, err := st.RecordContactEvent(ctx, *ev); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range s.audit {
			a.IncidentID = id
			if err := st.Audit(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		if s.survey != nil {
			if err := st.SaveSurvey(ctx, id, *s.survey); err != nil {
				t.Fatal(err)
			}
			if s.survey.Comment != "" {
				if err := st.SaveSurveyComment(ctx, id, s.survey.Comment); err != nil {
					t.Fatal(err)
				}
			}
		}
		if s.closed != "" {
			if err := st.CloseIncident(ctx, id, s.inc.Status, s.closed, s.offered.Add(day)); err != nil {
				t.Fatal(err)
			}
		}
	}

	rem = &remedies{}
	s := (&console.Server{Remedies: rem, TemporalUI: "http://127.0.0.1:8233", Namespace: "default",
		Now:      func() time.Time { return now },
		Policies: console.Policies{Active: policy.Default(), Source: string(policy.DefaultText()), Past: console.PastFrom(st)},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))}).WithStore(st)
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv.URL, rem, st
}

// TestEveryPageRenders opens every page of the console on a working day's
// store (see workday), as mara: the login page; the queue's three tabs; an
// incident awaiting approval, with its timeline, and a resolved one; a
// search by customer; the result of a bulk approval; the policy page and
// a check of a changed policy; the queue with a saved view. Each answers
// 200, has a heading, shows what the store holds, has its controls in the
// page's type size, and passes axe-core; docs/console.md shows a picture
// of each, and of nothing else.
//
// With RECOVERY_SCREENSHOTS=DIR (relative to the repository's root) each
// page is also kept as DIR/NAME.png, a full-page screenshot 1280 pixels
// wide: `make screenshots` writes them to docs/console, for
// docs/console.md.
// workdayNow is the console's clock on the working day.
var workdayNow = time.Date(2026, 11, 24, 14, 30, 0, 0, time.UTC)

func TestEveryPageRenders(t *testing.T) {
	base, rem, st := workday(t)
	now := workdayNow
	dir := os.Getenv("RECOVERY_SCREENSHOTS")
	if dir != "" {
		if !filepath.IsAbs(dir) {
			root, err := moduleRoot()
			if err != nil {
				t.Fatal(err)
			}
			dir = filepath.Join(root, dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b := newTab(t)
	var pages []string
	// page checks the page the steps lead to, and photographs it.
	page := func(name string, wants []string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		pages = append(pages, name)
		if status := b.submit("open the "+name+" page", steps...); status != http.StatusOK {
			t.Errorf("the %s page answered %d, want 200", name, status)
		}
		b.do("wait for the "+name+" page", chromedp.WaitVisible(chromedp.CSS("main h1")), Loaded())
		if h1 := strings.TrimSpace(b.text("main h1")); h1 == "" {
			t.Errorf("the %s page has an empty heading", name)
		}
		text := b.text("main")
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("the %s page lacks %q; it shows:\n%s", name, want, text)
			}
		}
		// A control in a smaller type than the text around it is harder to
		// read (and a phone zooms in on it).
		if small := eval[[]string](b, `[...document.querySelectorAll("main input:not([type=checkbox]), main select, main button")]
			.filter(e => getComputedStyle(e).fontSize !== getComputedStyle(document.body).fontSize)
			.map(e => (e.id || e.name || e.textContent) + " " + getComputedStyle(e).fontSize)`); len(small) > 0 {
			t.Errorf("on the %s page these controls are in another type size than the page's %s: %q", name,
				eval[string](b, `getComputedStyle(document.body).fontSize`), small)
		}
		Accessible(t, b.ctx, name)
		if dir == "" {
			return
		}
		// The focus ring is not part of the picture; the messages on a
		// timeline are.
		eval[bool](b, `document.activeElement.blur(); document.querySelectorAll(".timeline details").forEach(d => d.open = true); true`)
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("photograph the %s page: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("%s.png: %d KB", name, len(shot)>>10)
	}
	nav := func(path string) chromedp.Action[chromedp.Void] { return chromedp.Navigate(base + path) }

	page("login", []string{"Sign in"}, nav("/console/login"))
	b.do("sign in", signIn(base))
	page("queue-approval", []string{"inc-1001", "reship 249.00 EUR", "escalated", "discount 12.00 GBP", "reship 650.00 USD"},
		nav("/console/?tab=approval"))
	page("queue-escalated", []string{"inc-1001", "escalated", "dhl"}, nav("/console/?tab=escalated"))
	page("queue-attention", []string{"inc-1004", "invalid-argument: Temporal refused"}, nav("/console/?tab=attention"))
	page("queue-person", []string{"inc-1005"}, nav("/console/?tab=person"))
	page("incident", []string{"1001, 249.00 EUR", "Ada Weber, ada.weber@example.com", "Decide by", "Timeline", "Hamburg", "(evidence)",
		"lost or damaged", "escalate", "Approve the offer"},
		nav("/console/incidents/inc-1001"))
	page("incident-resolved", []string{"resolved", "Poznań", "sent, opened", "survey: wow"}, nav("/console/incidents/inc-0990"))
	page("search", []string{"2 incident", "inc-1001", "inc-0990", "Export as CSV"}, nav("/console/search?customer=ada.weber@example.com"))
	b.do("select two offers", nav("/console/?tab=approval"), chromedp.WaitVisible(chromedp.CSS(`input[value="inc-1003"]`)),
		chromedp.Click(chromedp.CSS(`input[value="inc-1002"]`)), chromedp.Click(chromedp.CSS(`input[value="inc-1003"]`)))
	page("bulk", []string{"inc-1002: approved", "inc-1003: over your limit of 500 USD"},
		chromedp.Click(chromedp.CSS(`#bulk button[value="approve"]`)))
	if acts := rem.taken(); len(acts) != 1 || acts[0].Action != recovery.ActionApprove || acts[0].By.Name != "console:mara" {
		t.Errorf("the bulk approval asked the workflows for %+v, want mara's approval of inc-1002 alone", acts)
	}
	page("insights", []string{"Incidents", "We spoke first", "What customers said", "Every figure", "dhl", "Download these figures as CSV"},
		nav("/console/insights?from=2026-11-01&to=2026-11-25&group_by=kind"))
	if bars := eval[int](b, `document.querySelectorAll("svg.chart rect").length`); bars < 5 {
		t.Errorf("the insights page draws %d bars, want the kinds', the survey's and the retention's", bars)
	}
	b.do("star the moment", nav("/console/wall"), chromedp.WaitVisible(chromedp.CSS(`form[action$="/star"] button`)),
		chromedp.Click(chromedp.CSS(`form[action$="/star"] button`)), chromedp.WaitVisible(chromedp.CSS(".moment.starred")))
	page("wall", []string{"You called before I even noticed", "Ada, Berlin", "Starred", "Take the star away"}, nav("/console/wall"))
	if m, err := st.WowMoments(context.Background(), now.AddDate(0, 0, -30), now, true, 10); err != nil || len(m) != 1 || m[0].StarredBy != "console:mara" {
		t.Errorf("the star in Postgres: %+v, %v", m, err)
	}
	if status := b.submit("ask for a period that is not one", nav("/console/insights?from=yesterday")); status != http.StatusBadRequest ||
		!strings.Contains(b.text(".error"), "from") {
		t.Errorf("a bad period: %d, %q; want 400 naming from", status, b.text(".error"))
	}
	page("policy", []string{policy.Default().Version, "repeat claimant"}, nav("/console/policy"))
	changed := strings.Replace(string(policy.DefaultText()), "percent: 15", "percent: 20", 1)
	b.do("paste a changed policy", nav("/console/policy"), chromedp.WaitVisible(chromedp.CSS("#policy-text")),
		chromedp.SetValue(chromedp.CSS("#policy-text"), changed))
	page("policy-check", []string{"What it would have offered", "changed"},
		chromedp.Click(chromedp.CSS(`form[action="/console/policy/check"] button`)))
	b.do("name a view", nav("/console/?tab=approval&currency=EUR"), chromedp.WaitVisible(chromedp.CSS("#view-name")),
		chromedp.SendKeys(chromedp.CSS("#view-name"), "Euro offers"))
	page("queue-saved-view", []string{"Euro offers", "inc-1001"}, chromedp.Submit(chromedp.CSS("#view-name")))

	// docs/console.md shows each of these pictures, and no other.
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "docs", "console.md"))
	if err != nil {
		t.Fatal(err)
	}
	var shown []string
	for _, m := range regexp.MustCompile(`\]\(console/([a-z-]+)\.png\)`).FindAllStringSubmatch(string(doc), -1) {
		shown = append(shown, m[1])
	}
	if !slices.Equal(shown, pages) {
		t.Errorf("docs/console.md shows the pictures %q, want those of the pages in the order taken, %q", shown, pages)
	}
}

// TestReplayingTheActivePolicyChangesNothing: mara replays the active
// policy, unchanged, over the working day's incidents, which that policy
// decided: each keeps its rule and its offer, the damaged parcel's too (a
// carrier exception's code is part of what the policy decides on, and of
// what the replay must know).
func TestReplayingTheActivePolicyChangesNothing(t *testing.T) {
	base, _, _ := workday(t)
	b := newTab(t)
	b.do("sign in and open the policy page", signIn(base), chromedp.Navigate(base+"/console/policy"),
		chromedp.WaitVisible(chromedp.CSS("#policy-text")))
	if status := b.submit("replay the active policy", chromedp.Click(chromedp.CSS(`form[action="/console/policy/check"] button`))); status != http.StatusOK {
		t.Fatalf("the replay answered %d, want 200", status)
	}
	rows := eval[[]string](b, `[...document.querySelectorAll("section[aria-labelledby=result] tbody tr")].map(r => r.innerText)`)
	if len(rows) != 7 {
		t.Fatalf("the replay shows %d incidents, want the 7 of the last 30 days: %q", len(rows), rows)
	}
	if changed := eval[[]string](b, `[...document.querySelectorAll("tr.changed")].map(r => r.innerText)`); len(changed) != 0 {
		t.Errorf("replaying the policy that decided them changes %q, want nothing changed", changed)
	}
	if rule := eval[string](b, `[...document.querySelectorAll("section[aria-labelledby=result] tbody tr")]
		.filter(r => r.cells[0].innerText == "inc-1003").map(r => r.cells[4].innerText).join()`); rule != "lost or damaged" {
		t.Errorf("the damaged parcel (inc-1003) replays under the rule %q, want lost or damaged", rule)
	}
}

package console

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/insights"
	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/web"
)

// Wall keeps the WOW moments, their stars and the weekly digests.
type Wall interface {
	WowMoments(ctx context.Context, from, to time.Time, starred bool, limit int) ([]store.WowMoment, error)
	StarMoment(ctx context.Context, incidentID, by string, star bool) error
	SendDigestOnce(ctx context.Context, week string, send func() error) (bool, error)
}

// wallView is the wow wall: the moments of the last days.
type wallView struct {
	Days    int
	Moments []store.WowMoment
	CanStar bool
}

// wallPage shows the WOW moments of the last 30 days (?days=N, up to
// 365), each with the customer's first name and city only, what they
// told us, and a star for the weekly digest.
func (s *Server) wallPage(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	v := view{Title: "Wow wall", User: &u}
	days := 30
	if d := r.URL.Query().Get("days"); d != "" {
		if _, err := fmt.Sscanf(d, "%d", &days); err != nil || days < 1 || days > 365 {
			v.Error, days = "Days: a whole number from 1 to 365.", 30
		}
	}
	wv := &wallView{Days: days, CanStar: u.Role != "viewer"}
	v.Wall = wv
	if s.Wall == nil {
		v.Error = "This console keeps no wall."
		s.render(w, http.StatusOK, "wall", v)
		return
	}
	now := s.now()
	var err error
	if wv.Moments, err = s.Wall.WowMoments(r.Context(), now.Add(-time.Duration(days)*24*time.Hour), now.Add(time.Minute), false, 200); err != nil {
		s.Logger.Error("console wall", "err", err)
		v.Error = "The wall cannot be read right now; try again."
		s.render(w, http.StatusServiceUnavailable, "wall", v)
		return
	}
	s.render(w, http.StatusOK, "wall", v)
}

// star stars a moment for the weekly digest, or takes the star away.
func (s *Server) star(w http.ResponseWriter, r *http.Request, u store.ConsoleUser) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if u.Role == "viewer" || s.Wall == nil {
		s.render(w, http.StatusForbidden, "message", view{Title: "Not yours to do", User: &u,
			Message: "A viewer reads the wall; an approver or an admin stars its moments."})
		return
	}
	on := r.PostFormValue("star") != "off"
	err := s.Wall.StarMoment(r.Context(), r.PathValue("id"), "console:"+u.Name, on)
	switch {
	case errors.Is(err, recovery.ErrNotFound):
		s.render(w, http.StatusNotFound, "message", view{Title: "Not found", User: &u, Message: "There is no such moment."})
		return
	case err != nil:
		s.Logger.Error("console star", "err", err)
		s.render(w, http.StatusServiceUnavailable, "message", view{Title: "Unavailable", User: &u, Message: "Try again in a moment."})
		return
	}
	http.Redirect(w, r, "/console/wall", http.StatusSeeOther)
}

// Digest emails the week's numbers and its starred WOW moments, once a
// week (Monday from 08:00 UTC, for the week before), to the team.
type Digest struct {
	Wall     Wall
	Insights web.InsightSource
	Mail     recovery.Messenger
	// To are the addresses (RECOVERY_DIGEST_TO); ConsoleURL is where the
	// links point.
	To         []string
	ConsoleURL string
	Logger     *slog.Logger
	Now        func() time.Time
}

// Run checks every hour whether last week's digest is due.
func (d *Digest) Run(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if _, err := d.Due(ctx); err != nil && ctx.Err() == nil {
			d.Logger.Error("weekly digest", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// monday is the start (UTC) of the ISO week a time falls in.
func monday(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC).AddDate(0, 0, -((int(t.Weekday()) + 6) % 7))
}

// Due sends last week's digest if it is Monday 08:00 UTC or later and no
// process has sent it; it reports whether it sent it.
func (d *Digest) Due(ctx context.Context) (bool, error) {
	now := time.Now()
	if d.Now != nil {
		now = d.Now()
	}
	this := monday(now)
	if now.UTC().Before(this.Add(8 * time.Hour)) {
		return false, nil
	}
	from := this.AddDate(0, 0, -7)
	name := insights.Week(from)
	return d.Wall.SendDigestOnce(ctx, name, func() error {
		m, err := d.message(ctx, name, from, this)
		if err != nil {
			return err
		}
		for _, to := range d.To {
			m.To = to
			m.IdempotencyKey = "weekly-digest:" + name + ":" + to
			if _, err := d.Mail.Send(ctx, m); err != nil {
				return fmt.Errorf("send the digest: %w", err)
			}
		}
		d.Logger.Info("weekly digest sent", "week", name, "recipients", len(d.To))
		return nil
	})
}

// message writes the digest of [from, to): the numbers, then the starred
// moments (first names and cities only).
func (d *Digest) message(ctx context.Context, name string, from, to time.Time) (recovery.Message, error) {
	rep, err := web.Report(ctx, d.Insights, from, to, "")
	if err != nil {
		return recovery.Message{}, err
	}
	moments, err := d.Wall.WowMoments(ctx, from, to, true, 20)
	if err != nil {
		return recovery.Message{}, err
	}
	t := rep.Total
	var b strings.Builder
	fmt.Fprintf(&b, "Your week in recovery, %s to %s\n\n", from.Format("2 January"), to.AddDate(0, 0, -1).Format("2 January 2006"))
	fmt.Fprintf(&b, "- %d incidents; we spoke first in %s of those where someone spoke (%d of %d)\n", t.Incidents,
		percent(t.Proactive.Rate), t.Proactive.Count, t.Proactive.Of)
	fmt.Fprintf(&b, "- first contact after detection: %s (p50 / p90)\n", seconds(t.FirstContact))
	fmt.Fprintf(&b, "- %d healed on their own (%d before any message)\n", t.HealedSilently+t.HealedAfterContact, t.HealedSilently)
	fmt.Fprintf(&b, "- %d of %d offers carried out, %d chosen by the customer\n", t.Offers.Applied, t.Offers.Made, t.Offers.ChoseSelf)
	var cost []string
	for _, m := range t.Cost {
		cost = append(cost, recovery.Money{Minor: m.Minor, Currency: m.Currency}.String())
	}
	if len(cost) > 0 {
		fmt.Fprintf(&b, "- remedies cost %s\n", strings.Join(cost, ", "))
	}
	fmt.Fprintf(&b, "- customers said OW %d, HOW %d, WOW %d\n", t.Survey.OW, t.Survey.HOW, t.Survey.WOW)
	if len(moments) > 0 {
		fmt.Fprintf(&b, "\nThe moments of wow you starred:\n")
		for _, m := range moments {
			who := strings.TrimSpace(strings.Join([]string{m.FirstName, m.City}, ", "))
			who = strings.Trim(who, ", ")
			line := fmt.Sprintf("- %s (%s", cmp.Or(who, "a customer"), strings.ReplaceAll(string(m.Kind), "_", " "))
			if m.Remedy != "" {
				line += ", " + strings.ReplaceAll(m.Remedy, "_", " ")
			}
			line += ")"
			if m.Comment != "" {
				line += ": “" + m.Comment + "”"
			}
			fmt.Fprintln(&b, line)
		}
	}
	if base := strings.TrimSuffix(d.ConsoleURL, "/"); base != "" {
		fmt.Fprintf(&b, "\nThe wall: %s/wall\nThe numbers: %s/insights?from=%s&to=%s&group_by=week\n", base, base,
			from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	subject := fmt.Sprintf("Your week in recovery: %d incidents, %s told first, %d WOW", t.Incidents, percent(t.Proactive.Rate), t.Survey.WOW)
	return recovery.Message{Channel: recovery.ChannelEmail, Subject: subject, Text: b.String()}, nil
}

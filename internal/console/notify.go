package console

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/web"
)

// NoticeStore keeps what the console tells whom (store.Store).
type NoticeStore interface {
	ConsoleUsers(ctx context.Context) ([]store.ConsoleUser, error)
	QueueNotices(ctx context.Context, ns []store.Notice) (int, error)
	SendNotices(ctx context.Context, limit, maxAttempts int, send func(user string, ns []store.Notice) store.NoticeOutcome) error
}

// Notifier tells approvers by email when something starts waiting for a
// person: an offer within their limit awaits approval (and again when it
// escalates), a remedy needs attention, a customer asked for a person.
// Each round it notes what waits for whom, once per incident, reason and
// person; then it sends each person one email with everything new for
// them: the incident itself when there is one, a digest when there are
// several. What stopped waiting before its email went is dropped. Several
// processes may run one: each notice is sent by one of them.
type Notifier struct {
	Incidents web.IncidentReader
	Store     NoticeStore
	Mail      recovery.Messenger
	// ConsoleURL is the console's address in the emails' links
	// (https://HOST/console).
	ConsoleURL string
	// Every is how long a round lasts: what arrives within it goes out
	// together (0: a minute).
	Every  time.Duration
	Logger *slog.Logger
	Now    func() time.Time
}

// Notice reasons.
const (
	ReasonApproval  = "approval"
	ReasonEscalated = "escalated"
	ReasonAttention = "attention"
	reasonPerson    = "person:" // + the contact step
)

// maxNoticeAttempts: a person's email that failed this many rounds is
// given up (the console still lists the incident).
const maxNoticeAttempts = 5

// Run runs rounds until ctx ends.
func (n *Notifier) Run(ctx context.Context) {
	t := time.NewTicker(cmp.Or(n.Every, time.Minute))
	defer t.Stop()
	for {
		if err := n.Round(ctx); err != nil && ctx.Err() == nil {
			n.Logger.Error("console notices", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// waitingItem is one incident waiting for a reason.
type waitingItem struct {
	row
	reason string
}

// Round notes what waits for whom and sends what is new.
func (n *Notifier) Round(ctx context.Context) error {
	now := time.Now()
	if n.Now != nil {
		now = n.Now()
	}
	lists, err := waiting(ctx, n.Incidents, nil, now, queueFilter{})
	if err != nil {
		return fmt.Errorf("read what waits: %w", err)
	}
	users, err := n.Store.ConsoleUsers(ctx)
	if err != nil {
		return fmt.Errorf("read accounts: %w", err)
	}
	told := map[string]store.ConsoleUser{}
	for _, u := range users {
		if u.DisabledAt == nil && u.Email != "" && (u.Role == "approver" || u.Role == "admin") {
			told[u.Name] = u
		}
	}
	items := map[string]waitingItem{} // by incident and reason
	var ns []store.Notice
	add := func(r row, reason string, who func(store.ConsoleUser) bool) {
		items[r.ID+" "+reason] = waitingItem{r, reason}
		for _, u := range told {
			if who(u) {
				ns = append(ns, store.Notice{IncidentID: r.ID, Reason: reason, UserName: u.Name})
			}
		}
	}
	anyone := func(store.ConsoleUser) bool { return true }
	for _, r := range lists["approval"] {
		canApprove := func(u store.ConsoleUser) bool { return withinLimit(u, r.Offer) }
		add(r, ReasonApproval, canApprove)
		if r.Escalated {
			add(r, ReasonEscalated, canApprove)
		}
	}
	for _, r := range lists["attention"] {
		add(r, ReasonAttention, anyone)
	}
	for _, r := range lists["person"] {
		for _, c := range r.Contacts {
			if c.Detail == recovery.DetailPersonRequested && c.HandledAt == nil {
				add(r, reasonPerson+strconv.Itoa(c.Step), anyone)
			}
		}
	}
	if _, err := n.Store.QueueNotices(ctx, ns); err != nil {
		return err
	}
	return n.Store.SendNotices(ctx, 1000, maxNoticeAttempts, func(name string, ns []store.Notice) store.NoticeOutcome {
		out := store.NoticeOutcome{}
		u, ok := told[name]
		var still []waitingItem
		var ids []int64
		for _, no := range ns {
			it, waits := items[no.IncidentID+" "+no.Reason]
			if !ok || !waits {
				out[no.ID] = "obsolete"
				continue
			}
			still, ids = append(still, it), append(ids, no.ID)
		}
		if len(still) == 0 {
			return out
		}
		if _, err := n.Mail.Send(ctx, n.email(u, still, ids)); err != nil {
			n.Logger.Warn("console notice not sent; tried again next round", "user", name, "notices", len(ids), "err", err)
			return out
		}
		for _, id := range ids {
			out[id] = "sent"
		}
		n.Logger.Info("console notice sent", "user", name, "notices", len(ids))
		return out
	})
}

// withinLimit reports whether the account may approve the offer.
func withinLimit(u store.ConsoleUser, o *recovery.Offer) bool {
	if o == nil {
		return u.Role == "admin"
	}
	a, ok := approver(u, o.Currency)
	if !ok {
		return false
	}
	return o.ValueMinor <= a.LimitMinor(o.Currency)
}

// email writes one person's email: the incident when there is one, else
// a digest, each with its link into the console. It names orders, kinds
// and offers, never a customer.
func (n *Notifier) email(u store.ConsoleUser, items []waitingItem, ids []int64) recovery.Message {
	slices.SortStableFunc(items, func(a, b waitingItem) int { return cmp.Compare(reasonRank(a.reason), reasonRank(b.reason)) })
	base := strings.TrimSuffix(n.ConsoleURL, "/")
	var b strings.Builder
	var subject string
	if len(items) == 1 {
		subject = headline(items[0]) + ": order " + items[0].OrderID
		fmt.Fprintf(&b, "%s.\n\n", noticeLine(items[0]))
		fmt.Fprintf(&b, "Open it in the console: %s/incidents/%s\n", base, items[0].ID)
	} else {
		subject = fmt.Sprintf("%d incidents wait for you in the Recovery console", len(items))
		fmt.Fprintf(&b, "These started waiting for a person since the last email:\n\n")
		for _, it := range items {
			fmt.Fprintf(&b, "- %s.\n  %s/incidents/%s\n", noticeLine(it), base, it.ID)
		}
		fmt.Fprintf(&b, "\nThe queue: %s/\n", base)
	}
	fmt.Fprintf(&b, "\nYou get these emails because your console account (%s) has this address and may act on them.\n", u.Name)
	key := sha256.New()
	for _, id := range ids {
		fmt.Fprintf(key, "%d,", id)
	}
	return recovery.Message{Channel: recovery.ChannelEmail, To: u.Email, Subject: subject, Text: b.String(),
		IdempotencyKey: "console-notice:" + hex.EncodeToString(key.Sum(nil))[:32]}
}

func reasonRank(r string) int {
	switch r {
	case ReasonEscalated:
		return 0
	case ReasonApproval:
		return 1
	case ReasonAttention:
		return 3
	}
	return 2 // a person asked for
}

func headline(it waitingItem) string {
	switch it.reason {
	case ReasonEscalated:
		return "Escalated, still waiting for approval"
	case ReasonApproval:
		return "Waiting for your approval"
	case ReasonAttention:
		return "Needs attention"
	}
	return "A customer asked for a person"
}

// noticeLine is one line about an incident: why it waits, the order, the
// kind, the offer and its deadline.
func noticeLine(it waitingItem) string {
	s := fmt.Sprintf("%s: order %s (%s)", headline(it), it.OrderID, it.Kind)
	if o := it.Offer; o != nil {
		s += fmt.Sprintf(", %s of %s", o.Remedy, recovery.Money{Minor: o.ValueMinor, Currency: o.Currency})
	}
	if it.Due != nil && (it.reason == ReasonApproval || it.reason == ReasonEscalated) {
		s += ", to decide by " + it.Due.UTC().Format("2006-01-02 15:04 UTC")
	}
	return s
}

// Package relay moves committed events from the Postgres inbox into
// Temporal: it claims pending events, groups them per order and sends one
// SignalWithStart per order per batch carrying all of that order's new
// events. An event is marked relayed only after Temporal accepted its
// signal, so a crash at any point re-sends rather than loses; the workflow
// dedupes by event id.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
)

// Source is the inbox the relay drains; *store.Store implements it.
type Source interface {
	ClaimPending(ctx context.Context, limit int) (*store.Claim, error)
	// Listen calls wake once LISTEN is in place, then on every
	// notification, until ctx ends or the connection fails.
	Listen(ctx context.Context, wake func()) error
	// OrdersWithSKU lists recent orders holding a SKU, for stock changes
	// that name no order.
	OrdersWithSKU(ctx context.Context, sku string, now time.Time, limit int) ([]string, error)
}

// MaxFanOut bounds how many orders one stock change reaches.
const MaxFanOut = 10000

// Signaler delivers one order's events to its workflow.
type Signaler interface {
	SignalOrder(ctx context.Context, orderID string, events []recovery.Event) error
}

// Config tunes the relay.
type Config struct {
	// BatchSize is the most events claimed at once (default 1000).
	BatchSize int
	// Parallel is how many signals are in flight at once (default 32).
	Parallel int
	// Poll is how often the inbox is checked without a notification
	// (default 1s).
	Poll time.Duration
}

// Relay drains the inbox into Temporal.
type Relay struct {
	src    Source
	sig    Signaler
	cfg    Config
	log    *slog.Logger
	wake   chan struct{}
	ready  atomic.Bool
	failed atomic.Int64
	// listening is true while the inbox's notifications reach the relay.
	listening atomic.Bool
}

// New returns a relay; Run starts it.
func New(src Source, sig Signaler, cfg Config, log *slog.Logger) *Relay {
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 1000
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 32
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	return &Relay{src: src, sig: sig, cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

// Ready returns nil once the relay has completed a pass over the inbox.
func (r *Relay) Ready(context.Context) error {
	if !r.ready.Load() {
		return errors.New("relay has not completed a pass yet")
	}
	return nil
}

// Listening reports whether commits wake the relay at once (else it finds
// them at the next poll).
func (r *Relay) Listening() bool { return r.listening.Load() }

// Wake asks the relay to look at the inbox now.
func (r *Relay) Wake() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Run relays until ctx ends.
func (r *Relay) Run(ctx context.Context) error {
	go r.listen(ctx)
	tick := time.NewTicker(r.cfg.Poll)
	defer tick.Stop()
	backoff := 100 * time.Millisecond
	for {
		n, err := r.Pass(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.ready.Store(false)
			r.log.Warn("relay pass failed; retrying", "err", err, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		r.ready.Store(true)
		if n >= r.cfg.BatchSize {
			continue // more may be waiting
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.wake:
		case <-tick.C:
		}
	}
}

// listen turns database notifications into wake-ups, reconnecting on error.
func (r *Relay) listen(ctx context.Context) {
	wake := func() { r.listening.Store(true); r.Wake() }
	for ctx.Err() == nil {
		err := r.src.Listen(ctx, wake)
		r.listening.Store(false)
		if err != nil && ctx.Err() == nil {
			r.log.Warn("relay listen failed; polling until it reconnects", "err", err)
			sleep(ctx, time.Second)
		}
	}
}

// Pass claims one batch, signals each order once and marks what Temporal
// accepted. It returns how many events it claimed. Events of an order whose
// signal failed stay pending for the next pass.
func (r *Relay) Pass(ctx context.Context) (int, error) {
	claim, err := r.src.ClaimPending(ctx, r.cfg.BatchSize)
	if err != nil {
		return 0, err
	}
	if len(claim.Events) == 0 {
		claim.Abort(ctx)
		return 0, nil
	}
	groups, order, skipped := group(claim.Events)
	copies, skipped, err := r.fanOut(ctx, claim.Events, groups, &order, skipped)
	if err != nil {
		claim.Abort(ctx)
		return 0, err
	}
	relayed := complete(r.signalAll(ctx, groups, order), copies)
	if err := claim.Done(ctx, relayed, skipped, "no order_id: not routed to an order workflow"); err != nil {
		return 0, err
	}
	if failed := len(claim.Events) - len(relayed) - len(skipped); failed > 0 {
		r.failed.Add(int64(failed))
		return len(claim.Events), errors.New("some signals failed; their events stay pending")
	}
	return len(claim.Events), nil
}

// group splits a batch per order, keeping the batch's order within each.
func group(evs []store.PendingEvent) (map[string][]store.PendingEvent, []string, []int64) {
	groups := map[string][]store.PendingEvent{}
	var order []string
	var skipped []int64
	for _, p := range evs {
		if p.OrderID == "" {
			skipped = append(skipped, p.Seq)
			continue
		}
		if _, ok := groups[p.OrderID]; !ok {
			order = append(order, p.OrderID)
		}
		groups[p.OrderID] = append(groups[p.OrderID], p)
	}
	return groups, order, skipped
}

// fanOut hands each stock change that names no order to the recent orders
// holding its SKU, appending it to their groups. It returns how many copies
// of each such event went out (an event counts as relayed only when all its
// copies were accepted) and the events left for nobody.
func (r *Relay) fanOut(ctx context.Context, evs []store.PendingEvent, groups map[string][]store.PendingEvent,
	order *[]string, skipped []int64) (map[int64]int, []int64, error) {
	if len(skipped) == 0 {
		return nil, nil, nil
	}
	copies := map[int64]int{}
	var left []int64
	bySeq := map[int64]store.PendingEvent{}
	for _, p := range evs {
		bySeq[p.Seq] = p
	}
	for _, seq := range skipped {
		p := bySeq[seq]
		if p.Event.Type != recovery.TypeInventoryChanged {
			left = append(left, seq)
			continue
		}
		var d recovery.InventoryData
		if json.Unmarshal(p.Event.Data, &d) != nil || d.SKU == "" {
			left = append(left, seq)
			continue
		}
		orders, err := r.src.OrdersWithSKU(ctx, d.SKU, time.Now(), MaxFanOut)
		if err != nil {
			return nil, nil, err
		}
		if len(orders) == 0 {
			left = append(left, seq)
			continue
		}
		for _, o := range orders {
			if _, ok := groups[o]; !ok {
				*order = append(*order, o)
			}
			groups[o] = append(groups[o], p)
		}
		copies[seq] = len(orders)
	}
	return copies, left, nil
}

// complete drops fanned-out events that not every order accepted.
func complete(relayed []int64, copies map[int64]int) []int64 {
	if len(copies) == 0 {
		return relayed
	}
	got := map[int64]int{}
	for _, seq := range relayed {
		got[seq]++
	}
	out := relayed[:0]
	seen := map[int64]bool{}
	for _, seq := range relayed {
		want, fanned := copies[seq]
		if seen[seq] || fanned && got[seq] < want {
			continue
		}
		seen[seq] = true
		out = append(out, seq)
	}
	return out
}

// signalAll sends one signal per order, Parallel at a time, and returns the
// sequence numbers of the events Temporal accepted.
func (r *Relay) signalAll(ctx context.Context, groups map[string][]store.PendingEvent, order []string) []int64 {
	var mu sync.Mutex
	var relayed []int64
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	for _, orderID := range order {
		ps := groups[orderID]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			evs := make([]recovery.Event, len(ps))
			for i, p := range ps {
				evs[i] = p.Event
			}
			if err := r.sig.SignalOrder(ctx, orderID, evs); err != nil {
				r.log.Warn("signal order failed", "order_id", orderID, "events", len(evs), "err", err)
				return
			}
			mu.Lock()
			for _, p := range ps {
				relayed = append(relayed, p.Seq)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return relayed
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

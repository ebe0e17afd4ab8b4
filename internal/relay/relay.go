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
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/store"
	"github.com/recoveryhq/recovery/internal/tracing"
)

// Source is the inbox the relay drains; *store.Store implements it.
type Source interface {
	ClaimPending(ctx context.Context, limit int, lease time.Duration) (*store.Claim, error)
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
	// Ping checks that the workflow engine answers.
	Ping(ctx context.Context) error
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
	// Lease is how long claimed events are the relay's before another
	// pass may claim them again (default 30s): what a relay that died
	// mid-batch costs in delay.
	Lease time.Duration
	// Tracer traces each signal (nil: not traced).
	Tracer trace.Tracer
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
	dead   atomic.Int64
	// listening is true while the inbox's notifications reach the relay.
	listening atomic.Bool
	// downSince is when Temporal stopped answering (0: it answers).
	downSince atomic.Int64
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
	if cfg.Lease <= 0 {
		cfg.Lease = 30 * time.Second
	}
	return &Relay{src: src, sig: sig, cfg: cfg, log: log, wake: make(chan struct{}, 1)}
}

// Ready returns nil once the relay has completed a pass over the inbox
// and Temporal answers; otherwise a HealthError that says which, in
// words fit for a health page.
func (r *Relay) Ready(context.Context) error {
	if since := r.downSince.Load(); since != 0 {
		return HealthError(fmt.Sprintf("waiting for Temporal (unreachable for %s); events are kept until it returns",
			time.Since(time.Unix(0, since)).Round(time.Second)))
	}
	if !r.ready.Load() {
		return HealthError("the events inbox is not reachable yet")
	}
	return nil
}

// HealthError is a readiness failure whose text is safe to show anyone:
// no hosts, users or SQL.
type HealthError string

func (e HealthError) Error() string  { return string(e) }
func (e HealthError) Public() string { return string(e) }

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
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	if err := r.sig.Ping(pctx); err != nil {
		r.markDown(err)
	}
	cancel()
	for {
		if r.downSince.Load() != 0 && !r.waitForTemporal(ctx) {
			return nil
		}
		n, err := r.Pass(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.log.Warn("relay pass failed; retrying", "err", err, "backoff", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
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

// waitForTemporal pings Temporal, backing off to five seconds, until it
// answers; the events wait in the inbox meanwhile. It reports false when
// ctx ends first.
func (r *Relay) waitForTemporal(ctx context.Context) bool {
	backoff := 200 * time.Millisecond
	for {
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := r.sig.Ping(pctx)
		cancel()
		if err == nil {
			r.log.Info("Temporal answers again; relaying", "after", time.Since(time.Unix(0, r.downSince.Load())).Round(time.Second))
			r.downSince.Store(0)
			return true
		}
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, 5*time.Second)
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

// Pass claims one batch, signals each order (its events split by size),
// and records the outcome of every event: relayed, retried after a
// backoff (the signal failed for a reason that may pass), or quarantined
// (it never can be delivered). It returns how many events it claimed, and
// an error only when the inbox itself failed: one bad event or order never
// fails a pass.
func (r *Relay) Pass(ctx context.Context) (int, error) {
	n, err := r.pass(ctx)
	r.ready.Store(err == nil)
	return n, err
}

func (r *Relay) pass(ctx context.Context) (int, error) {
	claim, err := r.src.ClaimPending(ctx, r.cfg.BatchSize, r.cfg.Lease)
	if err != nil {
		return 0, err
	}
	if len(claim.Events) == 0 {
		return 0, nil
	}
	groups, order, skipped := group(claim.Events)
	copies, skipped, err := r.fanOut(ctx, claim.Events, groups, &order, skipped)
	if err != nil {
		return 0, err // the events keep their lease and come back after it
	}
	out := r.signalAll(ctx, groups, order, copies)
	out.Skipped, out.SkipNote = skipped, "not routed to an order workflow: no order_id, or a record only (customer.contacted)"
	if err := claim.Done(ctx, out); err != nil {
		return 0, err
	}
	r.failed.Add(int64(len(out.Retry)))
	r.dead.Add(int64(len(out.Dead)))
	return len(claim.Events), nil
}

// group splits a batch per order, keeping the batch's order within each.
func group(evs []store.PendingEvent) (map[string][]store.PendingEvent, []string, []int64) {
	groups := map[string][]store.PendingEvent{}
	var order []string
	var skipped []int64
	for _, p := range evs {
		if p.OrderID == "" || p.Event.Type == recovery.TypeCustomerContacted {
			skipped = append(skipped, p.Seq) // a record only: no workflow acts on it
			continue
		}
		if _, ok := groups[p.OrderID]; !ok {
			order = append(order, p.OrderID)
		}
		groups[p.OrderID] = append(groups[p.OrderID], p)
	}
	return groups, order, skipped
}

// fanOut hands each stock change that names no order to the orders still
// waiting for its SKU, appending it to their groups. It returns which
// events were fanned out, and the events left for nobody.
func (r *Relay) fanOut(ctx context.Context, evs []store.PendingEvent, groups map[string][]store.PendingEvent,
	order *[]string, skipped []int64) (map[int64]bool, []int64, error) {
	if len(skipped) == 0 {
		return nil, nil, nil
	}
	fanned := map[int64]bool{}
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
		fanned[seq] = true
	}
	return fanned, left, nil
}

// result is what became of one event's signal to one order.
type result struct {
	state      int // relayed, retry or dead
	kind, note string
}

const (
	relayed = iota
	dead
	retry
	// release: Temporal did not answer at all; the event goes back to the
	// queue without counting an attempt, and the relay waits for Temporal.
	release
)

// signalAll signals every order, Parallel orders at a time, and folds the
// results into an outcome. An event fanned out to many orders is retried
// when any copy may still go through, and counts as relayed otherwise (an
// order that refuses it for good does not hold it back for the others).
func (r *Relay) signalAll(ctx context.Context, groups map[string][]store.PendingEvent, order []string,
	fanned map[int64]bool) store.Outcome {
	var mu sync.Mutex
	results := map[int64]result{}
	note := func(seq int64, res result) {
		mu.Lock()
		defer mu.Unlock()
		// A fanned-out event: a copy that may still go through wins over
		// one delivered, and one delivered over one refused for good.
		if old, seen := results[seq]; !seen || res.state >= retry && old.state != release || old.state == dead {
			results[seq] = res
		}
	}
	sem := make(chan struct{}, r.cfg.Parallel)
	var wg sync.WaitGroup
	for _, orderID := range order {
		ps := groups[orderID]
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.signalOrder(ctx, orderID, ps, note)
		})
	}
	wg.Wait()
	var out store.Outcome
	seqs := make([]int64, 0, len(results))
	for seq := range results {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		res := results[seq]
		switch {
		case res.state == relayed, res.state == dead && fanned[seq]:
			out.Relayed = append(out.Relayed, seq)
		case res.state == retry:
			out.Retry = append(out.Retry, seq)
		case res.state == release:
			out.Release = append(out.Release, seq)
		default:
			out.Dead = append(out.Dead, store.Quarantined{Seq: seq, Kind: res.kind, Note: res.note})
		}
	}
	return out
}

// signalOrder sends one order's events in signals of at most MaxSignalBytes,
// in order. A permanent failure of a signal holding several events is
// narrowed down to the events that cause it, by sending them one by one; a
// transient failure leaves this and the order's later events for a retry.
func (r *Relay) signalOrder(ctx context.Context, orderID string, ps []store.PendingEvent, note func(int64, result)) {
	chunks := split(ps)
	for i, chunk := range chunks {
		err := r.send(ctx, orderID, chunk)
		var perm *PermanentError
		switch {
		case err == nil:
			for _, p := range chunk {
				note(p.Seq, result{state: relayed})
			}
			continue
		case errors.As(err, &perm) && len(chunk) > 1:
			for j, p := range chunk {
				if st := r.signalOrderOne(ctx, orderID, p, note); st >= retry {
					for _, rest := range chunk[j+1:] {
						note(rest.Seq, result{state: st})
					}
					r.noteAll(chunks[i+1:], st, note)
					return
				}
			}
			continue
		case errors.As(err, &perm):
			r.log.Warn("event quarantined", "seq", chunk[0].Seq, "order_id", orderID, "kind", perm.Kind, "err", err)
			note(chunk[0].Seq, result{state: dead, kind: perm.Kind, note: perm.Note})
			continue
		}
		if errors.As(err, new(*UnavailableError)) {
			r.markDown(err)
			r.noteAll(chunks[i:], release, note)
			return
		}
		r.log.Warn("signal order failed; retrying later", "order_id", orderID, "events", len(chunk), "err", err)
		r.noteAll(chunks[i:], retry, note)
		return
	}
}

// markDown records that Temporal stopped answering.
func (r *Relay) markDown(err error) {
	if r.downSince.CompareAndSwap(0, time.Now().UnixNano()) {
		r.log.Warn("Temporal is unreachable; keeping events until it returns", "err", err)
	}
}

// signalOrderOne sends one event alone and notes what became of it.
func (r *Relay) signalOrderOne(ctx context.Context, orderID string, p store.PendingEvent, note func(int64, result)) int {
	err := r.send(ctx, orderID, []store.PendingEvent{p})
	var perm *PermanentError
	switch {
	case err == nil:
		note(p.Seq, result{state: relayed})
		return relayed
	case errors.As(err, &perm):
		r.log.Warn("event quarantined", "seq", p.Seq, "order_id", orderID, "kind", perm.Kind, "err", err)
		note(p.Seq, result{state: dead, kind: perm.Kind, note: perm.Note})
		return dead
	}
	st := retry
	if errors.As(err, new(*UnavailableError)) {
		r.markDown(err)
		st = release
	}
	note(p.Seq, result{state: st})
	return st
}

func (r *Relay) noteAll(chunks [][]store.PendingEvent, state int, note func(int64, result)) {
	for _, c := range chunks {
		for _, p := range c {
			note(p.Seq, result{state: state})
		}
	}
}

// SignalTimeout bounds one signal.
const SignalTimeout = 10 * time.Second

func (r *Relay) send(ctx context.Context, orderID string, ps []store.PendingEvent) error {
	if r.downSince.Load() != 0 {
		return &UnavailableError{Err: errors.New("Temporal is unreachable")}
	}
	evs := make([]recovery.Event, len(ps))
	for i, p := range ps {
		evs[i] = p.Event
	}
	sctx, cancel := context.WithTimeout(ctx, SignalTimeout)
	defer cancel()
	if r.cfg.Tracer == nil {
		return r.sig.SignalOrder(sctx, orderID, evs)
	}
	sctx, span := r.startSpan(sctx, evs)
	defer span.End()
	err := r.sig.SignalOrder(sctx, orderID, evs)
	tracing.Fail(span, err)
	return err
}

// startSpan starts the span of one signal: in the trace of the request
// that brought its first event, and linked to the traces of the others
// (a signal carries the events of several requests).
func (r *Relay) startSpan(ctx context.Context, evs []recovery.Event) (context.Context, trace.Span) {
	var links []trace.Link
	for _, e := range evs {
		sc := tracing.SpanContext(e.TraceParent)
		if !sc.IsValid() {
			continue
		}
		if !trace.SpanContextFromContext(ctx).IsValid() {
			ctx = trace.ContextWithRemoteSpanContext(ctx, sc)
			continue
		}
		links = append(links, trace.Link{SpanContext: sc})
	}
	return r.cfg.Tracer.Start(ctx, "relay signal", trace.WithSpanKind(trace.SpanKindProducer), trace.WithLinks(links...),
		trace.WithAttributes(attribute.Int("recovery.events", len(evs))))
}

// MaxSignalBytes bounds the events one signal carries, well under
// Temporal's 2 MiB payload limit; MaxSignalEvents bounds their number.
const (
	MaxSignalBytes  = 512 << 10
	MaxSignalEvents = 500
)

// split cuts one order's events into signals of at most MaxSignalBytes
// and MaxSignalEvents, in order; an event larger than that goes alone.
func split(ps []store.PendingEvent) [][]store.PendingEvent {
	var out [][]store.PendingEvent
	var cur []store.PendingEvent
	size := 0
	for _, p := range ps {
		n := len(p.Event.Data) + len(p.Event.ID) + len(p.Event.Source) + len(p.Event.Subject) + 128
		if len(cur) > 0 && (size+n > MaxSignalBytes || len(cur) == MaxSignalEvents) {
			out, cur, size = append(out, cur), nil, 0
		}
		cur, size = append(cur, p), size+n
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// PermanentError is a signal that can never succeed (Temporal refused its
// argument, or it is too large): the events it carried are quarantined.
type PermanentError struct {
	// Kind names the failure in a word or two; Note says it plainly.
	Kind, Note string
	Err        error
}

func (e *PermanentError) Error() string { return e.Kind + ": " + e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// UnavailableError is a signal that did not reach Temporal at all (it is
// down or unreachable): nothing is wrong with the events, which wait
// without counting an attempt while the relay waits for Temporal.
type UnavailableError struct{ Err error }

func (e *UnavailableError) Error() string { return "temporal unavailable: " + e.Err.Error() }
func (e *UnavailableError) Unwrap() error { return e.Err }

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

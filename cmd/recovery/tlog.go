package main

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/log"
)

// quietTemporalLogger adapts slog for the Temporal SDK, dropping its debug
// and info chatter.
func quietTemporalLogger(l *slog.Logger) log.Logger {
	return log.NewStructuredLogger(slog.New(levelFilter{l.Handler(), slog.LevelWarn}))
}

// levelFilter passes records at or above min to the wrapped handler.
type levelFilter struct {
	next slog.Handler
	min  slog.Level
}

func (f levelFilter) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= f.min && f.next.Enabled(ctx, l)
}

func (f levelFilter) Handle(ctx context.Context, r slog.Record) error { return f.next.Handle(ctx, r) }

func (f levelFilter) WithAttrs(as []slog.Attr) slog.Handler {
	return levelFilter{f.next.WithAttrs(as), f.min}
}

func (f levelFilter) WithGroup(name string) slog.Handler {
	return levelFilter{f.next.WithGroup(name), f.min}
}

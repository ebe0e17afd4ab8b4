package main

import (
	"context"
	"log/slog"

	"go.temporal.io/sdk/log"
)

// temporalLogger adapts slog for the Temporal SDK at the configured level
// (RECOVERY_LOG_LEVEL): workflows' and activities' own log lines ("incident
// opened", "contact step skipped") reach the log; the SDK's chatter about
// each task only at debug.
func temporalLogger(l *slog.Logger) log.Logger { return log.NewStructuredLogger(l) }

// quietTemporalLogger adapts slog for the Temporal SDK, dropping its debug
// and info chatter (short-lived clients: the CLI, tests).
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

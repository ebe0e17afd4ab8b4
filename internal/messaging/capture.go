package messaging

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// CaptureSink stores captured messages; the Postgres store implements it. A
// repeated idempotency key returns the first message's id.
type CaptureSink interface {
	SaveCaptured(ctx context.Context, m recovery.Message) (id string, err error)
}

// Capture is the Messenger used without provider credentials: it stores
// each message instead of sending it.
type Capture struct {
	Sink CaptureSink
}

// Send stores the message and returns "capture-<id>" as the provider id.
func (c *Capture) Send(ctx context.Context, m recovery.Message) (string, error) {
	if m.To == "" {
		return "", fmt.Errorf("capture: message has no recipient: %w", recovery.ErrInvalid)
	}
	id, err := c.Sink.SaveCaptured(ctx, m)
	if err != nil {
		// The sink keeps one message per idempotency key, so a retry is
		// harmless: say so.
		return "", fmt.Errorf("capture %s: %w", m.Channel, errors.Join(err, recovery.ErrUnsent))
	}
	return "capture-" + id, nil
}

// MemorySink is an in-memory CaptureSink for unit tests.
type MemorySink struct {
	mu       sync.Mutex
	Messages []recovery.Message
	byKey    map[string]int
}

// SaveCaptured keeps the message, once per idempotency key.
func (s *MemorySink) SaveCaptured(_ context.Context, m recovery.Message) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKey == nil {
		s.byKey = map[string]int{}
	}
	if i, ok := s.byKey[m.IdempotencyKey]; ok && m.IdempotencyKey != "" {
		return fmt.Sprint(i + 1), nil
	}
	s.Messages = append(s.Messages, m)
	s.byKey[m.IdempotencyKey] = len(s.Messages) - 1
	return fmt.Sprint(len(s.Messages)), nil
}

package web

import (
	"context"
	"sync"

	"github.com/recoveryhq/recovery/internal/recovery"
	"github.com/recoveryhq/recovery/internal/recovery/recoverytest"
)

// memCustomers is an in-memory Customers: consent, the contact events it
// was told, the latest contact per address and the surveys.
type memCustomers struct {
	recoverytest.MemConsent
	mu      sync.Mutex
	events  []recovery.ContactEvent
	latest  map[string]recovery.ContactRef // channel/address
	surveys map[string]recovery.Survey
}

func newMemCustomers() *memCustomers {
	return &memCustomers{latest: map[string]recovery.ContactRef{}, surveys: map[string]recovery.Survey{}}
}

func (m *memCustomers) NotifyContact(_ context.Context, ev recovery.ContactEvent) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, ev)
	return nil
}

func (m *memCustomers) LatestContactTo(_ context.Context, channel, address string) (recovery.ContactRef, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.latest[channel+"/"+recovery.NormalizeAddress(channel, address)]
	if !ok {
		return r, recovery.ErrNotFound
	}
	return r, nil
}

func (m *memCustomers) SaveSurvey(_ context.Context, id string, sv recovery.Survey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.surveys[id] = sv
	return nil
}

func (m *memCustomers) SaveSurveyComment(_ context.Context, id, comment string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	sv, ok := m.surveys[id]
	if !ok || sv.Answer != "wow" {
		return recovery.ErrConflict
	}
	sv.Comment = comment
	m.surveys[id] = sv
	return nil
}

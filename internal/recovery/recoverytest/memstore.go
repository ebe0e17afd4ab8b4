// Package recoverytest holds in-memory fakes of the domain interfaces for
// unit tests. Integration tests use the real Postgres store instead.
package recoverytest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// MemStore is an in-memory recovery.IncidentStore.
type MemStore struct {
	mu        sync.Mutex
	Incidents map[string]recovery.Incident
	Offers    map[string]recovery.Offer
	Contacts  map[string]recovery.Contact
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{Incidents: map[string]recovery.Incident{}, Offers: map[string]recovery.Offer{},
		Contacts: map[string]recovery.Contact{}}
}

func contactKey(incidentID string, step int, channel string) string {
	return fmt.Sprintf("%s/%d/%s", incidentID, step, channel)
}

// UpsertIncident stores the incident or updates its status.
func (m *MemStore) UpsertIncident(_ context.Context, inc recovery.Incident) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.Incidents[inc.ID]; ok {
		old.Status = inc.Status
		m.Incidents[inc.ID] = old
		return nil
	}
	m.Incidents[inc.ID] = inc
	return nil
}

// CloseIncident records how the incident ended.
func (m *MemStore) CloseIncident(_ context.Context, id, status, resolution string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.Incidents[id]
	if !ok {
		return fmt.Errorf("incident %q: %w", id, recovery.ErrNotFound)
	}
	inc.Status, inc.Resolution, inc.ClosedAt = status, resolution, &at
	m.Incidents[id] = inc
	return nil
}

// SaveOffer stores the offer.
func (m *MemStore) SaveOffer(_ context.Context, incidentID string, o recovery.Offer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Offers[incidentID] = o
	return nil
}

// BeginContact writes the ledger row unless it exists.
func (m *MemStore) BeginContact(_ context.Context, c recovery.Contact) (recovery.Contact, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := contactKey(c.IncidentID, c.Step, c.Channel)
	if old, ok := m.Contacts[k]; ok {
		return old, true, nil
	}
	m.Contacts[k] = c
	return c, false, nil
}

// FinishContact completes a ledger row.
func (m *MemStore) FinishContact(_ context.Context, incidentID string, step int, channel, status, providerID string, sentAt time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := contactKey(incidentID, step, channel)
	c, ok := m.Contacts[k]
	if !ok {
		return recovery.ErrNotFound
	}
	c.Status, c.ProviderID, c.SentAt = status, providerID, &sentAt
	m.Contacts[k] = c
	return nil
}

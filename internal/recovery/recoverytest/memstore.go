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

// SaveDecision stores the policy's decision on the incident.
func (m *MemStore) SaveDecision(_ context.Context, id string, d recovery.RemedyDecision) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.Incidents[id]
	if !ok {
		return fmt.Errorf("incident %q: %w", id, recovery.ErrNotFound)
	}
	inc.Decision = &d
	m.Incidents[id] = inc
	return nil
}

// CustomerHistory counts the customer's other incidents in the 90 days
// before at and sums their approved offers in the currency over 30 days.
func (m *MemStore) CustomerHistory(_ context.Context, key, currency string, at time.Time, except string) (recovery.CustomerHistory, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h recovery.CustomerHistory
	if key == "" {
		return h, nil
	}
	for id, inc := range m.Incidents {
		if id == except || inc.CustomerKey != key || inc.DetectedAt.After(at) {
			continue
		}
		if at.Sub(inc.DetectedAt) < 90*24*time.Hour {
			h.Incidents90d++
		}
		if o, ok := m.Offers[id]; ok && o.Status == recovery.OfferApproved && o.Currency == currency &&
			at.Sub(inc.DetectedAt) < 30*24*time.Hour {
			h.CompensatedMinor30d += o.ValueMinor
		}
	}
	return h, nil
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

// Package recoverytest holds in-memory fakes of the domain interfaces for
// unit tests. Integration tests use the real Postgres store instead.
package recoverytest

import (
	"context"
	"fmt"
	"slices"
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
	// People holds each order's personal side, as the events table does
	// for the real store; tests set it with SetOrderContact.
	People map[string]recovery.OrderContact
	// OrderStates holds finished orders' projections.
	OrderStates map[string][]byte

	// The remedy side (recovery.RemedyStore).
	Products     map[string]recovery.Product
	Reservations map[string]string // incident/sku -> held, released, consumed
	reserved     map[string]int64  // incident/sku -> quantity
	Codes        map[string]recovery.IssuedCode
	AuditLog     []recovery.AuditEntry
	Webhooks     []recovery.OutboundWebhook

	// Now is the store's clock, as now() is Postgres's: when an offer is
	// made and approved (time.Now when nil).
	Now func() time.Time
	// offerMade and offerApproved are those times per incident.
	offerMade, offerApproved map[string]time.Time
	// budget is what each currency/day has reserved; reservations holds
	// each incident's share.
	budget       map[string]int64
	reservations map[string]budgetHold
}

// NewMemStore returns an empty store.
func NewMemStore() *MemStore {
	return &MemStore{Incidents: map[string]recovery.Incident{}, Offers: map[string]recovery.Offer{},
		Contacts: map[string]recovery.Contact{}, People: map[string]recovery.OrderContact{}, OrderStates: map[string][]byte{}, Products: map[string]recovery.Product{},
		Reservations: map[string]string{}, reserved: map[string]int64{}, Codes: map[string]recovery.IssuedCode{},
		offerMade: map[string]time.Time{}, offerApproved: map[string]time.Time{}}
}

func (m *MemStore) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// SetOfferTimes backdates when an incident's offer was made and approved
// (zero: not approved), as a test would with UPDATE on Postgres.
func (m *MemStore) SetOfferTimes(incidentID string, made, approved time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.offerMade[incidentID] = made
	if approved.IsZero() {
		delete(m.offerApproved, incidentID)
	} else {
		m.offerApproved[incidentID] = approved
	}
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

// CustomerHistory counts the customer's other incidents detected in the
// 90 days up to at, and sums the offers given to them in the currency that
// were made in the 30 days up to at (HistoryContract: as Postgres does).
func (m *MemStore) CustomerHistory(_ context.Context, key, currency string, at time.Time, except string) (recovery.CustomerHistory, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var h recovery.CustomerHistory
	if key == "" {
		return h, nil
	}
	within := func(t time.Time, d time.Duration) bool { return t.After(at.Add(-d)) && !t.After(at) }
	for id, inc := range m.Incidents {
		if id == except || inc.CustomerKey != key {
			continue
		}
		if within(inc.DetectedAt, 90*24*time.Hour) {
			h.Incidents90d++
		}
		if o, ok := m.Offers[id]; ok && recovery.OfferGiven(o.Status) && o.Currency == currency && within(m.offerMade[id], 30*24*time.Hour) {
			h.CompensatedMinor30d += o.ValueMinor
		}
	}
	return h, nil
}

// SaveOffer stores the offer.
func (m *MemStore) SaveOffer(_ context.Context, incidentID string, o recovery.Offer) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if o.Code == "" { // as the real store: the issued code, else the one kept
		if old, ok := m.Offers[incidentID]; ok && old.Remedy == o.Remedy {
			o.Code = old.Code
		}
		for _, c := range m.Codes {
			if c.IncidentID == incidentID && c.Remedy == o.Remedy {
				o.Code = c.Code
			}
		}
	}
	m.Offers[incidentID] = o
	if _, ok := m.offerMade[incidentID]; !ok {
		m.offerMade[incidentID] = m.now()
	}
	if !recovery.OfferGiven(o.Status) {
		delete(m.offerApproved, incidentID)
	} else if _, ok := m.offerApproved[incidentID]; !ok {
		m.offerApproved[incidentID] = m.now()
	}
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
	return m.updateContact(incidentID, step, channel, func(c *recovery.Contact) {
		c.Status, c.ProviderID, c.SentAt = status, providerID, &sentAt
	})
}

// SetContactStatus changes a ledger row's status.
func (m *MemStore) SetContactStatus(_ context.Context, incidentID string, step int, channel, status, detail string) error {
	return m.updateContact(incidentID, step, channel, func(c *recovery.Contact) { c.Status, c.Detail = status, detail })
}

// updateContact changes an existing ledger row.
func (m *MemStore) updateContact(incidentID string, step int, channel string, change func(*recovery.Contact)) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := contactKey(incidentID, step, channel)
	c, ok := m.Contacts[k]
	if !ok {
		return recovery.ErrNotFound
	}
	change(&c)
	m.Contacts[k] = c
	return nil
}

// MemConsent is an in-memory recovery.Consent.
type MemConsent struct {
	mu  sync.Mutex
	out map[string]bool
}

func (c *MemConsent) key(channel, address string) string {
	return channel + "/" + recovery.NormalizeAddress(channel, address)
}

// OptOut stores an opt-out.
func (c *MemConsent) OptOut(_ context.Context, channel, address, _ string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.out == nil {
		c.out = map[string]bool{}
	}
	k := c.key(channel, address)
	added := !c.out[k]
	c.out[k] = true
	return added, nil
}

// OptIn removes an opt-out.
func (c *MemConsent) OptIn(_ context.Context, channel, address string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := c.key(channel, address)
	had := c.out[k]
	delete(c.out, k)
	return had, nil
}

// OptedOut reports an opt-out.
func (c *MemConsent) OptedOut(_ context.Context, channel, address string) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out[c.key(channel, address)], nil
}

// Product returns a catalog entry.
func (m *MemStore) Product(_ context.Context, sku string) (recovery.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, ok := m.Products[sku]
	if !ok {
		return p, recovery.ErrNotFound
	}
	return p, nil
}

// ProductsInCategory lists a category's products in a currency.
func (m *MemStore) ProductsInCategory(_ context.Context, category, currency string) ([]recovery.Product, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []recovery.Product
	for _, p := range m.Products {
		if p.Category == category && p.Currency == currency {
			out = append(out, p)
		}
	}
	return out, nil
}

// Reserve holds stock for an incident.
func (m *MemStore) Reserve(_ context.Context, incidentID, sku string, qty int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := incidentID + "/" + sku
	if st, ok := m.Reservations[k]; ok {
		if st == "held" {
			return nil
		}
		return recovery.ErrConflict
	}
	p, ok := m.Products[sku]
	if !ok || p.Available() < qty {
		return recovery.ErrConflict
	}
	p.Reserved += qty
	m.Products[sku] = p
	m.Reservations[k], m.reserved[k] = "held", qty
	return nil
}

func (m *MemStore) endReservation(incidentID, sku, status string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := incidentID + "/" + sku
	if m.Reservations[k] != "held" {
		return
	}
	p := m.Products[sku]
	p.Reserved -= m.reserved[k]
	if status == "consumed" {
		p.Stock -= m.reserved[k]
	}
	m.Products[sku] = p
	m.Reservations[k] = status
}

// ReleaseReservation gives a hold back.
func (m *MemStore) ReleaseReservation(_ context.Context, incidentID, sku string) error {
	m.endReservation(incidentID, sku, "released")
	return nil
}

// ConsumeReservation turns a hold into a sale.
func (m *MemStore) ConsumeReservation(_ context.Context, incidentID, sku string) error {
	m.endReservation(incidentID, sku, "consumed")
	return nil
}

// IssueCode keeps the first code per incident and remedy.
func (m *MemStore) IssueCode(_ context.Context, c recovery.IssuedCode) (recovery.IssuedCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, old := range m.Codes {
		if old.IncidentID == c.IncidentID && old.Remedy == c.Remedy {
			return old, nil
		}
	}
	c.Status = recovery.CodeActive
	m.Codes[c.Code] = c
	return c, nil
}

// VoidCode voids an active code.
func (m *MemStore) VoidCode(_ context.Context, incidentID string, remedy recovery.Remedy) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, c := range m.Codes {
		if c.IncidentID == incidentID && c.Remedy == remedy && c.Status == recovery.CodeActive {
			c.Status = recovery.CodeVoid
			m.Codes[k] = c
		}
	}
	return nil
}

// RedeemCode uses an active, unexpired code once.
func (m *MemStore) RedeemCode(_ context.Context, code, orderID string, at time.Time) (recovery.IssuedCode, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.Codes[code]
	if !ok {
		return c, recovery.ErrNotFound
	}
	if c.Status != recovery.CodeActive || (c.ExpiresAt != nil && !c.ExpiresAt.After(at)) {
		return c, recovery.ErrConflict
	}
	c.Status, c.RedeemedAt, c.OrderID = recovery.CodeRedeemed, &at, orderID
	m.Codes[code] = c
	return c, nil
}

// Audit appends to the trail; an entry whose key the incident's trail
// holds already is not added again.
func (m *MemStore) Audit(_ context.Context, e recovery.AuditEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e.Key != "" && slices.ContainsFunc(m.AuditLog, func(x recovery.AuditEntry) bool {
		return x.IncidentID == e.IncidentID && x.Key == e.Key
	}) {
		return nil
	}
	m.AuditLog = append(m.AuditLog, e)
	return nil
}

// ApprovedSince sums the offers given in a currency that were approved
// since a time (HistoryContract: as Postgres does).
func (m *MemStore) ApprovedSince(_ context.Context, currency string, since time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var sum int64
	for id, o := range m.Offers {
		if o.Currency == currency && recovery.OfferGiven(o.Status) && !m.offerApproved[id].Before(since) {
			sum += o.ValueMinor
		}
	}
	return sum, nil
}

// SetIncidentKind changes an incident's kind and reason.
func (m *MemStore) SetIncidentKind(_ context.Context, id string, kind recovery.Kind, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.Incidents[id]
	if !ok {
		return recovery.ErrNotFound
	}
	inc.Kind, inc.Reason = kind, reason
	m.Incidents[id] = inc
	return nil
}

// SetIncidentStatus changes an incident's status.
func (m *MemStore) SetIncidentStatus(_ context.Context, id, status string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	inc, ok := m.Incidents[id]
	if !ok {
		return recovery.ErrNotFound
	}
	inc.Status = status
	m.Incidents[id] = inc
	return nil
}

// Deliver records an outbound webhook (a recovery.Outbox).
func (m *MemStore) Deliver(_ context.Context, w recovery.OutboundWebhook) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Webhooks = append(m.Webhooks, w)
	return nil
}

// ReserveBudget reserves an incident's share of a day's budget, as the
// Postgres store does: never past the cap, once per incident.
func (m *MemStore) ReserveBudget(_ context.Context, incidentID, currency string, day time.Time, value, budget int64) (bool, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.budget == nil {
		m.budget, m.reservations = map[string]int64{}, map[string]budgetHold{}
	}
	key := currency + "/" + day.Format(time.DateOnly)
	if _, ok := m.reservations[incidentID]; ok {
		return true, m.budget[key], nil
	}
	before := m.budget[key]
	if before+value > budget {
		return false, before, nil
	}
	m.budget[key] += value
	m.reservations[incidentID] = budgetHold{key, value}
	return true, before, nil
}

// ReleaseBudget gives an incident's reservation back.
func (m *MemStore) ReleaseBudget(_ context.Context, incidentID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h, ok := m.reservations[incidentID]; ok {
		m.budget[h.key] -= h.value
		delete(m.reservations, incidentID)
	}
	return nil
}

// Budget returns what a currency's day has reserved.
func (m *MemStore) Budget(currency string, day time.Time) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.budget[currency+"/"+day.Format(time.DateOnly)]
}

type budgetHold struct {
	key   string
	value int64
}

// SetOrderContact records an order's customer and shipping address, as
// its order.created would in the events table.
func (m *MemStore) SetOrderContact(orderID string, c recovery.Customer, addr recovery.Location) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.People[orderID] = recovery.OrderContact{Customer: c, Address: addr}
}

// Record folds the events' customers and addresses into their orders'
// contacts, as the events table keeps them for the real store.
func (m *MemStore) Record(evs ...recovery.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, e := range evs {
		if id := e.Order(); id != "" {
			oc := m.People[id]
			oc.Apply(e.Type, e.Data)
			m.People[id] = oc
		}
	}
}

// OrderContact returns what SetOrderContact recorded, or ErrNotFound.
func (m *MemStore) OrderContact(_ context.Context, orderID string) (recovery.OrderContact, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	oc, ok := m.People[orderID]
	if !ok {
		return recovery.OrderContact{}, fmt.Errorf("order %q: %w", orderID, recovery.ErrNotFound)
	}
	return oc, nil
}

// OfferCode returns the code issued for an incident's remedy, else the one
// its offer carries.
func (m *MemStore) OfferCode(_ context.Context, incidentID string, remedy recovery.Remedy) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, c := range m.Codes {
		if c.IncidentID == incidentID && c.Remedy == remedy {
			return c.Code, nil
		}
	}
	if o, ok := m.Offers[incidentID]; ok && o.Remedy == remedy {
		return o.Code, nil
	}
	return "", nil
}

// SaveOrderState keeps a finished order's projection.
func (m *MemStore) SaveOrderState(_ context.Context, orderID string, state []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.OrderStates[orderID] = append([]byte(nil), state...)
	return nil
}

// LoadOrderState returns a finished order's projection, nil if none.
func (m *MemStore) LoadOrderState(_ context.Context, orderID string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.OrderStates[orderID], nil
}

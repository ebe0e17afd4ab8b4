package workflows

import (
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// maxScans bounds the scans kept per shipment for re-evaluation.
const maxScans = 64

// Scan is the part of a tracking event the detectors need.
type Scan struct {
	EventID       string
	Time          time.Time
	Status        string
	Country       string
	Region        string
	PostalCode    string
	Lat, Lng      *float64
	ExceptionCode string
	Description   string
	// Estimate is the carrier's estimated delivery as of this scan.
	Estimate *time.Time `json:",omitempty"`
}

// Shipment is what the workflow knows of one shipment.
type Shipment struct {
	ID      string
	Carrier string
	Service string
	// TrackingNumber is the carrier's number for it, from the shop's
	// shipment.created or the first carrier scan.
	TrackingNumber string `json:",omitempty"`
	Origin         *recovery.Location
	Lines          []recovery.ShipmentLine
	// CreatedEvent is the shipment.created event, evidence for wrong_item
	// and for a missed pickup.
	CreatedEvent string
	// LabelAt is when the label was created (shipment.created or the
	// label_created scan), the start of the pickup limit.
	LabelAt *time.Time
	// Scans are kept in event-time order, whatever order they arrived in.
	Scans []Scan
	// LastScanAt is the newest scan's time: the start of the stall limit.
	LastScanAt *time.Time
	PickedUp   bool
	Delivered  bool
	// Terminal is set by returned_to_sender (nothing more will move).
	Terminal bool
}

// OrderState is everything OrderWorkflow keeps; it is carried across
// continue-as-new.
type OrderState struct {
	OrderID string
	// Order is nil until order.created arrives (events may come out of
	// order).
	Order     *recovery.OrderData
	Shipments map[string]*Shipment
	// Seen holds the keys (source + "\x00" + id) of applied events;
	// SeenOrder the same keys oldest first. Once the run bounds it, Seen
	// keeps the newest maxSeen: the inbox refuses repeats of an event
	// already stored, so the workflow only absorbs the relay's re-sends,
	// which are recent.
	Seen      map[string]bool
	SeenOrder []string `json:",omitempty"`
	// LastEventAt is when (workflow time) the latest events arrived: the
	// start of the idle time after which a finished order completes.
	LastEventAt time.Time `json:",omitempty"`
	// Incidents maps "shipment\x00kind" to the latest incident of that key.
	Incidents map[string]*IncidentRef
	// Fired maps a timer key ("kind\x00shipment") to the deadline it last
	// fired for, so that a deadline fires once.
	Fired map[string]time.Time
	// Stock is the latest available quantity per SKU reported for this
	// order by inventory.changed, with the event that said so.
	Stock map[string]StockLevel
	// Config is read once per run and carried across continue-as-new.
	Config *recovery.DetectionConfig
	// Pending holds findings waiting for the order (and so the customer).
	Pending []Finding
	// LateFiredFor is the promise a late timer already fired for.
	LateFiredFor *time.Time
	// PromiseEvent is the id of the event that set the promise.
	PromiseEvent string
	Cancelled    bool
	Applied      int

	// FieldAt is the event time of each order field's current value, so
	// that an older order.updated never rolls a newer value back.
	FieldAt map[string]time.Time `json:",omitempty"`
	// orderByTime is set per run (behind workflow.GetVersion): order
	// fields follow event time, not arrival.
	orderByTime bool
	// boundSeen is set per run (behind workflow.GetVersion): Seen keeps
	// the newest maxSeen keys.
	boundSeen bool
	// resolveTracking is set per run (behind workflow.GetVersion): a
	// carrier scan goes to the shop's shipment that carries its tracking
	// number, whatever shipment id the carrier's event names.
	resolveTracking bool
}

// OrderInput starts (or continues) an OrderWorkflow.
type OrderInput struct {
	OrderID string
	// State is set when the workflow continues as new.
	State *OrderState
}

// OrderSummary is the answer to QueryState.
type OrderSummary struct {
	OrderID       string
	OrderKnown    bool
	AppliedEvents int
	Shipments     int
	Incidents     []string
	Cancelled     bool
}

// IncidentRef is what OrderWorkflow remembers of an incident it started.
type IncidentRef struct {
	ID         string
	WorkflowID string
	Kind       recovery.Kind
	ShipmentID string
	// N counts the incidents of this key: a healed incident can be followed
	// by a new one if the problem comes back.
	N    int
	Open bool
	// Code is the exception code that opened a carrier_exception.
	Code string
	// EvidenceAt is the event time of the newest evidence; ClosedAt the
	// event time of what healed it. Evidence older than ClosedAt cannot
	// reopen it (events can arrive out of order).
	EvidenceAt time.Time
	ClosedAt   time.Time
	// Since is the last scan a stall or loss was measured from.
	Since time.Time
	// Ended is set when the incident's workflow reported that it ended:
	// nothing about it can need the order any more.
	Ended bool `json:",omitempty"`
}

// StockLevel is one SKU's availability for this order.
type StockLevel struct {
	Available int64
	EventID   string
	Time      time.Time
}

func newState(orderID string) *OrderState {
	return &OrderState{OrderID: orderID, Shipments: map[string]*Shipment{}, Seen: map[string]bool{},
		Incidents: map[string]*IncidentRef{}, Fired: map[string]time.Time{}, Stock: map[string]StockLevel{}}
}

// init fills maps that a state carried from an older run may lack.
func (s *OrderState) init() {
	s.forgetPerson()
	if s.Incidents == nil {
		s.Incidents = map[string]*IncidentRef{}
	}
	if s.Fired == nil {
		s.Fired = map[string]time.Time{}
	}
	if s.Stock == nil {
		s.Stock = map[string]StockLevel{}
	}
	if s.Seen == nil {
		s.Seen = map[string]bool{}
	}
	if len(s.SeenOrder) == 0 && len(s.Seen) > 0 { // carried from before the order was kept
		s.SeenOrder = make([]string, 0, len(s.Seen))
		for k := range s.Seen {
			s.SeenOrder = append(s.SeenOrder, k)
		}
		sort.Strings(s.SeenOrder)
	}
}

// maxSeen bounds Seen once a run bounds it.
const maxSeen = 2000

// see records an applied event's key, forgetting the oldest beyond
// maxSeen when the run bounds Seen.
func (s *OrderState) see(key string) {
	s.Seen[key] = true
	if !s.boundSeen {
		return
	}
	s.SeenOrder = append(s.SeenOrder, key)
	for len(s.SeenOrder) > maxSeen {
		delete(s.Seen, s.SeenOrder[0])
		s.SeenOrder = s.SeenOrder[1:]
	}
}

// terminal reports whether nothing more will happen to the order: it was
// cancelled, or every shipment was delivered or returned and together they
// carried every line ordered (when shipments name their lines).
func (s *OrderState) terminal() bool {
	if s.Cancelled {
		return true
	}
	if s.Order == nil || len(s.Shipments) == 0 {
		return false
	}
	shipped := map[string]int64{}
	named := false
	for _, sh := range s.Shipments {
		if !sh.Delivered && !sh.Terminal {
			return false
		}
		for _, l := range sh.Lines {
			shipped[l.SKU] += l.Quantity
			named = true
		}
	}
	if named {
		for _, l := range s.Order.Lines {
			if shipped[l.SKU] < l.Quantity {
				return false
			}
		}
	}
	return true
}

// quiet reports whether the order could complete: it is terminal, every
// incident's workflow ended, and no finding waits for the order.
func (s *OrderState) quiet() bool {
	if !s.terminal() || len(s.Pending) > 0 {
		return false
	}
	for _, ref := range s.Incidents {
		if !ref.Ended {
			return false
		}
	}
	return true
}

func (s *OrderState) shipment(id string) *Shipment {
	sh, ok := s.Shipments[id]
	if !ok {
		sh = &Shipment{ID: id}
		s.Shipments[id] = sh
	}
	return sh
}

func (s *OrderState) summary() OrderSummary {
	out := OrderSummary{OrderID: s.OrderID, OrderKnown: s.Order != nil, AppliedEvents: s.Applied,
		Shipments: len(s.Shipments), Cancelled: s.Cancelled, Incidents: []string{}}
	for _, ref := range s.Incidents {
		out.Incidents = append(out.Incidents, ref.ID)
	}
	sort.Strings(out.Incidents)
	return out
}

// apply folds one event into the state and returns the scan it carried, if
// any. Events already seen are ignored (ok false).
func (s *OrderState) apply(e recovery.Event) (shipmentID string, scan *Scan, ok bool) {
	key := e.Source + "\x00" + e.ID
	if s.Seen[key] {
		return "", nil, false
	}
	s.see(key)
	s.Applied++
	switch e.Type {
	case recovery.TypeOrderCreated, recovery.TypeOrderUpdated:
		before := s.promise()
		s.applyOrder(e)
		if after := s.promise(); after != nil && (before == nil || !after.Equal(*before)) {
			s.PromiseEvent = e.ID
		}
	case recovery.TypeOrderCancelled:
		s.Cancelled = true
	case recovery.TypeShipmentCreated:
		var d recovery.ShipmentData
		if json.Unmarshal(e.Data, &d) == nil && d.ShipmentID != "" {
			sh := s.shipment(d.ShipmentID)
			if d.Origin != nil {
				sh.Origin = d.Origin
			}
			if len(d.Lines) > 0 {
				sh.Lines = d.Lines
			}
			if d.Carrier != "" {
				sh.Carrier = d.Carrier
			}
			if d.Service != "" {
				sh.Service = d.Service
			}
			if s.resolveTracking && d.TrackingNumber != "" {
				sh.TrackingNumber = d.TrackingNumber
				s.adoptCarrierShipment(sh)
			}
			sh.CreatedEvent = e.ID
			if sh.LabelAt == nil || e.Time.Before(*sh.LabelAt) {
				t := e.Time
				sh.LabelAt = &t
			}
			return d.ShipmentID, nil, true
		}
	case recovery.TypeShipmentTracking:
		var d recovery.TrackingData
		if json.Unmarshal(e.Data, &d) != nil || d.ShipmentID == "" {
			return "", nil, true
		}
		sc := Scan{EventID: e.ID, Time: e.Time, Status: d.Status, ExceptionCode: d.ExceptionCode, Description: d.Description,
			Estimate: d.EstimatedDelivery}
		if d.Location != nil {
			sc.Country, sc.Region, sc.PostalCode = d.Location.Country, d.Location.Region, d.Location.PostalCode
			sc.Lat, sc.Lng = d.Location.Lat, d.Location.Lng
		}
		id := s.shipmentFor(d.ShipmentID, d.TrackingNumber)
		sh := s.shipment(id)
		if d.Carrier != "" && sh.Carrier == "" {
			sh.Carrier = d.Carrier
		}
		if s.resolveTracking && sh.TrackingNumber == "" {
			sh.TrackingNumber = d.TrackingNumber
		}
		sh.addScan(sc)
		return id, &sc, true
	case recovery.TypeInventoryChanged:
		var d recovery.InventoryData
		if json.Unmarshal(e.Data, &d) == nil && d.SKU != "" {
			if old, ok := s.Stock[d.SKU]; !ok || !e.Time.Before(old.Time) {
				s.Stock[d.SKU] = StockLevel{Available: d.Available, EventID: e.ID, Time: e.Time}
			}
		}
	}
	return "", nil, true
}

// applyOrder merges order.created or a partial order.updated.
func (s *OrderState) applyOrder(e recovery.Event) {
	defer s.forgetPerson()
	var d recovery.OrderData
	if json.Unmarshal(e.Data, &d) != nil {
		return
	}
	if s.orderByTime {
		s.applyOrderByTime(e, d)
		return
	}
	if s.Order == nil || e.Type == recovery.TypeOrderCreated && s.Order.Currency == "" {
		if e.Type == recovery.TypeOrderCreated {
			s.Order = &d
			return
		}
		s.Order = &recovery.OrderData{OrderID: s.OrderID}
	}
	var present map[string]json.RawMessage
	json.Unmarshal(e.Data, &present) //nolint:errcheck
	o := s.Order
	if _, ok := present["currency"]; ok {
		o.Currency = d.Currency
	}
	if _, ok := present["total_minor"]; ok {
		o.TotalMinor = d.TotalMinor
	}
	if _, ok := present["promised_delivery"]; ok {
		o.PromisedDelivery = d.PromisedDelivery
	}
	if _, ok := present["customer"]; ok {
		o.Customer = d.Customer
	}
	if _, ok := present["shipping_address"]; ok {
		o.ShippingAddress = d.ShippingAddress
	}
	if _, ok := present["lines"]; ok {
		o.Lines = d.Lines
	}
}

// applyOrderByTime merges an order.created or order.updated field by
// field: a field takes the event's value unless a newer event (by event
// time) set it already, whatever order they arrived in.
func (s *OrderState) applyOrderByTime(e recovery.Event, d recovery.OrderData) {
	var present map[string]json.RawMessage
	json.Unmarshal(e.Data, &present) //nolint:errcheck
	if s.Order == nil {
		s.Order = &recovery.OrderData{OrderID: s.OrderID}
	}
	if s.FieldAt == nil {
		s.FieldAt = map[string]time.Time{}
	}
	o := s.Order
	set := map[string]func(){
		"currency":          func() { o.Currency = d.Currency },
		"total_minor":       func() { o.TotalMinor = d.TotalMinor },
		"promised_delivery": func() { o.PromisedDelivery = d.PromisedDelivery },
		"customer":          func() { o.Customer = d.Customer },
		"shipping_address":  func() { o.ShippingAddress = d.ShippingAddress },
		"lines":             func() { o.Lines = d.Lines },
	}
	for _, k := range []string{"currency", "total_minor", "promised_delivery", "customer", "shipping_address", "lines"} {
		if _, ok := present[k]; !ok {
			continue
		}
		if at, ok := s.FieldAt[k]; ok && e.Time.Before(at) {
			continue // an older word than the one we have
		}
		s.FieldAt[k] = e.Time
		set[k]()
	}
}

// normTracking compares tracking numbers as carriers and shops write them:
// without spaces, in upper case.
func normTracking(t string) string {
	return strings.ToUpper(strings.Join(strings.Fields(t), ""))
}

// shipmentFor returns the shipment a carrier scan belongs to: the shop's
// shipment that carries its tracking number, else the one the scan names
// (a carrier's event knows only the tracking number).
func (s *OrderState) shipmentFor(named, tracking string) string {
	if !s.resolveTracking || tracking == "" {
		return named
	}
	t := normTracking(tracking)
	for _, id := range s.shipmentIDs() {
		if sh := s.Shipments[id]; sh.CreatedEvent != "" && normTracking(sh.TrackingNumber) == t {
			return id
		}
	}
	return named
}

// adoptCarrierShipment merges into the shop's shipment sh a shipment that
// carrier scans opened under sh's tracking number before sh was known:
// its scans, its label time, the incidents, deadlines and findings
// keyed by it.
func (s *OrderState) adoptCarrierShipment(sh *Shipment) {
	t := normTracking(sh.TrackingNumber)
	for _, id := range s.shipmentIDs() {
		from := s.Shipments[id]
		if id == sh.ID || from.CreatedEvent != "" || normTracking(from.TrackingNumber) != t && normTracking(id) != t {
			continue
		}
		for _, sc := range from.Scans {
			sh.addScan(sc)
		}
		if from.LabelAt != nil && (sh.LabelAt == nil || from.LabelAt.Before(*sh.LabelAt)) {
			sh.LabelAt = from.LabelAt
		}
		if sh.Carrier == "" {
			sh.Carrier = from.Carrier
		}
		delete(s.Shipments, id)
		for _, key := range sortedKeys(s.Incidents) {
			ref := s.Incidents[key]
			if ref.ShipmentID != id {
				continue
			}
			if nk := sh.ID + "\x00" + string(ref.Kind); s.Incidents[nk] == nil {
				delete(s.Incidents, key)
				ref.ShipmentID = sh.ID
				s.Incidents[nk] = ref
			}
		}
		for _, key := range sortedKeys(s.Fired) {
			if kind, sid, _ := strings.Cut(key, "\x00"); sid == id {
				if nk := kind + "\x00" + sh.ID; s.Fired[nk].IsZero() {
					s.Fired[nk] = s.Fired[key]
				}
				delete(s.Fired, key)
			}
		}
		for i := range s.Pending {
			if s.Pending[i].ShipmentID == id {
				s.Pending[i].ShipmentID = sh.ID
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// allDelivered reports whether every known shipment was delivered (and
// there is at least one).
func (s *OrderState) allDelivered() bool {
	if len(s.Shipments) == 0 {
		return false
	}
	for _, sh := range s.Shipments {
		if !sh.Delivered {
			return false
		}
	}
	return true
}

// promise returns the promised delivery time, if known.
func (s *OrderState) promise() *time.Time {
	if s.Order == nil {
		return nil
	}
	return s.Order.PromisedDelivery
}

// addScan inserts a scan in event-time order and updates the shipment's
// summary fields. An older scan arriving late changes history, not the
// present: LastScanAt only moves forward.
func (sh *Shipment) addScan(sc Scan) {
	i := sort.Search(len(sh.Scans), func(i int) bool { return sh.Scans[i].Time.After(sc.Time) })
	sh.Scans = slices.Insert(sh.Scans, i, sc)
	if len(sh.Scans) > maxScans {
		sh.Scans = sh.Scans[len(sh.Scans)-maxScans:]
	}
	switch sc.Status {
	case recovery.StatusLabelCreated:
		if sh.LabelAt == nil || sc.Time.Before(*sh.LabelAt) {
			t := sc.Time
			sh.LabelAt = &t
		}
		return // a label is not a carrier scan: it neither picks up nor resets the stall
	case recovery.StatusDelivered:
		sh.Delivered = true
	case recovery.StatusReturnedToSender:
		sh.Terminal = true
	}
	sh.PickedUp = true
	if sh.LastScanAt == nil || sc.Time.After(*sh.LastScanAt) {
		t := sc.Time
		sh.LastScanAt = &t
	}
}

// latest returns the newest carrier scan (not a label), if any.
// estimate is the latest scan that carries the carrier's estimated
// delivery.
func (sh *Shipment) estimate() (Scan, bool) {
	for i := len(sh.Scans) - 1; i >= 0; i-- {
		if sh.Scans[i].Estimate != nil {
			return sh.Scans[i], true
		}
	}
	return Scan{}, false
}

func (sh *Shipment) latest() (Scan, bool) {
	for i := len(sh.Scans) - 1; i >= 0; i-- {
		if sh.Scans[i].Status != recovery.StatusLabelCreated {
			return sh.Scans[i], true
		}
	}
	return Scan{}, false
}

// forgetPerson drops personal data that an older relay sent, or that a
// run carried from before the relay stopped sending it: the relay sends
// none (recovery.Event.ForWorkflow). Coordinates stay as they came, since
// detection reads them.
func (s *OrderState) forgetPerson() {
	if s.Order != nil {
		s.Order.Customer = s.Order.Customer.Impersonal()
		s.Order.ShippingAddress.Line1, s.Order.ShippingAddress.City = "", ""
	}
}

// facts is what a remedy policy knows of the shipment: its label's
// carrier and service, its latest scan's status, whether it was delivered.
func (s *Shipment) facts() recovery.ShipmentFacts {
	f := recovery.ShipmentFacts{ID: s.ID, Carrier: s.Carrier, Service: s.Service, Delivered: s.Delivered}
	if n := len(s.Scans); n > 0 {
		f.Status = s.Scans[n-1].Status
	}
	return f
}

package workflows

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Finding is one detected problem, before it becomes an incident.
type Finding struct {
	ShipmentID string
	Kind       recovery.Kind
	Evidence   []string
	Reason     string
	// EvidenceAt is the event time of the evidence (for a timer: the time
	// the timer measured from).
	EvidenceAt time.Time
	// Code is the exception code behind a carrier_exception.
	Code string
	// Since is, for a stall or a loss, the time of the last scan: a scan
	// after it heals the incident.
	Since time.Time
}

// misrouteCodes are carrier exception codes (lower case, separators
// dropped) that say a parcel went the wrong way.
var misrouteCodes = map[string]bool{
	"misrouted": true, "misroute": true, "missort": true, "missorted": true, "misdirected": true,
	"wrongfacility": true, "wronghub": true, "sorterror": true, "missent": true,
}

func normCode(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(s)))
}

// normPostal compares postal codes without case and spacing.
func normPostal(s string) string {
	return strings.ToUpper(strings.ReplaceAll(strings.ReplaceAll(strings.TrimSpace(s), " ", ""), "-", ""))
}

// DetectMisroute applies the misroute rules to one scan. order may be nil
// (not known yet); rules that need it are then skipped, and the caller
// re-runs them when the order arrives.
func DetectMisroute(order *recovery.OrderData, sh *Shipment, sc Scan) (Finding, bool) {
	f := Finding{ShipmentID: sh.ID, Kind: recovery.KindMisrouted, Evidence: []string{sc.EventID}}
	if misrouteCodes[normCode(sc.ExceptionCode)] {
		f.Reason = fmt.Sprintf("carrier reported exception code %q", sc.ExceptionCode)
		return f, true
	}
	desc := strings.ToLower(sc.Description)
	for _, p := range recovery.MisroutePhrases {
		if strings.Contains(desc, p) {
			f.Reason = "carrier scan says the parcel was misrouted"
			return f, true
		}
	}
	if order == nil {
		return Finding{}, false
	}
	dest := order.ShippingAddress
	if sc.Status == recovery.StatusDelivered && sc.PostalCode != "" && dest.PostalCode != "" &&
		normPostal(sc.PostalCode) != normPostal(dest.PostalCode) {
		f.Reason = fmt.Sprintf("delivered in postal code %s, but the order ships to %s", sc.PostalCode, dest.PostalCode)
		return f, true
	}
	if sh.Origin != nil && sh.Origin.Country != "" && dest.Country != "" && sc.Country != "" &&
		!strings.EqualFold(sc.Country, sh.Origin.Country) && !strings.EqualFold(sc.Country, dest.Country) {
		f.Reason = fmt.Sprintf("scanned in %s, which is neither the origin (%s) nor the destination (%s)",
			strings.ToUpper(sc.Country), strings.ToUpper(sh.Origin.Country), strings.ToUpper(dest.Country))
		return f, true
	}
	return Finding{}, false
}

// DetectMoveAway reports a scan that is more than km farther from the
// destination than the closest earlier scan, when the scans and the
// shipping address carry coordinates.
func DetectMoveAway(order *recovery.OrderData, sh *Shipment, sc Scan, km float64) (Finding, bool) {
	if order == nil || km <= 0 || sc.Lat == nil || sc.Lng == nil ||
		order.ShippingAddress.Lat == nil || order.ShippingAddress.Lng == nil {
		return Finding{}, false
	}
	dLat, dLng := *order.ShippingAddress.Lat, *order.ShippingAddress.Lng
	here := distanceKm(*sc.Lat, *sc.Lng, dLat, dLng)
	closest := math.Inf(1)
	for _, o := range sh.Scans {
		if o.Lat != nil && o.Lng != nil && o.Time.Before(sc.Time) {
			closest = min(closest, distanceKm(*o.Lat, *o.Lng, dLat, dLng))
		}
	}
	if math.IsInf(closest, 1) || here-closest <= km {
		return Finding{}, false
	}
	return Finding{ShipmentID: sh.ID, Kind: recovery.KindMisrouted, Evidence: []string{sc.EventID}, EvidenceAt: sc.Time,
		Reason: fmt.Sprintf("scanned %.0f km from the destination after being %.0f km from it", here, closest)}, true
}

// distanceKm is the great-circle distance between two points.
func distanceKm(lat1, lng1, lat2, lng2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLng := (lat2-lat1)*rad, (lng2-lng1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLng/2)*math.Sin(dLng/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

// hardExceptions are carrier exceptions that a later scan does not undo.
var hardExceptions = map[string]bool{recovery.ExceptionDamaged: true}

// DetectStatus turns a scan's carrier status into a finding: exceptions and
// failed attempts, returns to sender, lost parcels. Misroute codes are left
// to DetectMisroute.
func DetectStatus(sh *Shipment, sc Scan) (Finding, bool) {
	f := Finding{ShipmentID: sh.ID, Evidence: []string{sc.EventID}, EvidenceAt: sc.Time}
	switch sc.Status {
	case recovery.StatusReturnedToSender:
		f.Kind, f.Reason = recovery.KindReturnedToSender, "the carrier is returning the parcel to the sender"
	case recovery.StatusLost:
		f.Kind, f.Reason, f.Since = recovery.KindLost, "the carrier reports the parcel lost", sc.Time
	case recovery.StatusFailedAttempt, recovery.StatusException:
		if misrouteCodes[normCode(sc.ExceptionCode)] {
			return Finding{}, false
		}
		code := recovery.IncidentCode(sc.Status, sc.ExceptionCode)
		f.Kind, f.Code = recovery.KindCarrierException, code
		f.Reason = fmt.Sprintf("the carrier reported a problem (%s)", strings.ReplaceAll(code, "_", " "))
	default:
		return Finding{}, false
	}
	return f, true
}

// DetectWrongItem compares what the shipments carry with what was ordered:
// a SKU that is not on the order, or more of one than was ordered across
// all shipments. Fewer is not wrong: the rest may ship separately.
func DetectWrongItem(order *recovery.OrderData, s *OrderState, sh *Shipment) (Finding, bool) {
	if order == nil || len(sh.Lines) == 0 || len(order.Lines) == 0 {
		return Finding{}, false
	}
	ordered := map[string]int64{}
	for _, l := range order.Lines {
		ordered[strings.ToUpper(l.SKU)] += l.Quantity
	}
	shipped := map[string]int64{}
	for _, other := range s.Shipments {
		for _, l := range other.Lines {
			shipped[strings.ToUpper(l.SKU)] += l.Quantity
		}
	}
	for _, l := range sh.Lines {
		sku := strings.ToUpper(l.SKU)
		f := Finding{ShipmentID: sh.ID, Kind: recovery.KindWrongItem, Evidence: []string{sh.CreatedEvent}}
		if sh.LabelAt != nil {
			f.EvidenceAt = *sh.LabelAt
		}
		switch {
		case ordered[sku] == 0:
			f.Reason = fmt.Sprintf("the shipment carries %s, which is not on the order", l.SKU)
			return f, true
		case shipped[sku] > ordered[sku]:
			f.Reason = fmt.Sprintf("%d of %s shipped, but %d ordered", shipped[sku], l.SKU, ordered[sku])
			return f, true
		}
	}
	return Finding{}, false
}

// shippedSKUs returns the SKUs already packed into some shipment.
func shippedSKUs(s *OrderState) map[string]bool {
	out := map[string]bool{}
	for _, sh := range s.Shipments {
		for _, l := range sh.Lines {
			out[strings.ToUpper(l.SKU)] = true
		}
	}
	return out
}

// DetectOutOfStock returns an order-level finding when inventory says an
// unshipped line cannot be filled.
func DetectOutOfStock(s *OrderState) (Finding, bool) {
	if s.Order == nil {
		return Finding{}, false
	}
	shipped := shippedSKUs(s)
	for _, l := range s.Order.Lines {
		lvl, ok := s.Stock[l.SKU]
		if !ok || shipped[strings.ToUpper(l.SKU)] || lvl.Available >= l.Quantity {
			continue
		}
		return Finding{Kind: recovery.KindOutOfStock, Evidence: []string{lvl.EventID}, EvidenceAt: lvl.Time,
			Reason: fmt.Sprintf("%s: %d ordered, %d available", l.SKU, l.Quantity, max(lvl.Available, 0))}, true
	}
	return Finding{}, false
}

// DetectScan runs every scan detector on one scan.
func DetectScan(s *OrderState, sh *Shipment, sc Scan, cfg recovery.DetectionConfig) []Finding {
	var out []Finding
	if f, ok := DetectMisroute(s.Order, sh, sc); ok {
		f.EvidenceAt = sc.Time
		out = append(out, f)
	} else if f, ok := DetectMoveAway(s.Order, sh, sc, cfg.MoveAwayKm); ok {
		out = append(out, f)
	}
	if f, ok := DetectStatus(sh, sc); ok {
		out = append(out, f)
	}
	if f, ok := DetectAtRisk(s, sh, sc); ok {
		out = append(out, f)
	}
	return out
}

// DetectAtRisk reports a shipment whose carrier now expects to deliver
// after the promised time, on a scan made before that time passed (after
// it, the late timer speaks): the customer hears from us before the
// promise is broken.
func DetectAtRisk(s *OrderState, sh *Shipment, sc Scan) (Finding, bool) {
	p := s.promise()
	if p == nil || sh.Delivered || sh.Terminal || sc.Estimate == nil || !sc.Time.Before(*p) {
		return Finding{}, false
	}
	if est, ok := sh.estimate(); !ok || est.EventID != sc.EventID || !sc.Estimate.After(*p) {
		return Finding{}, false // a later scan's estimate speaks for the shipment
	}
	return Finding{ShipmentID: sh.ID, Kind: recovery.KindAtRisk, Evidence: []string{sc.EventID}, EvidenceAt: sc.Time,
		Reason: fmt.Sprintf("the carrier now expects delivery %s, after the promised %s",
			sc.Estimate.UTC().Format("2006-01-02 15:04 MST"), p.UTC().Format("2006-01-02 15:04 MST"))}, true
}

// DetectAll re-runs the event detectors over everything kept, shipments in
// id order: used when the order (and so the destination) becomes known.
func DetectAll(s *OrderState, cfg recovery.DetectionConfig) []Finding {
	var out []Finding
	for _, id := range s.shipmentIDs() {
		sh := s.Shipments[id]
		for _, sc := range sh.Scans {
			out = append(out, DetectScan(s, sh, sc, cfg)...)
		}
		if f, ok := DetectWrongItem(s.Order, s, sh); ok {
			out = append(out, f)
		}
	}
	if f, ok := DetectOutOfStock(s); ok {
		out = append(out, f)
	}
	return out
}

func (s *OrderState) shipmentIDs() []string {
	ids := make([]string, 0, len(s.Shipments))
	for id := range s.Shipments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// LateFindings returns a late finding for each undelivered shipment, in id
// order, or one order-level finding when no shipment exists yet.
func LateFindings(s *OrderState, evidence string) []Finding {
	p := *s.Order.PromisedDelivery
	promise := p.UTC().Format("2006-01-02 15:04 MST")
	var ids []string
	for _, id := range s.shipmentIDs() {
		if sh := s.Shipments[id]; !sh.Delivered && !sh.Terminal {
			ids = append(ids, id)
		}
	}
	if len(s.Shipments) == 0 {
		ids = []string{""}
	}
	out := make([]Finding, 0, len(ids))
	for _, id := range ids {
		out = append(out, Finding{ShipmentID: id, Kind: recovery.KindLate, Evidence: []string{evidence}, EvidenceAt: p,
			Reason: "not delivered by the promised time " + promise})
	}
	return out
}

// Due is a deadline the workflow keeps a timer for.
type Due struct {
	Key        string // kind + "\x00" + shipment
	Kind       recovery.Kind
	ShipmentID string
	At         time.Time
}

// Dues lists the deadlines the state implies: the promise (late), the
// stall limit of each moving shipment, the pickup limit of each label.
// Deadlines already fired are left out. A cancelled order has none.
func Dues(s *OrderState, cfg recovery.DetectionConfig) []Due {
	if s.Cancelled {
		return nil
	}
	var out []Due
	add := func(kind recovery.Kind, shipmentID string, at time.Time) {
		key := string(kind) + "\x00" + shipmentID
		if fired, ok := s.Fired[key]; ok && fired.Equal(at) {
			return
		}
		out = append(out, Due{Key: key, Kind: kind, ShipmentID: shipmentID, At: at})
	}
	if p := s.promise(); p != nil && !s.allDelivered() {
		add(recovery.KindLate, "", *p)
	}
	for _, id := range s.shipmentIDs() {
		sh := s.Shipments[id]
		if sh.Delivered || sh.Terminal {
			continue
		}
		switch {
		case sh.PickedUp && sh.LastScanAt != nil:
			if last, _ := sh.latest(); last.Status == recovery.StatusLost {
				continue // already an incident of its own
			}
			limit, business := cfg.StallFor(sh.Carrier, sh.Service)
			if limit <= 0 {
				continue
			}
			at := sh.LastScanAt.Add(limit)
			if business {
				at = recovery.AddBusiness(*sh.LastScanAt, limit)
			}
			add(recovery.KindStalled, id, at)
		case !sh.PickedUp && sh.LabelAt != nil && cfg.PickupLimit > 0:
			add(recovery.KindNotPickedUp, id, sh.LabelAt.Add(cfg.PickupLimit))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].At.Equal(out[j].At) {
			return out[i].At.Before(out[j].At)
		}
		return out[i].Key < out[j].Key
	})
	return out
}

// FireDue turns a deadline that passed into findings.
func FireDue(s *OrderState, cfg recovery.DetectionConfig, d Due) []Finding {
	if s.Order == nil {
		return nil
	}
	switch d.Kind {
	case recovery.KindLate:
		return LateFindings(s, s.PromiseEvent)
	case recovery.KindStalled:
		sh := s.Shipments[d.ShipmentID]
		last, _ := sh.latest()
		limit, business := cfg.StallFor(sh.Carrier, sh.Service)
		unit := ""
		if business {
			unit = " (business time)"
		}
		return []Finding{{ShipmentID: sh.ID, Kind: recovery.KindStalled, Evidence: []string{last.EventID}, EvidenceAt: d.At, Since: *sh.LastScanAt,
			Reason: fmt.Sprintf("no carrier scan since %s, longer than the %s limit%s for %s",
				sh.LastScanAt.UTC().Format("2006-01-02 15:04 MST"), limit, unit, carrierName(sh.Carrier))}}
	case recovery.KindNotPickedUp:
		sh := s.Shipments[d.ShipmentID]
		ev := sh.CreatedEvent
		for _, sc := range sh.Scans {
			if sc.Status == recovery.StatusLabelCreated && ev == "" {
				ev = sc.EventID
			}
		}
		return []Finding{{ShipmentID: sh.ID, Kind: recovery.KindNotPickedUp, Evidence: []string{ev}, EvidenceAt: *sh.LabelAt,
			Reason: fmt.Sprintf("label created %s, no carrier pickup within %s",
				sh.LabelAt.UTC().Format("2006-01-02 15:04 MST"), cfg.PickupLimit)}}
	}
	return nil
}

func carrierName(c string) string {
	if c == "" {
		return "this carrier"
	}
	return c
}

// deliveredRight reports whether the shipment was delivered where the
// order ships to (or where no postal code says otherwise), and by which
// event at what time.
func deliveredRight(s *OrderState, sh *Shipment) (string, time.Time, bool) {
	if s.Order == nil || !sh.Delivered {
		return "", time.Time{}, false
	}
	dest := s.Order.ShippingAddress
	for i := len(sh.Scans) - 1; i >= 0; i-- {
		sc := sh.Scans[i]
		if sc.Status != recovery.StatusDelivered {
			continue
		}
		if sc.PostalCode != "" && dest.PostalCode != "" && normPostal(sc.PostalCode) != normPostal(dest.PostalCode) {
			return "", time.Time{}, false
		}
		if sc.Country != "" && dest.Country != "" && !strings.EqualFold(sc.Country, dest.Country) {
			return "", time.Time{}, false
		}
		return sc.EventID, sc.Time, true
	}
	return "", time.Time{}, false
}

// Healed says whether the evidence of an open incident went away, and what
// showed it. Incidents from hard evidence (a return to sender, a wrong
// item, a damaged parcel) never heal.
func Healed(s *OrderState, ref *IncidentRef, now time.Time) (reason, evidence string, at time.Time, ok bool) {
	if s.Cancelled {
		return "the order was cancelled", "", now, true
	}
	sh := s.Shipments[ref.ShipmentID]
	switch ref.Kind {
	case recovery.KindLate:
		if p := s.promise(); p != nil && p.After(now) {
			return "the promised delivery time moved to " + p.UTC().Format("2006-01-02 15:04 MST"), s.PromiseEvent, now, true
		}
		if sh == nil && s.allDelivered() || sh != nil && sh.Delivered {
			ev, t := lastDelivered(s, sh)
			return "delivered", ev, t, true
		}
	case recovery.KindAtRisk:
		if sh != nil && sh.Delivered {
			ev, t := lastDelivered(s, sh)
			return "delivered", ev, t, true
		}
		if sh == nil {
			break
		}
		if est, ok := sh.estimate(); ok && s.promise() != nil && !est.Estimate.After(*s.promise()) {
			return "the carrier expects to deliver on time again", est.EventID, est.Time, true
		}
	case recovery.KindStalled:
		if sh != nil && sh.LastScanAt != nil && sh.LastScanAt.After(ref.Since) {
			last, _ := sh.latest()
			return "the carrier scanned the parcel again", last.EventID, last.Time, true
		}
	case recovery.KindNotPickedUp:
		if sh != nil && sh.PickedUp {
			first := firstCarrierScan(sh)
			return "the carrier picked the parcel up", first.EventID, first.Time, true
		}
	case recovery.KindLost:
		if sh != nil && sh.LastScanAt != nil && sh.LastScanAt.After(ref.Since) {
			if last, _ := sh.latest(); last.Status != recovery.StatusLost {
				return "the carrier found the parcel", last.EventID, last.Time, true
			}
		}
	case recovery.KindMisrouted:
		if sh != nil {
			if ev, t, ok := deliveredRight(s, sh); ok {
				return "delivered to the right address", ev, t, true
			}
		}
	case recovery.KindCarrierException:
		if sh != nil && !hardExceptions[ref.Code] {
			if ev, t, ok := deliveredRight(s, sh); ok {
				return "delivered to the right address", ev, t, true
			}
		}
	case recovery.KindOutOfStock:
		if _, short := DetectOutOfStock(s); !short {
			latest := StockLevel{}
			for _, l := range s.Stock {
				if l.Time.After(latest.Time) {
					latest = l
				}
			}
			return "the items are available again", latest.EventID, latest.Time, true
		}
	}
	return "", "", time.Time{}, false
}

func lastDelivered(s *OrderState, sh *Shipment) (string, time.Time) {
	var ev string
	var t time.Time
	for _, x := range s.Shipments {
		if sh != nil && x != sh {
			continue
		}
		for _, sc := range x.Scans {
			if sc.Status == recovery.StatusDelivered && !sc.Time.Before(t) {
				ev, t = sc.EventID, sc.Time
			}
		}
	}
	return ev, t
}

func firstCarrierScan(sh *Shipment) Scan {
	for _, sc := range sh.Scans {
		if sc.Status != recovery.StatusLabelCreated {
			return sc
		}
	}
	return Scan{}
}

// stale reports whether a finding describes a past that newer evidence
// already overtook: soft evidence about a shipment since delivered to the
// right place, or a carrier exception followed by newer movement.
func stale(s *OrderState, f Finding) bool {
	sh := s.Shipments[f.ShipmentID]
	if sh == nil {
		return false
	}
	switch f.Kind {
	case recovery.KindMisrouted, recovery.KindCarrierException:
		if hardExceptions[f.Code] {
			return false
		}
		if _, t, ok := deliveredRight(s, sh); ok && t.After(f.EvidenceAt) {
			return true
		}
		if f.Kind == recovery.KindCarrierException {
			if last, ok := sh.latest(); ok && last.Time.After(f.EvidenceAt) &&
				(last.Status == recovery.StatusInTransit || last.Status == recovery.StatusOutForDelivery || last.Status == recovery.StatusDelivered) {
				return true
			}
		}
	case recovery.KindLost:
		if last, ok := sh.latest(); ok && last.Time.After(f.EvidenceAt) && last.Status != recovery.StatusLost {
			return true
		}
	case recovery.KindAtRisk:
		// Delivered since, or the carrier's latest estimate is back within
		// the promise.
		if est, ok := sh.estimate(); sh.Delivered || ok && s.promise() != nil && !est.Estimate.After(*s.promise()) {
			return true
		}
	}
	return false
}

package workflows

import (
	"fmt"
	"sort"
	"strings"

	"github.com/recoveryhq/recovery/internal/recovery"
)

// Finding is one detected problem, before it becomes an incident.
type Finding struct {
	ShipmentID string
	Kind       recovery.Kind
	Evidence   []string
	Reason     string
}

// misrouteCodes are carrier exception codes (lower case, separators
// dropped) that say a parcel went the wrong way.
var misrouteCodes = map[string]bool{
	"misrouted": true, "misroute": true, "missort": true, "missorted": true, "misdirected": true,
	"wrongfacility": true, "wronghub": true, "sorterror": true, "missent": true,
}

// misroutePhrases in a scan description say the same in words.
var misroutePhrases = []string{"misrout", "missort", "mis-sort", "mis-rout", "missent", "wrong facility", "wrong hub"}

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
	for _, p := range misroutePhrases {
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

// DetectAll re-runs the scan detectors over every kept scan, shipments in
// id order, returning the first finding per (shipment, kind).
func DetectAll(s *OrderState) []Finding {
	ids := make([]string, 0, len(s.Shipments))
	for id := range s.Shipments {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var out []Finding
	for _, id := range ids {
		sh := s.Shipments[id]
		for _, sc := range sh.Scans {
			if f, ok := DetectMisroute(s.Order, sh, sc); ok {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// LateFindings returns a late finding for each undelivered shipment, in id
// order, or one order-level finding when no shipment exists yet.
func LateFindings(s *OrderState, evidence string) []Finding {
	promise := s.Order.PromisedDelivery.UTC().Format("2006-01-02 15:04 MST")
	ids := make([]string, 0, len(s.Shipments))
	for id, sh := range s.Shipments {
		if !sh.Delivered {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	if len(s.Shipments) == 0 {
		ids = []string{""}
	}
	out := make([]Finding, 0, len(ids))
	for _, id := range ids {
		out = append(out, Finding{ShipmentID: id, Kind: recovery.KindLate, Evidence: []string{evidence},
			Reason: "not delivered by the promised time " + promise})
	}
	return out
}

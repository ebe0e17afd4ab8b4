package recovery

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// DetectionConfig holds the limits the detectors work with. OrderWorkflow
// reads it once per run (through an activity, so replays see the same
// values) and carries it across continue-as-new.
type DetectionConfig struct {
	// Stall lists per-lane limits for "no scan while in transit"; the
	// first matching entry wins, then DefaultStall applies.
	Stall        []StallLimit  `json:"stall,omitempty"`
	DefaultStall time.Duration `json:"default_stall"`
	// PickupLimit is how long a label may wait for the carrier's first scan.
	PickupLimit time.Duration `json:"pickup_limit"`
	// MoveAwayKm is how much farther from the destination than its closest
	// scan a parcel may be scanned before it counts as misrouted (only when
	// scans and the shipping address carry coordinates).
	MoveAwayKm float64 `json:"move_away_km"`
	// Settle is how long an incident of a kind waits before the customer is
	// contacted, so that evidence which goes away on its own (a late scan,
	// a delivery) closes it silently. Kinds not listed are contacted at once.
	Settle map[Kind]time.Duration `json:"settle,omitempty"`
	// FollowUpOnHeal sends a short "all is well" note when an incident heals
	// after the customer was told.
	FollowUpOnHeal bool `json:"follow_up_on_heal"`
	// HealWindow is how long after contact an incident still listens for
	// its evidence going away.
	HealWindow time.Duration `json:"heal_window"`
	// OrderIdle is how long a finished order (delivered, returned or
	// cancelled, every incident ended) waits without an event before its
	// workflow completes; a later event starts a new one from the order's
	// projection. Zero means DefaultOrderIdle (configurations carried from
	// before it existed), negative never.
	OrderIdle time.Duration `json:"order_idle,omitempty"`
	// SearchAttributes is set by the worker when the cluster has the
	// project's search attributes registered.
	SearchAttributes bool `json:"search_attributes,omitempty"`
}

// DefaultOrderIdle is OrderIdle's default: two weeks.
const DefaultOrderIdle = 14 * 24 * time.Hour

// Idle returns how long a finished order waits before its workflow
// completes, and whether it ever does.
func (c DetectionConfig) Idle() (time.Duration, bool) {
	switch {
	case c.OrderIdle < 0:
		return 0, false
	case c.OrderIdle == 0:
		return DefaultOrderIdle, true
	}
	return c.OrderIdle, true
}

// StallLimit is the stall limit of one lane: a carrier and optionally a
// service level ("" matches any).
type StallLimit struct {
	Carrier      string        `json:"carrier"`
	Service      string        `json:"service,omitempty"`
	Limit        time.Duration `json:"limit"`
	BusinessDays bool          `json:"business_days,omitempty"`
}

// DefaultDetection returns the defaults: three days without a scan is a
// stall, two days without pickup is a missed pickup, 150 km away from the
// closest point so far is a misroute, follow-ups on, one week to heal.
func DefaultDetection() DetectionConfig {
	return DetectionConfig{
		DefaultStall:   72 * time.Hour,
		PickupLimit:    48 * time.Hour,
		MoveAwayKm:     150,
		FollowUpOnHeal: true,
		HealWindow:     7 * 24 * time.Hour,
		OrderIdle:      DefaultOrderIdle,
	}
}

// StallFor returns the stall limit for a carrier and service level, and
// whether it counts business days only.
func (c DetectionConfig) StallFor(carrier, service string) (time.Duration, bool) {
	for _, l := range c.Stall {
		if l.Carrier != "*" && !strings.EqualFold(l.Carrier, carrier) {
			continue
		}
		if l.Service != "" && !strings.EqualFold(l.Service, service) {
			continue
		}
		return l.Limit, l.BusinessDays
	}
	return c.DefaultStall, false
}

// ParseStallLimits reads lane limits written as a comma-separated list of
// carrier[/service]=duration[@business], e.g.
// "dhl=72h, ups/express=24h@business, *=96h". Durations accept a "d" suffix
// for days.
func ParseStallLimits(s string) ([]StallLimit, error) {
	var out []StallLimit
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		lane, limit, ok := strings.Cut(part, "=")
		if !ok {
			return nil, fmt.Errorf("stall limit %q: want carrier[/service]=duration", part)
		}
		var l StallLimit
		l.Carrier, l.Service, _ = strings.Cut(strings.TrimSpace(lane), "/")
		if l.Carrier == "" {
			return nil, fmt.Errorf("stall limit %q: carrier is empty (use * for any)", part)
		}
		limit, l.BusinessDays = strings.CutSuffix(strings.TrimSpace(limit), "@business")
		d, err := ParseDays(limit)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("stall limit %q: %q is not a positive duration such as 72h or 3d", part, limit)
		}
		l.Limit = d
		out = append(out, l)
	}
	return out, nil
}

// ParseDays parses a Go duration, also accepting whole days such as "3d".
func ParseDays(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(n, "%d", &days); err != nil || fmt.Sprint(days) != n {
			return 0, fmt.Errorf("%q is not a whole number of days", s)
		}
		const maxDays = math.MaxInt64 / int64(24*time.Hour)
		if int64(days) > maxDays || int64(days) < -maxDays {
			return 0, fmt.Errorf("%q is more days than a duration holds", s)
		}
		return time.Duration(days) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// ParseSettle reads kind=duration pairs, e.g. "late=30m,stalled=2h".
func ParseSettle(s string) (map[Kind]time.Duration, error) {
	out := map[Kind]time.Duration{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		kind := Kind(strings.TrimSpace(k))
		if !ok || !isKind(kind) {
			return nil, fmt.Errorf("settle %q: want kind=duration with a kind such as late or stalled", part)
		}
		d, err := ParseDays(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("settle %q: %q is not a duration", part, v)
		}
		out[kind] = d
	}
	return out, nil
}

func isKind(k Kind) bool {
	for _, x := range Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// AddBusiness adds d to t counting only Monday to Friday (in t's
// location): time that falls on a weekend does not count.
func AddBusiness(t time.Time, d time.Duration) time.Time {
	for d > 0 {
		if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
			y, m, day := t.Date()
			t = time.Date(y, m, day+1, 0, 0, 0, 0, t.Location())
			continue
		}
		y, m, day := t.Date()
		midnight := time.Date(y, m, day+1, 0, 0, 0, 0, t.Location())
		if left := midnight.Sub(t); left >= d {
			return t.Add(d)
		} else {
			d -= left
			t = midnight
		}
	}
	return t
}

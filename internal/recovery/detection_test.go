package recovery

import (
	"testing"
	"time"
)

const day = 24 * time.Hour

func TestParseDays(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"72h", 72 * time.Hour, true},
		{"3d", 3 * day, true},
		{" 7d ", 7 * day, true},
		{"90m", 90 * time.Minute, true},
		{"0", 0, true},
		{"0d", 0, true},
		{"-2d", -2 * day, true}, // a negative number; callers refuse it where it makes no sense
		{"", 0, false},
		{"d", 0, false},
		{"1.5d", 0, false},
		{"+3d", 0, false},
		{"3 d", 0, false},
		{"3D", 0, false},
		{"three days", 0, false},
		{"3days", 0, false},
		{"72", 0, false},
		// More days than a duration holds must not wrap around into
		// some other, plausible-looking limit.
		{"300000d", 0, false},
		{"106751d", 106751 * day, true}, // the most a time.Duration holds
	} {
		got, err := ParseDays(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("ParseDays(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if !tc.ok && err == nil {
			t.Errorf("ParseDays(%q) = %v, want an error", tc.in, got)
		}
	}
}

func TestParseStallLimits(t *testing.T) {
	got, err := ParseStallLimits("dhl=48h, ups/express=1d@business, *=96h")
	if err != nil {
		t.Fatal(err)
	}
	want := []StallLimit{
		{Carrier: "dhl", Limit: 48 * time.Hour},
		{Carrier: "ups", Service: "express", Limit: day, BusinessDays: true},
		{Carrier: "*", Limit: 96 * time.Hour},
	}
	if len(got) != len(want) {
		t.Fatalf("ParseStallLimits = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("lane %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if l, err := ParseStallLimits(" , "); err != nil || len(l) != 0 {
		t.Errorf("an empty list: %+v, %v", l, err)
	}
	for _, bad := range []string{
		"dhl",                 // no limit
		"=48h",                // no carrier
		"/express=48h",        // no carrier
		"dhl=0",               // a lane cannot be switched off with 0
		"dhl=-48h",            // negative
		"dhl=48",              // no unit
		"dhl=2 days",          // not a duration
		"dhl=48h@weekdays",    // unknown qualifier
		"dhl=48h, ups=soon",   // one bad entry spoils the list
		"dhl=48h,, ups=1d@bz", // likewise
	} {
		if l, err := ParseStallLimits(bad); err == nil {
			t.Errorf("ParseStallLimits(%q) = %+v, want an error", bad, l)
		}
	}
}

func TestStallForFirstMatchWins(t *testing.T) {
	lanes, err := ParseStallLimits("ups=24h, ups/express=12h, dhl/express=1d@business, DHL=48h, *=96h")
	if err != nil {
		t.Fatal(err)
	}
	cfg := DetectionConfig{Stall: lanes, DefaultStall: 72 * time.Hour}
	noWildcard := DetectionConfig{Stall: lanes[:4], DefaultStall: 72 * time.Hour}
	off := DetectionConfig{Stall: lanes[:4]}
	for _, tc := range []struct {
		name             string
		cfg              DetectionConfig
		carrier, service string
		limit            time.Duration
		business         bool
	}{
		{"carrier lane before its service lane", cfg, "ups", "express", 24 * time.Hour, false},
		{"carrier lane, any service", cfg, "ups", "ground", 24 * time.Hour, false},
		{"service lane", cfg, "dhl", "express", day, true},
		{"service lane, case does not matter", cfg, "DHL", "Express", day, true},
		{"carrier lane after a service lane that does not match", cfg, "dhl", "parcel", 48 * time.Hour, false},
		{"wildcard", cfg, "fedex", "", 96 * time.Hour, false},
		{"no lane: the default", noWildcard, "fedex", "ground", 72 * time.Hour, false},
		{"no lane and no default: off", off, "fedex", "ground", 0, false},
		{"nothing configured: the default", DefaultDetection(), "ups", "express", 72 * time.Hour, false},
	} {
		limit, business := tc.cfg.StallFor(tc.carrier, tc.service)
		if limit != tc.limit || business != tc.business {
			t.Errorf("%s: StallFor(%q, %q) = %v, %v; want %v, %v", tc.name, tc.carrier, tc.service, limit, business, tc.limit, tc.business)
		}
	}
}

func TestParseSettle(t *testing.T) {
	got, err := ParseSettle("carrier_exception=30m, stalled=2h,late=1d")
	if err != nil {
		t.Fatal(err)
	}
	want := map[Kind]time.Duration{KindCarrierException: 30 * time.Minute, KindStalled: 2 * time.Hour, KindLate: day}
	if len(got) != len(want) {
		t.Fatalf("ParseSettle = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("settle %s = %v, want %v", k, got[k], v)
		}
	}
	if m, err := ParseSettle(""); err != nil || len(m) != 0 {
		t.Errorf("empty: %v, %v", m, err)
	}
	if m, err := ParseSettle("late=0"); err != nil || m[KindLate] != 0 || len(m) != 1 {
		t.Errorf("late=0: %v, %v", m, err)
	}
	for _, bad := range []string{"late", "late=", "late=soon", "late=-1h", "teleported=1h", "=1h", "stalled=2h,misrouted"} {
		if m, err := ParseSettle(bad); err == nil {
			t.Errorf("ParseSettle(%q) = %v, want an error", bad, m)
		}
	}
}

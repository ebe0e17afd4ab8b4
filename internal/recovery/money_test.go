package recovery

import (
	"errors"
	"math"
	"testing"
)

func TestMoney(t *testing.T) {
	tests := []struct {
		m       Money
		pct     int64
		percent int64
		str     string
	}{
		{Money{8999, "EUR"}, 15, 1350, "89.99 EUR"},
		{Money{2000, "USD"}, 15, 300, "20.00 USD"},
		{Money{1, "EUR"}, 50, 1, "0.01 EUR"},
		{Money{999, "JPY"}, 10, 100, "999 JPY"},
		{Money{1250, "KWD"}, 0, 0, "1.250 KWD"},
		{Money{MaxMinor, "EUR"}, 100, MaxMinor, "1000000000000.00 EUR"},
	}
	for _, tt := range tests {
		if got, err := tt.m.Percent(tt.pct); err != nil || got.Minor != tt.percent {
			t.Errorf("%v.Percent(%d) = %d, %v; want %d", tt.m, tt.pct, got.Minor, err, tt.percent)
		}
		if got := tt.m.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
	}
	if got := (Money{-1250, "KWD"}).String(); got != "-1.250 KWD" {
		t.Errorf("negative String() = %q", got)
	}
	for code, want := range map[string]bool{"EUR": true, "JPY": true, "XCG": true, "eur": false, "EURO": false,
		"E1R": false, "": false, "ABC": false, "XAU": false, "XXX": false} {
		if ValidCurrency(code) != want {
			t.Errorf("ValidCurrency(%q) = %v", code, !want)
		}
	}
}

// Amounts beyond the engine's range, and percentages outside 0-100, are
// refused rather than wrapped around.
func TestMoneyArithmeticNeverOverflows(t *testing.T) {
	for _, tc := range []struct {
		m   int64
		pct int64
	}{{MaxMinor + 1, 15}, {math.MaxInt64, 15}, {math.MaxInt64 / 50, 100}, {-1, 10}, {8999, 101}, {8999, -5}} {
		if got, err := (Money{tc.m, "EUR"}).Percent(tc.pct); !errors.Is(err, ErrOverflow) {
			t.Errorf("%d%% of %d = %d, %v; want ErrOverflow", tc.pct, tc.m, got.Minor, err)
		}
	}
	if v, ok := MulPercent(math.MaxInt64/2, 10); ok {
		t.Errorf("MulPercent overflowed to %d", v)
	}
	if v, ok := MulPercent(8999, 10); !ok || v != 899 {
		t.Errorf("MulPercent(8999, 10) = %d, %v", v, ok)
	}
	for _, tc := range []struct {
		limit int64
		cur   string
		want  int64
	}{{100, "EUR", 10000}, {100, "JPY", 100}, {100, "KWD", 100000}, {-1, "EUR", math.MaxInt64},
		{math.MaxInt64 / 10, "KWD", math.MaxInt64}} {
		if got := (Approver{LimitMajor: tc.limit}).LimitMinor(tc.cur); got != tc.want {
			t.Errorf("limit %d %s = %d minor, want %d", tc.limit, tc.cur, got, tc.want)
		}
	}
}

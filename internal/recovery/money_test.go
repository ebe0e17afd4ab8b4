package recovery

import "testing"

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
		{Money{-1250, "KWD"}, 0, 0, "-1.250 KWD"},
	}
	for _, tt := range tests {
		if got := tt.m.Percent(tt.pct).Minor; got != tt.percent {
			t.Errorf("%v.Percent(%d) = %d, want %d", tt.m, tt.pct, got, tt.percent)
		}
		if got := tt.m.String(); got != tt.str {
			t.Errorf("String() = %q, want %q", got, tt.str)
		}
	}
	for code, want := range map[string]bool{"EUR": true, "eur": false, "EURO": false, "E1R": false, "": false} {
		if ValidCurrency(code) != want {
			t.Errorf("ValidCurrency(%q) = %v", code, !want)
		}
	}
}

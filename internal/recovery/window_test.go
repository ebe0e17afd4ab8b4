package recovery

import (
	"testing"
	"time"
)

func TestNextOpen(t *testing.T) {
	la, _ := time.LoadLocation("America/Los_Angeles")
	w, err := ParseWindow("08:00-21:00")
	if err != nil {
		t.Fatal(err)
	}
	at := func(day, h, m int) time.Time { return time.Date(2026, 11, day, h, m, 0, 0, la) }
	for _, tc := range []struct{ now, want time.Time }{
		{at(22, 23, 0), at(23, 8, 0)}, // late evening: tomorrow morning
		{at(22, 3, 30), at(22, 8, 0)}, // night: this morning
		{at(22, 8, 0), at(22, 8, 0)},  // opening minute: now
		{at(22, 20, 59), at(22, 20, 59)},
		{at(22, 21, 0), at(23, 8, 0)}, // closing minute: closed
	} {
		if got := w.NextOpen(tc.now.UTC(), la); !got.Equal(tc.want) {
			t.Errorf("NextOpen(%s) = %s, want %s", tc.now, got.In(la), tc.want)
		}
	}
	// Across the change to daylight saving time, 08:00 stays 08:00 local.
	ber, _ := time.LoadLocation("Europe/Berlin")
	got := w.NextOpen(time.Date(2027, 3, 27, 22, 0, 0, 0, ber), ber)
	if want := time.Date(2027, 3, 28, 8, 0, 0, 0, ber); !got.Equal(want) || got.UTC().Hour() != 6 {
		t.Errorf("across DST: %s, want %s (06:00 UTC)", got, want)
	}
	if (ContactWindow{}).NextOpen(at(22, 23, 0), la) != at(22, 23, 0) {
		t.Error("the zero window must always be open")
	}
	for _, bad := range []string{"", "8-21", "21:00-08:00", "08:00-25:00", "08:61-21:00"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

func TestRecipientZone(t *testing.T) {
	if z := RecipientZone(Customer{TimeZone: "Asia/Tokyo"}, Location{Country: "DE"}); z != "Asia/Tokyo" {
		t.Error(z)
	}
	if z := RecipientZone(Customer{TimeZone: "Mars/Base"}, Location{Country: "fr"}); z != "Europe/Paris" {
		t.Error(z)
	}
	if z := RecipientZone(Customer{}, Location{Country: "ZZ"}); z != "UTC" {
		t.Error(z)
	}
}

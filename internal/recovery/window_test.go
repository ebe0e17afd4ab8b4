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

func TestWindowSettingsFor(t *testing.T) {
	us, _ := ParseWindow("09:00-20:00")
	s := WindowSettings{ByCountry: map[string]ContactWindow{"US": us}}
	w := s.For("", Customer{}, Location{Country: "de"})
	if w.StartMin != 8*60 || w.EndMin != 21*60 || w.Zone != "Europe/Berlin" {
		t.Errorf("DE default = %+v", w)
	}
	w = s.For("", Customer{TimeZone: "America/Los_Angeles"}, Location{Country: "US"})
	if w.StartMin != 9*60 || w.Zone != "America/Los_Angeles" {
		t.Errorf("US = %+v", w)
	}
	w = s.For("10:00-18:00", Customer{}, Location{Country: "US"})
	if w.StartMin != 10*60 || w.EndMin != 18*60 || w.Zone != "America/New_York" {
		t.Errorf("rule = %+v", w)
	}
	// 23:00 in Berlin is closed; the next opening is 08:00 the next day.
	at := time.Date(2026, 11, 22, 22, 0, 0, 0, time.UTC) // 23:00 CET
	de := s.For("", Customer{}, Location{Country: "DE"})
	if de.Open(at) {
		t.Error("open at 23:00 Berlin")
	}
	if got, want := de.Next(at), time.Date(2026, 11, 23, 7, 0, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("Next = %v, want %v", got, want)
	}
	if m, err := ParseWindows("us=09:00-20:00, FR=09:00-19:00"); err != nil || len(m) != 2 || m["US"].EndMin != 20*60 {
		t.Errorf("ParseWindows = %v, %v", m, err)
	}
	for _, bad := range []string{"US", "USA=09:00-20:00", "US=9-20", "US=21:00-08:00"} {
		if _, err := ParseWindows(bad); err == nil {
			t.Errorf("ParseWindows(%q) accepted", bad)
		}
	}
}

package alerting

import (
	"testing"
	"time"
)

func mustWindow(t *testing.T, w Window) *Window {
	t.Helper()
	if err := w.compile(); err != nil {
		t.Fatal(err)
	}
	return &w
}

func at(t *testing.T, zone, s string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestWindow_Active(t *testing.T) {
	istanbul := Window{Name: "sat", Days: []string{"sat"}, Start: "02:00", End: "04:00",
		TimeZone: "Europe/Istanbul"}
	overnight := Window{Name: "night", Days: []string{"fri"}, Start: "22:00", End: "02:00",
		TimeZone: "America/New_York"}
	// Clocks in Berlin jump from 02:00 to 03:00 on 2026-03-29 and fall back
	// from 03:00 to 02:00 on 2026-10-25, both Sundays.
	berlin := Window{Name: "sunday", Days: []string{"sunday"}, Start: "01:00", End: "04:00",
		TimeZone: "Europe/Berlin"}
	allDay := Window{Name: "all", Start: "00:00", End: "24:00"}
	cases := []struct {
		name     string
		w        Window
		t        time.Time
		want     bool
		wantEnds time.Time
	}{
		{"inside, local zone", istanbul, at(t, "Europe/Istanbul", "2026-12-05 02:30"), true,
			at(t, "Europe/Istanbul", "2026-12-05 04:00")},
		{"same instant from UTC", istanbul, at(t, "UTC", "2026-12-04 23:30"), true,
			at(t, "Europe/Istanbul", "2026-12-05 04:00")},
		{"end is open", istanbul, at(t, "Europe/Istanbul", "2026-12-05 04:00"), false, time.Time{}},
		{"start is closed", istanbul, at(t, "Europe/Istanbul", "2026-12-05 02:00"), true,
			at(t, "Europe/Istanbul", "2026-12-05 04:00")},
		{"wrong day", istanbul, at(t, "Europe/Istanbul", "2026-12-06 02:30"), false, time.Time{}},
		{"overnight before midnight", overnight, at(t, "America/New_York", "2026-12-04 23:00"), true,
			at(t, "America/New_York", "2026-12-05 02:00")},
		{"overnight after midnight, next day", overnight, at(t, "America/New_York", "2026-12-05 01:59"), true,
			at(t, "America/New_York", "2026-12-05 02:00")},
		{"overnight on a day it does not open", overnight, at(t, "America/New_York", "2026-12-04 01:00"),
			false, time.Time{}},
		{"spring forward: after the gap", berlin, at(t, "Europe/Berlin", "2026-03-29 03:30"), true,
			at(t, "Europe/Berlin", "2026-03-29 04:00")},
		{"spring forward: two real hours", berlin, at(t, "UTC", "2026-03-29 00:00"), true,
			at(t, "UTC", "2026-03-29 02:00")},
		{"spring forward: over", berlin, at(t, "UTC", "2026-03-29 02:00"), false, time.Time{}},
		{"fall back: four real hours", berlin, at(t, "UTC", "2026-10-25 02:30"), true,
			at(t, "UTC", "2026-10-25 03:00")},
		{"every day, whole day", allDay, at(t, "UTC", "2026-12-09 23:59"), true,
			at(t, "UTC", "2026-12-10 00:00")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := mustWindow(t, c.w)
			got, ends := w.Active(c.t)
			if got != c.want || !ends.Equal(c.wantEnds) {
				t.Fatalf("Active(%s) = %v until %s, want %v until %s", c.t, got, ends, c.want, c.wantEnds)
			}
		})
	}
}

func TestWindow_CompileErrors(t *testing.T) {
	cases := []Window{
		{Start: "02:00", End: "04:00"},
		{Name: "x", Start: "2am", End: "04:00"},
		{Name: "x", Start: "02:00", End: "25:00"},
		{Name: "x", Start: "02:00", End: "04:00", Days: []string{"caturday"}},
		{Name: "x", Start: "02:00", End: "04:00", TimeZone: "Mars/Olympus"},
		{Name: "x", Start: "02:00", End: "04:00", Match: []string{"host"}},
	}
	for _, w := range cases {
		if err := w.compile(); err == nil {
			t.Errorf("window %+v accepted", w)
		}
	}
}

func TestWindow_Covers(t *testing.T) {
	w := mustWindow(t, Window{Name: "db", Start: "00:00", End: "24:00", Match: []string{"host=~db.*"}})
	now := at(t, "UTC", "2026-12-04 12:00")
	if ok, _ := w.Covers(map[string]string{"host": "db1"}, now); !ok {
		t.Fatal("db1 should be covered")
	}
	if ok, _ := w.Covers(map[string]string{"host": "web1"}, now); ok {
		t.Fatal("web1 should not be covered")
	}
}

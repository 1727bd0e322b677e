package alerting

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Window is a recurring maintenance window: on the listed days, from Start
// to End in TimeZone, alerts it matches are muted. A window whose End is not
// after its Start runs past midnight into the next day; Days name the day it
// starts.
type Window struct {
	// Name appears in `tend alerts` as the reason an alert was muted.
	Name string `yaml:"name"`
	// Days it opens on: mon, tue, wed, thu, fri, sat, sun (or full names).
	// Default: every day.
	Days []string `yaml:"days"`
	// Start and End are wall-clock times, "02:00" and "04:00"; End may be
	// "24:00". Required.
	Start string `yaml:"start"`
	End   string `yaml:"end"`
	// TimeZone is an IANA name such as Europe/Istanbul. Default: UTC.
	TimeZone string `yaml:"time_zone"`
	// Match narrows the window to alerts with these labels (key=value,
	// key!=value, key=~regex). Default: every alert.
	Match []string `yaml:"match"`

	days     [7]bool
	start    int // minutes after midnight
	end      int
	loc      *time.Location
	matchers Matchers
}

var dayNames = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// compile checks the window and prepares it; errors name the bad field.
func (w *Window) compile() error {
	if w.Name == "" {
		return fmt.Errorf("name: a window needs a name")
	}
	if len(w.Days) == 0 {
		w.days = [7]bool{true, true, true, true, true, true, true}
	}
	for _, d := range w.Days {
		key := strings.ToLower(strings.TrimSpace(d))
		if len(key) > 3 {
			key = key[:3]
		}
		wd, ok := dayNames[key]
		if !ok {
			return fmt.Errorf("days: unknown day %q: use mon, tue, wed, thu, fri, sat or sun", d)
		}
		w.days[wd] = true
	}
	var err error
	if w.start, err = clock(w.Start); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if w.end, err = clock(w.End); err != nil {
		return fmt.Errorf("end: %w", err)
	}
	if w.start == 24*60 {
		return fmt.Errorf("start: 24:00 is the end of a day; write 00:00")
	}
	w.loc = time.UTC
	if w.TimeZone != "" {
		if w.loc, err = time.LoadLocation(w.TimeZone); err != nil {
			return fmt.Errorf("time_zone: unknown zone %q (use an IANA name such as Europe/Istanbul)",
				w.TimeZone)
		}
	}
	if w.matchers, err = ParseMatchers(w.Match...); err != nil {
		return fmt.Errorf("match: %w", err)
	}
	return nil
}

// clock reads "HH:MM" as minutes after midnight.
func clock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("bad time %q: write HH:MM, 00:00 to 24:00", s)
	}
	return hh*60 + mm, nil
}

// Active reports whether t falls inside the window, and if so when this
// opening ends. Times are read on the wall clock of the window's zone, so a
// window from 01:00 to 04:00 on the night clocks go forward lasts two hours.
func (w *Window) Active(t time.Time) (bool, time.Time) {
	local := t.In(w.loc)
	// An opening that began yesterday may still run past midnight.
	for _, back := range []int{0, 1} {
		y, m, d := local.AddDate(0, 0, -back).Date()
		day := time.Date(y, m, d, 12, 0, 0, 0, w.loc).Weekday()
		if !w.days[day] {
			continue
		}
		from := wallTime(y, m, d, w.start, w.loc)
		endDay := d
		if w.end <= w.start {
			endDay++
		}
		to := wallTime(y, m, endDay, w.end, w.loc)
		if !t.Before(from) && t.Before(to) {
			return true, to
		}
	}
	return false, time.Time{}
}

func wallTime(y int, m time.Month, d, minutes int, loc *time.Location) time.Time {
	return time.Date(y, m, d, minutes/60, minutes%60, 0, 0, loc)
}

// Covers reports whether the window mutes an alert with these labels at t.
func (w *Window) Covers(labels map[string]string, t time.Time) (bool, time.Time) {
	if !w.matchers.Matches(labels) {
		return false, time.Time{}
	}
	return w.Active(t)
}

package tasks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Schedule is when automatic runs start: a 5-field cron expression (minute,
// hour, day of month, month, day of week; *, lists, ranges and steps) in the
// local time zone, or a fixed interval. The zero Schedule never fires.
type Schedule struct {
	// Cron is the expression as written, or "".
	Cron string
	// Every is the interval, or 0.
	Every time.Duration
	// Tasks are the tasks a scheduled run takes; empty means all.
	Tasks []string

	fields [5]uint64 // bit i set when value i matches
	domAll bool      // day of month was *
	dowAll bool      // day of week was *
}

// IsZero reports whether the schedule never fires.
func (s Schedule) IsZero() bool { return s.Cron == "" && s.Every == 0 }

// ParseSchedule builds a schedule from a cron expression or an interval
// (exactly one), and the tasks it runs. It returns an error naming the bad
// field.
func ParseSchedule(cron string, every time.Duration, tasks []string) (Schedule, error) {
	s := Schedule{Cron: strings.TrimSpace(cron), Every: every, Tasks: tasks}
	if s.Cron != "" && every != 0 {
		return Schedule{}, errors.New("give a cron expression or an interval, not both")
	}
	if every != 0 {
		if every < time.Minute {
			return Schedule{}, fmt.Errorf("interval %s is shorter than a minute", every)
		}
		return s, nil
	}
	if s.Cron == "" {
		return Schedule{}, nil
	}
	parts := strings.Fields(s.Cron)
	if len(parts) != 5 {
		return Schedule{}, fmt.Errorf("cron %q: want 5 fields (minute hour day month weekday)", s.Cron)
	}
	bounds := [5][2]int{{0, 59}, {0, 23}, {1, 31}, {1, 12}, {0, 7}}
	names := [5]string{"minute", "hour", "day of month", "month", "day of week"}
	for i, p := range parts {
		bits, err := parseField(p, bounds[i][0], bounds[i][1])
		if err != nil {
			return Schedule{}, fmt.Errorf("cron %q: %s: %w", s.Cron, names[i], err)
		}
		s.fields[i] = bits
	}
	if s.fields[4]&(1<<7) != 0 { // 7 is Sunday too
		s.fields[4] |= 1
	}
	s.domAll = parts[2] == "*"
	s.dowAll = parts[4] == "*"
	return s, nil
}

func parseField(f string, lo, hi int) (uint64, error) {
	var bits uint64
	for _, item := range strings.Split(f, ",") {
		rng, stepText, hasStep := strings.Cut(item, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("bad step %q", stepText)
			}
			step = n
		}
		from, to := lo, hi
		if rng != "*" {
			a, b, isRange := strings.Cut(rng, "-")
			x, err := strconv.Atoi(a)
			if err != nil {
				return 0, fmt.Errorf("bad value %q", a)
			}
			from, to = x, x
			if isRange {
				y, err := strconv.Atoi(b)
				if err != nil {
					return 0, fmt.Errorf("bad value %q", b)
				}
				to = y
			} else if hasStep {
				to = hi
			}
		}
		if from < lo || to > hi || from > to {
			return 0, fmt.Errorf("%q is outside %d-%d", item, lo, hi)
		}
		for v := from; v <= to; v += step {
			bits |= 1 << uint(v)
		}
	}
	return bits, nil
}

// Next returns the first firing time after t, or the zero time for a zero
// schedule (or a cron that matches no date, such as 31 February).
func (s Schedule) Next(t time.Time) time.Time {
	if s.Every > 0 {
		return t.Add(s.Every)
	}
	if s.Cron == "" {
		return time.Time{}
	}
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	for t.Before(limit) {
		switch {
		case !has(s.fields[3], int(t.Month())):
			t = time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, t.Location())
		case !s.dayMatches(t):
			t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, t.Location())
		case !has(s.fields[1], t.Hour()):
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, t.Location())
		case !has(s.fields[0], t.Minute()):
			t = t.Add(time.Minute)
		default:
			return t
		}
	}
	return time.Time{}
}

// dayMatches follows cron: when both day fields are restricted, either may
// match.
func (s Schedule) dayMatches(t time.Time) bool {
	dom := has(s.fields[2], t.Day())
	dow := has(s.fields[4], int(t.Weekday()))
	switch {
	case s.domAll && s.dowAll:
		return true
	case s.domAll:
		return dow
	case s.dowAll:
		return dom
	}
	return dom || dow
}

func has(bits uint64, v int) bool { return bits&(1<<uint(v)) != 0 }

package report

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
)

func TestCronNext(t *testing.T) {
	at := func(s string) time.Time {
		t, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			panic(err)
		}
		return t
	}
	// 2026-03-01 is a Sunday, 2026-03-07 a Saturday.
	tests := []struct {
		expr, from, want string
	}{
		{"0 8 * * *", "2026-03-01 07:59", "2026-03-01 08:00"},
		{"0 8 * * *", "2026-03-01 08:00", "2026-03-02 08:00"},
		{"*/15 * * * *", "2026-03-01 10:07", "2026-03-01 10:15"},
		{"0 9 * * 1-5", "2026-03-07 10:00", "2026-03-09 09:00"},
		{"30 6 1 * 0", "2026-03-02 00:00", "2026-03-08 06:30"}, // the 1st or a Sunday
		{"0 0 * * 7", "2026-03-02 00:00", "2026-03-08 00:00"},  // 7 is Sunday too
		{"5,35 1-3/2 * 12 *", "2026-03-01 00:00", "2026-12-01 01:05"},
		{"0 0 29 2 *", "2026-03-01 00:00", "2028-02-29 00:00"},
		{"0 0 30 2 *", "2026-03-01 00:00", ""},
	}
	for _, tc := range tests {
		t.Run(tc.expr+" after "+tc.from, func(t *testing.T) {
			c, err := parseCron(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			got := c.next(at(tc.from))
			if tc.want == "" {
				if !got.IsZero() {
					t.Errorf("next = %v, want never", got)
				}
				return
			}
			if !got.Equal(at(tc.want)) {
				t.Errorf("next = %v, want %s", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"61 * * * *", "* * *", "a * * * *", "*/0 * * * *", "5-3 * * * *", "* * 0 * *"} {
		if _, err := parseCron(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestDecodeSchedules(t *testing.T) {
	cfg, err := config.Parse("tend.yaml", []byte(`reports:
  - name: daily
    cron: "0 8 * * *"
    timezone: Europe/Berlin
    limits: {host.disk.used_percent: 95}
  - name: weekly
    every: 7d
`))
	if err != nil {
		t.Fatal(err)
	}
	ss, err := DecodeSchedules(cfg.Reports)
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) != 2 || ss[0].Since.D() != 24*time.Hour || ss[1].Since.D() != 7*24*time.Hour {
		t.Fatalf("schedules = %+v", ss)
	}
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	// 08:00 in Berlin is 07:00 UTC in winter.
	if got := ss[0].Next(from); !got.Equal(time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC)) {
		t.Errorf("daily next = %v", got)
	}
	if got := ss[1].Next(from); !got.Equal(time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)) {
		// Multiples of 7 days from year 1 fall on Mondays.
		t.Errorf("weekly next = %v", got)
	}
	in := ss[0].Input(from)
	if in.Name != "daily" || !in.Since.Equal(from.Add(-24*time.Hour)) ||
		in.Limits["host.disk.used_percent"] != 95 || in.Title != "tend daily report" {
		t.Errorf("input = %+v", in)
	}

	for yaml, want := range map[string]string{
		"reports:\n  - {name: a, every: 1h, cron: '* * * * *'}\n":        "one of every or cron",
		"reports:\n  - {name: a}\n":                                      "one of every or cron",
		"reports:\n  - {every: 1h}\n":                                    "needs a name",
		"reports:\n  - {name: a, cron: '* *'}\n":                         "5 fields",
		"reports:\n  - {name: a, every: 1h}\n  - {name: a, every: 2h}\n": "named twice",
		"reports:\n  - {name: a, every: 1h, colour: red}\n":              "colour",
	} {
		cfg, err := config.Parse("tend.yaml", []byte(yaml))
		if err == nil {
			_, err = DecodeSchedules(cfg.Reports)
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", yaml, err, want)
		}
	}
	if ss, err := DecodeSchedules(config.Node{}); err != nil || len(ss) != 0 {
		t.Errorf("no section: %v %v", ss, err)
	}
}

func TestSchedulerRun(t *testing.T) {
	hourly, _ := NewSchedule(Spec{Name: "hourly", Every: config.Duration(time.Hour)})
	half, _ := NewSchedule(Spec{Name: "half", Cron: "30 * * * *"})
	clock := time.Date(2026, 3, 1, 10, 10, 0, 0, time.UTC)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	var fired []string
	sc := &Scheduler{
		Schedules: []Schedule{hourly, half},
		Now:       func() time.Time { return clock },
		// The fake clock jumps to the deadline at once.
		After: func(d time.Duration) <-chan time.Time {
			clock = clock.Add(d)
			ch := make(chan time.Time, 1)
			ch <- clock
			return ch
		},
		Fire: func(_ context.Context, s Schedule, at time.Time) error {
			fired = append(fired, s.Name+"@"+at.Format("15:04"))
			if len(fired) == 4 {
				cancel()
			}
			if s.Name == "half" {
				return fmt.Errorf("no route")
			}
			return nil
		},
	}
	if err := sc.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(fired, " "); got != "half@10:30 hourly@11:00 half@11:30 hourly@12:00" {
		t.Errorf("fired %s", got)
	}
}

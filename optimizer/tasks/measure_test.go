package tasks_test

import (
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/tasks"
)

func TestSummarize(t *testing.T) {
	tests := []struct {
		name string
		in   []float64
		want events.Stats
	}{
		{"none", nil, events.Stats{}},
		{"constant", []float64{5, 5, 5}, events.Stats{N: 3, Median: 5, Min: 5, Max: 5}},
		{"odd", []float64{3, 1, 10}, events.Stats{N: 3, Median: 3, Min: 1, Max: 10, Spread: 2}},
		{"even", []float64{1, 2, 3, 4}, events.Stats{N: 4, Median: 2.5, Min: 1, Max: 4, Spread: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tasks.Summarize(tt.in); got != tt.want {
				t.Errorf("Summarize(%v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	st := func(xs ...float64) events.Stats { return tasks.Summarize(xs) }
	tests := []struct {
		name          string
		before, after events.Stats
		lower         bool
		want          string
	}{
		{"exact drop", st(100, 100, 100), st(0, 0, 0), true, tasks.Improved},
		{"exact rise, higher better", st(1, 1, 1), st(2, 2, 2), false, tasks.Improved},
		{"exact rise, lower better", st(1, 1, 1), st(2, 2, 2), true, tasks.Worse},
		{"same", st(7, 7, 7), st(7, 7, 7), true, tasks.NoChange},
		{"within spread", st(10, 12, 14), st(11, 11.5, 12), true, tasks.NoChange},
		{"inside before range", st(5, 10, 30), st(6, 6.2, 6.4), true, tasks.NoChange},
		{"clear drop with noise", st(50, 52, 55), st(5, 6, 7), true, tasks.Improved},
		{"no samples", events.Stats{}, st(1, 1, 1), true, tasks.NotMeasured},
		{"under 1%", st(1000, 1000, 1000), st(995, 995, 995), true, tasks.NoChange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tasks.Compare(tt.before, tt.after, tt.lower); got != tt.want {
				t.Errorf("Compare(%+v, %+v) = %q, want %q", tt.before, tt.after, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{10, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	if got := tasks.Percentile(xs, 50); got != 5 {
		t.Errorf("p50 = %v, want 5", got)
	}
	if got := tasks.Percentile(xs, 95); got != 10 {
		t.Errorf("p95 = %v, want 10", got)
	}
}

func TestParseLevel(t *testing.T) {
	for i, name := range []string{"low", "Medium", "HIGH", "aggressive"} {
		l, err := tasks.ParseLevel(name)
		if err != nil || int(l) != i {
			t.Errorf("ParseLevel(%q) = %v, %v; want %d", name, l, err, i)
		}
	}
	if _, err := tasks.ParseLevel("max"); err == nil {
		t.Error("ParseLevel(max): want an error")
	}
}

func TestSchedule_Next(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		cron string
		from string
		want string
	}{
		{"0 3 * * *", "2026-12-04 16:00", "2026-12-05 03:00"},
		{"*/15 * * * *", "2026-12-04 16:01", "2026-12-04 16:15"},
		{"30 9 * * 1-5", "2026-12-04 10:00", "2026-12-07 09:30"}, // Friday → Monday
		{"0 0 1 1 *", "2026-12-04 10:00", "2027-01-01 00:00"},
		{"0 12 * * 7", "2026-12-04 10:00", "2026-12-06 12:00"}, // 7 is Sunday
		{"0 0 31 2 *", "2026-12-04 10:00", ""},
	}
	for _, tt := range tests {
		s, err := tasks.ParseSchedule(tt.cron, 0, nil)
		if err != nil {
			t.Fatalf("ParseSchedule(%q): %v", tt.cron, err)
		}
		got := s.Next(at(tt.from))
		if tt.want == "" {
			if !got.IsZero() {
				t.Errorf("%q from %s = %v, want never", tt.cron, tt.from, got)
			}
			continue
		}
		if !got.Equal(at(tt.want)) {
			t.Errorf("%q from %s = %v, want %s", tt.cron, tt.from, got, tt.want)
		}
	}
	for _, bad := range []string{"* * * *", "60 * * * *", "*/0 * * * *", "a * * * *", "5-1 * * * *"} {
		if _, err := tasks.ParseSchedule(bad, 0, nil); err == nil {
			t.Errorf("ParseSchedule(%q): want an error", bad)
		}
	}
	every, err := tasks.ParseSchedule("", 6*time.Hour, nil)
	if err != nil || !every.Next(at("2026-12-04 10:00")).Equal(at("2026-12-04 16:00")) {
		t.Errorf("every 6h: %v, %v", every, err)
	}
}

func TestSummary(t *testing.T) {
	res := events.TaskResult{
		Task: "database",
		Steps: []events.Step{
			{Name: "VACUUM (ANALYZE)", Target: "table public.a", Done: true},
			{Name: "VACUUM (ANALYZE)", Target: "table public.b", Done: true},
			{Name: "VACUUM (ANALYZE)", Target: "table public.c", Done: true},
			{Name: "REINDEX INDEX CONCURRENTLY", Target: "index public.a_pkey", Skipped: "disruptive"},
		},
		Measures: []events.Measurement{{
			Name: "dead tuples", Unit: "rows", Before: events.Stats{N: 3, Median: 120412},
			After: events.Stats{N: 3}, Verdict: tasks.Improved, LowerIsBetter: true,
		}},
		Verdict: tasks.Improved,
	}
	want := "database: VACUUM (ANALYZE) on 3 tables, dead tuples 120,412 → 0 rows; improved"
	if got := tasks.Summary(res); got != want {
		t.Errorf("Summary = %q\nwant      %q", got, want)
	}
	failed := tasks.Summary(events.TaskResult{Task: "cache", Verdict: tasks.Failed, Error: "dial: refused"})
	if !strings.Contains(failed, "failed: dial: refused") {
		t.Errorf("Summary of a failure = %q", failed)
	}
}

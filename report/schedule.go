package report

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tend-dev/tend/config"
)

// Spec is one scheduled report in the `reports:` section:
//
//	reports:
//	  - name: daily
//	    cron: "0 8 * * *"     # or every: 24h
//	    since: 24h
//	    limits: {host.disk.used_percent: 95}
//
// The report is built and handed to the router as a report event, which
// routes send on like any other event.
type Spec struct {
	Name  string `yaml:"name"`
	Title string `yaml:"title"`
	// Every runs the report at each multiple of this duration, counted in
	// UTC from the start of year 1: every: 24h runs at midnight UTC,
	// every: 7d on Mondays at midnight. Exclusive with Cron.
	Every config.Duration `yaml:"every"`
	// Cron runs the report on a five-field cron expression.
	Cron string `yaml:"cron"`
	// Timezone reads Cron in an IANA zone. Default UTC.
	Timezone string `yaml:"timezone"`
	// Since is the period covered, ending at the run. Default: Every, or
	// 24h for a cron schedule.
	Since   config.Duration    `yaml:"since"`
	Metrics []string           `yaml:"metrics"`
	Limits  map[string]float64 `yaml:"limits"`
}

// Schedule is a checked [Spec].
type Schedule struct {
	Spec
	cron *cronExpr
	loc  *time.Location
}

// DecodeSchedules reads the `reports:` section, a list of [Spec]. Errors name
// the file and line, or the report.
func DecodeSchedules(n config.Node) ([]Schedule, error) {
	var specs []Spec
	if n.Node != nil {
		if err := n.Decode(&specs); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	out := make([]Schedule, 0, len(specs))
	for i, sp := range specs {
		s, err := NewSchedule(sp)
		if err != nil {
			return nil, fmt.Errorf("%s[%d]: %w", n.Path, i, err)
		}
		if seen[sp.Name] {
			return nil, fmt.Errorf("%s[%d]: report %q is named twice", n.Path, i, sp.Name)
		}
		seen[sp.Name] = true
		out = append(out, s)
	}
	return out, nil
}

// NewSchedule checks sp: a name, and exactly one of every and cron.
func NewSchedule(sp Spec) (Schedule, error) {
	s := Schedule{Spec: sp, loc: time.UTC}
	switch {
	case sp.Name == "":
		return s, fmt.Errorf("report needs a name")
	case (sp.Every > 0) == (sp.Cron != ""):
		return s, fmt.Errorf("report %s: give one of every or cron", sp.Name)
	case sp.Every > 0 && sp.Every.D() < time.Minute:
		return s, fmt.Errorf("report %s: every %s is shorter than a minute", sp.Name, sp.Every)
	}
	if sp.Timezone != "" {
		loc, err := time.LoadLocation(sp.Timezone)
		if err != nil {
			return s, fmt.Errorf("report %s: timezone: %w", sp.Name, err)
		}
		s.loc = loc
	}
	if sp.Cron != "" {
		c, err := parseCron(sp.Cron)
		if err != nil {
			return s, fmt.Errorf("report %s: %w", sp.Name, err)
		}
		s.cron = c
	}
	if s.Since == 0 {
		s.Since = s.Every
		if s.Since == 0 {
			s.Since = config.Duration(24 * time.Hour)
		}
	}
	return s, nil
}

// Next returns the first run strictly after t; the zero time if the cron
// expression never matches.
func (s Schedule) Next(t time.Time) time.Time {
	if s.cron != nil {
		return s.cron.next(t.In(s.loc)).UTC()
	}
	every := s.Every.D()
	return t.UTC().Truncate(every).Add(every)
}

// Input returns the report input of a run at t: the period [t − Since, t),
// the schedule's name, title, metrics and limits. The caller adds alerts,
// runs and integration health.
func (s Schedule) Input(t time.Time) Input {
	title := s.Title
	if title == "" {
		title = "tend " + s.Name + " report"
	}
	return Input{
		Name: s.Name, Title: title, Since: t.Add(-s.Since.D()), Until: t,
		Metrics: s.Metrics, Limits: s.Limits,
	}
}

// Scheduler runs reports on their schedules. Run calls Fire for each due
// run, one at a time.
type Scheduler struct {
	Schedules []Schedule
	// Fire builds and sends the report of s for a run at t. Its error is
	// logged; the schedule goes on.
	Fire func(ctx context.Context, s Schedule, t time.Time) error
	Log  *slog.Logger
	// Now and After are the clock, replaced in tests. Defaults time.Now
	// and time.After.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// Run waits for each next run and fires it, until ctx ends; it returns nil
// then. A run missed while tend was down is not made up.
func (sc *Scheduler) Run(ctx context.Context) error {
	now, after, log := sc.Now, sc.After, sc.Log
	if now == nil {
		now = time.Now
	}
	if after == nil {
		after = time.After
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if len(sc.Schedules) == 0 {
		<-ctx.Done()
		return nil
	}
	next := make([]time.Time, len(sc.Schedules))
	for i, s := range sc.Schedules {
		next[i] = s.Next(now())
	}
	for ctx.Err() == nil {
		soonest := -1
		for i, t := range next {
			if !t.IsZero() && (soonest < 0 || t.Before(next[soonest])) {
				soonest = i
			}
		}
		if soonest < 0 {
			<-ctx.Done()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-after(max(next[soonest].Sub(now()), 0)):
		}
		s, at := sc.Schedules[soonest], next[soonest]
		if err := sc.Fire(ctx, s, at); err != nil && ctx.Err() == nil {
			log.Error("scheduled report failed", "report", s.Name, "error", err)
		} else if err == nil {
			log.Info("scheduled report sent", "report", s.Name, "at", at)
		}
		next[soonest] = s.Next(at)
	}
	return nil
}

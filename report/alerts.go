package report

import (
	"sort"
	"time"

	"github.com/tend-dev/tend/events"
)

// AlertReport sums up the alerts of the period. An incident is one firing
// of one fingerprint, from its start to its resolution.
type AlertReport struct {
	// Incidents counts incidents firing at any time in the period; Started
	// those that began in it.
	Incidents   int `json:"incidents"`
	Started     int `json:"started"`
	Resolved    int `json:"resolved"`
	StillFiring int `json:"still_firing"`
	// TimeFiring adds up the time each incident fired within the period.
	TimeFiring Duration `json:"time_firing"`
	// MTTR is the mean time from start to resolution of the incidents
	// resolved in the period; nil when none was.
	MTTR   *Duration    `json:"mttr"`
	ByRule []RuleAlerts `json:"by_rule"`
}

// RuleAlerts is one rule's share of the alerts.
type RuleAlerts struct {
	Rule       string    `json:"rule"`
	Severity   string    `json:"severity,omitempty"`
	Incidents  int       `json:"incidents"`
	Resolved   int       `json:"resolved"`
	TimeFiring Duration  `json:"time_firing"`
	MTTR       *Duration `json:"mttr"`
	// MedianDuration is the median length of the resolved incidents.
	MedianDuration *Duration `json:"median_duration"`
}

type incident struct {
	rule, severity string
	start          time.Time
	end            *time.Time
}

func summariseAlerts(alerts []events.Alert, since, until time.Time) AlertReport {
	// One incident per fingerprint and start; a resolution closes it.
	type key struct {
		fp    string
		start int64
	}
	incs := map[key]*incident{}
	var add func(a events.Alert)
	add = func(a events.Alert) {
		if len(a.Alerts) > 0 {
			for _, m := range a.Alerts {
				add(m)
			}
			return
		}
		k := key{a.Fingerprint, a.StartsAt.UnixNano()}
		in := incs[k]
		if in == nil {
			in = &incident{rule: a.Rule, severity: a.Severity, start: a.StartsAt}
			incs[k] = in
		}
		if a.Status == events.StatusResolved && a.EndsAt != nil {
			end := *a.EndsAt
			in.end = &end
		}
	}
	for _, a := range alerts {
		add(a)
	}

	rep := AlertReport{}
	rules := map[string]*ruleAcc{}
	var total time.Duration
	var resolvedFor []time.Duration
	for _, in := range incs {
		end := until
		if in.end != nil && in.end.Before(until) {
			end = *in.end
		}
		if !end.After(since) || !in.start.Before(until) {
			continue
		}
		firing := end.Sub(maxTime(in.start, since))
		rep.Incidents++
		total += firing
		ra := rules[in.rule]
		if ra == nil {
			ra = &ruleAcc{RuleAlerts: RuleAlerts{Rule: in.rule, Severity: in.severity}}
			rules[in.rule] = ra
		}
		ra.Incidents++
		ra.firing += firing
		if !in.start.Before(since) {
			rep.Started++
		}
		if in.end != nil && !in.end.After(until) {
			d := in.end.Sub(in.start)
			rep.Resolved++
			resolvedFor = append(resolvedFor, d)
			ra.Resolved++
			ra.durations = append(ra.durations, d)
		} else {
			rep.StillFiring++
		}
	}
	rep.TimeFiring = Duration(total)
	rep.MTTR = mean(resolvedFor)
	for _, ra := range rules {
		ra.TimeFiring = Duration(ra.firing)
		ra.MTTR = mean(ra.durations)
		ra.MedianDuration = median(ra.durations)
		rep.ByRule = append(rep.ByRule, ra.RuleAlerts)
	}
	sort.Slice(rep.ByRule, func(i, j int) bool {
		a, b := rep.ByRule[i], rep.ByRule[j]
		if a.TimeFiring != b.TimeFiring {
			return a.TimeFiring > b.TimeFiring
		}
		return a.Rule < b.Rule
	})
	return rep
}

type ruleAcc struct {
	RuleAlerts
	firing    time.Duration
	durations []time.Duration
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func mean(ds []time.Duration) *Duration {
	if len(ds) == 0 {
		return nil
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	m := Duration(sum / time.Duration(len(ds)))
	return &m
}

func median(ds []time.Duration) *Duration {
	if len(ds) == 0 {
		return nil
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	d := Duration(m)
	return &d
}

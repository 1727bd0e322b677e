package router

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Matches reports whether ev passes m: its type is one of m.Type (or under
// one), its severity one of m.Severity, and it carries every label of
// m.Labels. Only alerts have severity and labels; other events match a
// route that asks for none.
func Matches(m config.Match, ev events.Event, a *events.Alert) bool {
	if len(m.Type) > 0 && !slices.ContainsFunc(m.Type, ev.MatchesType) {
		return false
	}
	if len(m.Severity) == 0 && len(m.Labels) == 0 {
		return true
	}
	if a == nil {
		return false
	}
	if len(m.Severity) > 0 && !slices.Contains(m.Severity, a.Severity) {
		return false
	}
	for k, v := range m.Labels {
		if a.Labels[k] != v {
			return false
		}
	}
	return true
}

// filterSubjects returns the subjects an integration's consumer listens
// to: what its routes may match, plus its own test and replay subjects.
// Overlapping filters are merged, since JetStream refuses them.
func filterSubjects(name string, routes []config.Route) []string {
	var subs []string
	for i, r := range routes {
		if !slices.Contains(r.To, name) {
			continue
		}
		// With an alerting stage, the route's notifications carry its
		// alerts; without one, the raw alert events do.
		if TakesAlerts(r.Match) {
			subs = append(subs, fmt.Sprintf("%s.%d.>", events.SubjectNotify, i))
		}
		if len(r.Match.Type) == 0 {
			subs = append(subs, events.SubjectAlerts+".>", events.SubjectOptimization+".>",
				events.SubjectTrigger+".>", events.SubjectReport+".>")
			continue
		}
		for _, t := range r.Match.Type {
			subs = append(subs, typeSubject(t))
		}
	}
	subs = append(subs,
		events.SubjectTest+"."+events.Token(name),
		events.SubjectReplay+"."+events.Token(name))
	return mergeFilters(subs)
}

// typeSubject maps a route type ("alert", "alert.firing",
// "dev.tend.optimization.completed") to the subject filter carrying it.
func typeSubject(t string) string {
	kind := strings.TrimPrefix(t, events.TypePrefix)
	return "tend." + kind + ".>"
}

// mergeFilters drops duplicates and filters covered by a wider one.
func mergeFilters(subs []string) []string {
	slices.Sort(subs)
	subs = slices.Compact(subs)
	var out []string
	for _, s := range subs {
		covered := false
		for _, o := range subs {
			if o != s && strings.HasSuffix(o, ".>") && strings.HasPrefix(s, strings.TrimSuffix(o, ">")) {
				covered = true
				break
			}
		}
		if !covered {
			out = append(out, s)
		}
	}
	return out
}

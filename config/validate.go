package config

import (
	"fmt"
	"regexp"
	"strings"
	"text/template"
)

var nameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// validate checks what the schema alone cannot: required keys, names,
// references between sections and templates.
func (c *Config) validate() Errors {
	var errs Errors
	at := func(line int, key, format string, args ...any) {
		errs = append(errs, &Error{File: c.File, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	sources := map[string]bool{}
	for i, s := range c.Collector.Sources {
		key := fmt.Sprintf("collector.sources[%d].name", i)
		line := s.Settings.Line()
		switch {
		case s.Name == "":
			at(line, key, "every source needs a name")
		case !nameRe.MatchString(s.Name) || strings.Contains(s.Name, "."):
			at(line, key, "%q: use letters, digits, _ and -", s.Name)
		case sources[s.Name]:
			at(line, key, "source %q is defined twice", s.Name)
		}
		sources[s.Name] = true
	}

	rules := map[string]bool{}
	for i, r := range c.Rules {
		key := fmt.Sprintf("rules[%d]", i)
		if r.Name == "" || !nameRe.MatchString(r.Name) {
			at(r.line, key+".name", "every rule needs a name of letters, digits, _ and -")
		}
		if rules[r.Name] {
			at(r.line, key+".name", "rule %q is defined twice: alerts are told apart by rule name", r.Name)
		}
		rules[r.Name] = true
		if r.Metric == "" {
			at(r.line, key+".metric", "every rule needs a metric, e.g. host.cpu.percent")
		}
		switch r.Kind {
		case "", "threshold":
			if (r.Above == nil) == (r.Below == nil) {
				at(r.line, key, "a threshold rule needs exactly one of above or below")
			}
			if r.Clear != nil && r.Above != nil && *r.Clear > *r.Above {
				at(r.line, key+".clear", "clear (%v) must not be above the threshold (%v)", *r.Clear, *r.Above)
			}
			if r.Clear != nil && r.Below != nil && *r.Clear < *r.Below {
				at(r.line, key+".clear", "clear (%v) must not be below the threshold (%v)", *r.Clear, *r.Below)
			}
		case "trend", "anomaly", "forecast":
		default:
			at(r.line, key+".kind", "unknown rule kind %q: use threshold, trend, anomaly or forecast", r.Kind)
		}
		if !knownSeverity[r.Severity] {
			at(r.line, key+".severity", "unknown severity %q: use info, warning, error or critical", r.Severity)
		}
		if r.Summary != "" {
			if _, err := template.New("summary").Parse(r.Summary); err != nil {
				at(r.line, key+".summary", "bad template: %v", err)
			}
		}
	}

	names := map[string]bool{}
	for i, in := range c.Integrations {
		key := fmt.Sprintf("integrations[%d]", i)
		line := in.Settings.Line()
		switch {
		case in.Name == "":
			at(line, key+".name", "every integration needs a name")
		case !nameRe.MatchString(in.Name):
			at(line, key+".name", "%q: use letters, digits, _ and -", in.Name)
		case names[in.Name]:
			at(line, key+".name", "integration %q is defined twice", in.Name)
		}
		names[in.Name] = true
		if in.Type == "" {
			at(line, key+".type", "every integration needs a type, e.g. webhook, slack or file")
		}
		if in.Retry.Multiplier < 1 {
			at(line, key+".retry.multiplier", "must be at least 1")
		}
		if in.Retry.Jitter < 0 || in.Retry.Jitter > 1 {
			at(line, key+".retry.jitter", "must be between 0 and 1")
		}
		if in.MaxInFlight < 1 {
			at(line, key+".max_in_flight", "must be at least 1")
		}
	}

	for i, r := range c.Routes {
		key := fmt.Sprintf("routes[%d]", i)
		for j, t := range r.Match.Type {
			if !knownType(t) {
				at(r.line, fmt.Sprintf("%s.match.type[%d]", key, j),
					"unknown event type %q: use alert, alert.firing, alert.resolved, optimization, "+
						"optimization.completed, trigger, report, or one under them", t)
			}
		}
		for j, sev := range r.Match.Severity {
			if !knownSeverity[sev] {
				at(r.line, fmt.Sprintf("%s.match.severity[%d]", key, j),
					"unknown severity %q: use info, warning, error or critical", sev)
			}
		}
		if len(r.To) == 0 {
			at(r.line, key+".to", "a route needs at least one integration in to")
		}
		for j, name := range r.To {
			if !names[name] {
				at(r.line, fmt.Sprintf("%s.to[%d]", key, j),
					"unknown integration %q; defined: %s", name, strings.Join(sortedKeys(names), ", "))
			}
		}
	}
	return errs
}

var knownSeverity = map[string]bool{"info": true, "warning": true, "error": true, "critical": true, "page": true}

// eventKinds are the event types a route can match, without "dev.tend.".
var eventKinds = []string{
	"alert", "alert.firing", "alert.resolved",
	"optimization", "optimization.requested", "optimization.started",
	"optimization.completed", "optimization.failed",
	"trigger", "trigger.github", "trigger.slack", "report", "test",
}

func knownType(t string) bool {
	t = strings.TrimPrefix(t, "dev.tend.")
	for _, k := range eventKinds {
		if t == k || strings.HasPrefix(t, k+".") {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	if len(out) == 0 {
		return []string{"(none)"}
	}
	sortStrings(out)
	return out
}

package alerting

import "fmt"

// InhibitRule mutes target alerts while a source alert fires: host_down on
// a host silences every disk alert of that host.
type InhibitRule struct {
	// Source selects the alerts that inhibit (key=value, key!=value,
	// key=~regex). Required.
	Source []string `yaml:"source"`
	// Target selects the alerts that are muted. Required.
	Target []string `yaml:"target"`
	// Equal lists labels source and target must share, e.g. [host].
	// Default: none, so any firing source mutes every target.
	Equal []string `yaml:"equal"`

	source, target Matchers
}

func (r *InhibitRule) compile() error {
	var err error
	if len(r.Source) == 0 {
		return fmt.Errorf("source: an inhibition rule needs source matchers")
	}
	if len(r.Target) == 0 {
		return fmt.Errorf("target: an inhibition rule needs target matchers")
	}
	if r.source, err = ParseMatchers(r.Source...); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	if r.target, err = ParseMatchers(r.Target...); err != nil {
		return fmt.Errorf("target: %w", err)
	}
	return nil
}

// inhibits reports whether a firing source alert mutes target; an alert
// never inhibits itself.
func (r *InhibitRule) inhibits(source, target map[string]string) bool {
	if source["fingerprint"] == target["fingerprint"] {
		return false
	}
	if !r.source.Matches(source) || !r.target.Matches(target) {
		return false
	}
	for _, l := range r.Equal {
		if source[l] != target[l] {
			return false
		}
	}
	return true
}

// isSource reports whether labels select an alert as a source of any rule.
func isSource(rules []InhibitRule, labels map[string]string) bool {
	for i := range rules {
		if rules[i].source.Matches(labels) {
			return true
		}
	}
	return false
}

// isTarget reports whether labels select an alert as a target of any rule.
func isTarget(rules []InhibitRule, labels map[string]string) bool {
	for i := range rules {
		if rules[i].target.Matches(labels) {
			return true
		}
	}
	return false
}

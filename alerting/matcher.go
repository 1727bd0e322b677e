package alerting

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/tend-dev/tend/events"
)

// Matcher operators.
const (
	OpEqual     = "="
	OpNotEqual  = "!="
	OpRegexp    = "=~"
	OpNotRegexp = "!~"
)

// Matcher tests one label of an alert: key=value, key!=value, key=~regex or
// key!~regex. A regex must match the whole value. A missing label reads as
// the empty string.
type Matcher struct {
	Name  string `json:"name"`
	Op    string `json:"op"`
	Value string `json:"value"`
	re    *regexp.Regexp
}

// ParseMatcher reads one matcher such as host=db1 or rule=~disk_.*.
func ParseMatcher(s string) (Matcher, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, "=!")
	if i <= 0 {
		return Matcher{}, fmt.Errorf("bad matcher %q: write key=value, key!=value or key=~regex", s)
	}
	m := Matcher{Name: strings.TrimSpace(s[:i])}
	rest := s[i:]
	for _, op := range []string{OpRegexp, OpNotRegexp, OpNotEqual, OpEqual} {
		if strings.HasPrefix(rest, op) {
			m.Op, m.Value = op, unquote(strings.TrimSpace(rest[len(op):]))
			break
		}
	}
	if m.Op == "" {
		return Matcher{}, fmt.Errorf("bad matcher %q: the operator is =, !=, =~ or !~", s)
	}
	if err := m.compile(); err != nil {
		return Matcher{}, err
	}
	return m, nil
}

func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

func (m *Matcher) compile() error {
	if m.Op != OpRegexp && m.Op != OpNotRegexp {
		return nil
	}
	re, err := regexp.Compile("^(?:" + m.Value + ")$")
	if err != nil {
		return fmt.Errorf("bad matcher %s: regex: %w", m.String(), err)
	}
	m.re = re
	return nil
}

// Matches reports whether labels pass m.
func (m Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case OpEqual:
		return v == m.Value
	case OpNotEqual:
		return v != m.Value
	case OpRegexp, OpNotRegexp:
		re := m.re
		if re == nil {
			// A matcher decoded from JSON has no compiled regex yet.
			if err := m.compile(); err != nil {
				return false
			}
			re = m.re
		}
		return re.MatchString(v) == (m.Op == OpRegexp)
	}
	return false
}

// String writes the matcher back as it is parsed.
func (m Matcher) String() string { return m.Name + m.Op + m.Value }

// Matchers all have to match.
type Matchers []Matcher

// ParseMatchers reads a comma-separated list ("host=db1,rule=~disk_.*") or
// several arguments; commas inside a regex are kept when escaped as \,.
func ParseMatchers(list ...string) (Matchers, error) {
	var out Matchers
	for _, item := range list {
		for _, s := range splitComma(item) {
			if strings.TrimSpace(s) == "" {
				continue
			}
			m, err := ParseMatcher(s)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

func splitComma(s string) []string {
	var out []string
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && i+1 < len(s) && s[i+1] == ',':
			b.WriteByte(',')
			i++
		case s[i] == ',':
			out = append(out, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	return append(out, b.String())
}

// Matches reports whether every matcher passes; no matchers match all.
func (ms Matchers) Matches(labels map[string]string) bool {
	for _, m := range ms {
		if !m.Matches(labels) {
			return false
		}
	}
	return true
}

// Strings returns each matcher as text.
func (ms Matchers) Strings() []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.String()
	}
	return out
}

// LabelSet returns what matchers see of an alert: its labels plus rule,
// severity, host, status and fingerprint (labels of those names win).
func LabelSet(a events.Alert) map[string]string {
	out := make(map[string]string, len(a.Labels)+5)
	out["rule"] = a.Rule
	out["alertname"] = a.Rule
	out["severity"] = a.Severity
	out["status"] = a.Status
	out["fingerprint"] = a.Fingerprint
	if a.Host != "" {
		out["host"] = a.Host
	}
	for k, v := range a.Labels {
		out[k] = v
	}
	return out
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

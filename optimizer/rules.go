package optimizer

import (
	"bytes"
	"fmt"
	"strconv"
	"text/template"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// rule is a threshold rule ready to evaluate.
type rule struct {
	cfg     config.Rule
	summary *template.Template
}

func compileRules(cfgs []config.Rule) ([]*rule, error) {
	out := make([]*rule, 0, len(cfgs))
	for _, c := range cfgs {
		r := &rule{cfg: c}
		text := c.Summary
		if text == "" {
			text = defaultSummary(c)
		}
		t, err := template.New(c.Name).Option("missingkey=zero").Parse(text)
		if err != nil {
			return nil, fmt.Errorf("rule %s: summary: %w", c.Name, err)
		}
		r.summary = t
		out = append(out, r)
	}
	return out, nil
}

func defaultSummary(c config.Rule) string {
	switch {
	case c.Above != nil:
		return "{{.Metric}} is {{.ValueText}} (above " + fmtNum(*c.Above) + ") on {{.Host}}"
	case c.Below != nil:
		return "{{.Metric}} is {{.ValueText}} (below " + fmtNum(*c.Below) + ") on {{.Host}}"
	}
	return "{{.Rule}}: {{.Metric}} is {{.ValueText}} on {{.Host}}"
}

func fmtNum(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// matches reports whether the rule looks at this series.
func (r *rule) matches(m events.Metric) bool {
	if m.Name != r.cfg.Metric {
		return false
	}
	for k, v := range r.cfg.Match {
		if m.Labels[k] != v && !(k == "host" && m.Host == v) {
			return false
		}
	}
	return true
}

// breached reports whether v is past the threshold.
func (r *rule) breached(v float64) bool {
	if r.cfg.Above != nil {
		return v > *r.cfg.Above
	}
	return v < *r.cfg.Below
}

// cleared reports whether v is back past the clear bound: the hysteresis
// that stops a value hovering at the threshold from flapping.
func (r *rule) cleared(v float64) bool {
	switch {
	case r.cfg.Above != nil && r.cfg.Clear != nil:
		return v < *r.cfg.Clear
	case r.cfg.Below != nil && r.cfg.Clear != nil:
		return v > *r.cfg.Clear
	}
	return !r.breached(v)
}

func (r *rule) threshold() *float64 {
	if r.cfg.Above != nil {
		return r.cfg.Above
	}
	return r.cfg.Below
}

// labels returns the alert's labels: the series' labels, its host, and the
// rule's own labels.
func (r *rule) labels(m events.Metric) map[string]string {
	out := make(map[string]string, len(m.Labels)+len(r.cfg.Labels)+1)
	for k, v := range m.Labels {
		out[k] = v
	}
	out["host"] = m.Host
	for k, v := range r.cfg.Labels {
		out[k] = v
	}
	return out
}

type summaryData struct {
	Rule      string
	Metric    string
	Host      string
	Value     float64
	ValueText string
	Threshold float64
	Labels    map[string]string
	Time      time.Time
}

func (r *rule) render(m events.Metric, labels map[string]string) string {
	d := summaryData{
		Rule: r.cfg.Name, Metric: m.Name, Host: m.Host, Value: m.Value,
		ValueText: fmtNum(m.Value), Labels: labels, Time: m.Time,
	}
	if t := r.threshold(); t != nil {
		d.Threshold = *t
	}
	var buf bytes.Buffer
	if err := r.summary.Execute(&buf, d); err != nil {
		return fmt.Sprintf("%s: %s is %s on %s", r.cfg.Name, m.Name, d.ValueText, m.Host)
	}
	return buf.String()
}

// renderResolved says how the series stands now that the alert resolved: a
// user's template sees the resolving sample; the default says the value is
// back, so a resolved message never repeats the breaching figure.
func (r *rule) renderResolved(m events.Metric, labels map[string]string) string {
	if r.cfg.Summary != "" {
		return r.render(m, labels)
	}
	bound := ""
	if t := r.threshold(); t != nil {
		bound = " (threshold " + fmtNum(*t) + ")"
	}
	return fmt.Sprintf("%s back to %s%s on %s", m.Name, fmtNum(m.Value), bound, m.Host)
}

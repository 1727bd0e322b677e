// Package render turns events into the words people read: a one-line title,
// a list of facts, and a plain text or Markdown body. Every integration uses
// it, so an alert reads the same in Slack, a JIRA ticket and an email; an
// integration may still override it with its own Go templates.
package render

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tend-dev/tend/events"
)

// Fact is one labelled value shown with an event.
type Fact struct {
	Name  string
	Value string
}

// View is the readable form of an event.
type View struct {
	// Title is one line, e.g. "[FIRING] warning: probe_high on web-1".
	Title string
	// Status is firing, resolved, completed, failed, test or report.
	Status   string
	Severity string
	Summary  string
	Facts    []Fact
	// Lines are extra body lines: a run's per-task results, a group's
	// members.
	Lines []string
	Links map[string]string
	Time  time.Time
	// Alert or Run hold the decoded payload when the event is one.
	Alert *events.Alert
	Run   *events.Run
	Event events.Event
}

// Of returns the view of ev. An event whose data cannot be decoded still
// gets a view naming its type and id.
func Of(ev events.Event) View {
	v := View{Event: ev, Time: ev.Time, Status: ev.Kind()}
	switch {
	case ev.IsAlert():
		var a events.Alert
		if ev.Decode(&a) == nil {
			alertView(&v, a)
			return v
		}
	case strings.HasPrefix(ev.Type, events.TypePrefix+"optimization."):
		var r events.Run
		if ev.Decode(&r) == nil {
			runView(&v, r)
			return v
		}
	case ev.Type == events.TypeReport:
		var r events.Report
		if ev.Decode(&r) == nil {
			v.Status = "report"
			v.Title = r.Title
			v.Summary = r.Text
			if v.Summary == "" {
				v.Summary = r.Markdown
			}
			return v
		}
	case ev.Type == events.TypeTest:
		var t events.Test
		_ = ev.Decode(&t)
		v.Status = "test"
		v.Title = "tend test message"
		v.Summary = t.Message
		return v
	}
	v.Title = fmt.Sprintf("tend event %s", ev.Kind())
	v.Summary = "event " + ev.ID
	return v
}

func alertView(v *View, a events.Alert) {
	v.Alert = &a
	v.Status = a.Status
	v.Severity = a.Severity
	v.Summary = a.Summary
	v.Links = a.Links

	where := a.Host
	if where == "" {
		where = a.Labels["host"]
	}
	v.Title = fmt.Sprintf("[%s] %s: %s", strings.ToUpper(a.Status), a.Severity, a.Rule)
	if where != "" {
		v.Title += " on " + where
	}
	if len(a.Alerts) > 0 {
		v.Title = fmt.Sprintf("[%s] %d alerts: %s", strings.ToUpper(a.Status), len(a.Alerts), a.Rule)
		for _, m := range a.Alerts {
			v.Lines = append(v.Lines, fmt.Sprintf("%s %s: %s", strings.ToUpper(m.Status), m.Rule, m.Summary))
		}
	}

	if a.Metric != "" {
		v.Facts = append(v.Facts, Fact{"Metric", a.Metric})
		v.Facts = append(v.Facts, Fact{"Value", Number(a.Value)})
	}
	if a.Threshold != nil {
		v.Facts = append(v.Facts, Fact{"Threshold", Number(*a.Threshold)})
	}
	v.Facts = append(v.Facts, Fact{"Since", a.StartsAt.UTC().Format(time.RFC3339)})
	if a.EndsAt != nil {
		v.Facts = append(v.Facts, Fact{"Resolved", a.EndsAt.UTC().Format(time.RFC3339)})
		v.Facts = append(v.Facts, Fact{"Duration", a.EndsAt.Sub(a.StartsAt).Round(time.Second).String()})
	}
	for _, k := range sortedKeys(a.Evidence) {
		v.Facts = append(v.Facts, Fact{k, Number(a.Evidence[k])})
	}
	for _, k := range sortedKeys(a.Labels) {
		v.Facts = append(v.Facts, Fact{k, a.Labels[k]})
	}
	v.Facts = append(v.Facts, Fact{"Fingerprint", a.Fingerprint})
}

func runView(v *View, r events.Run) {
	v.Run = &r
	v.Status = r.Status
	v.Title = fmt.Sprintf("[%s] optimization run %s (level %s)", strings.ToUpper(r.Status), r.ID, r.Level)
	if r.DryRun {
		v.Title += " (dry run)"
	}
	v.Summary = strings.Join(r.Summary, "\n")
	if r.Error != "" {
		v.Lines = append(v.Lines, "error: "+r.Error)
	}
	v.Facts = append(v.Facts, Fact{"Trigger", strings.TrimSpace(r.Trigger.Kind + " " + r.Trigger.By)})
	for _, t := range r.Tasks {
		v.Lines = append(v.Lines, TaskLine(t))
		for _, m := range t.Measures {
			v.Lines = append(v.Lines, "  "+MeasureLine(m))
		}
		for _, rec := range t.Recommendations {
			v.Lines = append(v.Lines, "  recommendation: "+rec)
		}
	}
}

// TaskLine is one line for a task's outcome: "database: improved (2 steps)".
func TaskLine(t events.TaskResult) string {
	done := 0
	for _, s := range t.Steps {
		if s.Done {
			done++
		}
	}
	line := fmt.Sprintf("%s: %s (%d of %d steps done)", t.Task, t.Verdict, done, len(t.Steps))
	if t.Error != "" {
		line += ": " + t.Error
	}
	return line
}

// MeasureLine reads "dead tuples: 120,412 → 0 (n=3, spread 12)".
func MeasureLine(m events.Measurement) string {
	unit := ""
	if m.Unit != "" {
		unit = " " + m.Unit
	}
	return fmt.Sprintf("%s: %s%s → %s%s (n=%d/%d, spread %s/%s) %s", m.Name,
		Number(m.Before.Median), unit, Number(m.After.Median), unit,
		m.Before.N, m.After.N, Number(m.Before.Spread), Number(m.After.Spread), m.Verdict)
}

// Number formats v with thousands separators and at most two decimals.
func Number(v float64) string {
	if v != v { // NaN
		return "n/a"
	}
	neg := v < 0
	if neg {
		v = -v
	}
	// Small values keep three significant digits: a 4 ms latency in
	// seconds must not read as 0.
	prec := 2
	if v > 0 && v < 1 {
		prec = max(2, 2-int(math.Floor(math.Log10(v))))
	}
	s := strconv.FormatFloat(v, 'f', prec, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	whole, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	for i, c := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// Text is the plain text body: summary, facts, lines.
func (v View) Text() string {
	var b strings.Builder
	if v.Summary != "" {
		b.WriteString(v.Summary)
		b.WriteString("\n\n")
	}
	for _, f := range v.Facts {
		fmt.Fprintf(&b, "%s: %s\n", f.Name, f.Value)
	}
	for _, l := range v.Lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	for _, k := range sortedKeys(v.Links) {
		fmt.Fprintf(&b, "%s: %s\n", k, v.Links[k])
	}
	return strings.TrimRight(b.String(), "\n")
}

// Markdown is the body in Markdown, for GitHub, JIRA-like and chat targets.
func (v View) Markdown() string {
	var b strings.Builder
	if v.Summary != "" {
		b.WriteString(v.Summary)
		b.WriteString("\n\n")
	}
	if len(v.Facts) > 0 {
		b.WriteString("| | |\n|---|---|\n")
		for _, f := range v.Facts {
			fmt.Fprintf(&b, "| %s | %s |\n", escapeCell(f.Name), escapeCell(f.Value))
		}
		b.WriteByte('\n')
	}
	for _, l := range v.Lines {
		b.WriteString("- ")
		b.WriteString(strings.TrimSpace(l))
		b.WriteByte('\n')
	}
	for _, k := range sortedKeys(v.Links) {
		fmt.Fprintf(&b, "\n[%s](%s)", k, v.Links[k])
	}
	return strings.TrimRight(b.String(), "\n")
}

func escapeCell(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

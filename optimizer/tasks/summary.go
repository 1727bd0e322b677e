package tasks

import (
	"fmt"
	"strings"

	"github.com/tend-dev/tend/events"
)

// Summary returns one line saying what a task did and what changed, for
// people: "database: VACUUM (ANALYZE) on 3 tables, postgres db dead tuples
// 120,412 → 0 rows; improved". Figures come only from the result.
func Summary(r events.TaskResult) string {
	var b strings.Builder
	b.WriteString(r.Task + ": ")
	switch r.Verdict {
	case Failed:
		b.WriteString("failed: " + firstLine(r.Error))
		return b.String()
	case Skipped:
		b.WriteString("nothing done")
		if why := firstSkip(r.Steps); why != "" {
			b.WriteString(" (" + why + ")")
		}
		if m, ok := firstMeasure(r.Measures); ok {
			fmt.Fprintf(&b, ", %s %s", m.Name, value(m.Before.Median, m.Unit))
		}
		return b.String()
	}

	parts := groupDone(r.Steps)
	var shown int
	for _, m := range r.Measures {
		if m.Verdict == Improved || m.Verdict == Worse {
			parts = append(parts, change(m))
			shown++
		}
		if shown == 2 {
			break
		}
	}
	if shown == 0 {
		if m, ok := firstMeasure(r.Measures); ok {
			parts = append(parts, change(m))
		}
	}
	b.WriteString(strings.Join(parts, ", "))
	b.WriteString("; " + r.Verdict)
	return b.String()
}

// groupDone describes the done steps, one phrase per step name in order:
// "VACUUM (ANALYZE) on 3 tables" or "ANALYZE on table public.t".
func groupDone(steps []events.Step) []string {
	var order []string
	targets := map[string][]string{}
	for _, s := range steps {
		if !s.Done || s.Name == "probe" {
			continue
		}
		if _, ok := targets[s.Name]; !ok {
			order = append(order, s.Name)
		}
		targets[s.Name] = append(targets[s.Name], s.Target)
	}
	// Steps sharing one target read as one phrase: "ANALYZE, VACUUM on file x".
	var out []string
	var names []string
	var shared string
	flush := func() {
		if len(names) > 0 {
			out = append(out, strings.Join(names, ", ")+" on "+shared)
			names = nil
		}
	}
	for _, name := range order {
		ts := targets[name]
		if len(ts) == 1 {
			if len(names) > 0 && ts[0] != shared {
				flush()
			}
			names, shared = append(names, name), ts[0]
			continue
		}
		flush()
		noun, _, _ := strings.Cut(ts[0], " ")
		out = append(out, name+" on "+plural(len(ts), noun))
	}
	flush()
	return out
}

func change(m events.Measurement) string {
	before := value(m.Before.Median, "")
	switch m.Unit {
	case "bytes", "ms", "%":
		before = value(m.Before.Median, m.Unit)
	}
	return fmt.Sprintf("%s %s → %s", m.Name, before, value(m.After.Median, m.Unit))
}

// value formats a figure with its unit.
func value(v float64, unit string) string {
	switch unit {
	case "bytes":
		return bytesText(int64(v))
	case "ms":
		return fmt.Sprintf("%.1f ms", v)
	case "%":
		return fmt.Sprintf("%.1f%%", v)
	case "":
		return thousands(v)
	}
	return thousands(v) + " " + unit
}

func firstMeasure(ms []events.Measurement) (events.Measurement, bool) {
	if len(ms) == 0 {
		return events.Measurement{}, false
	}
	return ms[0], true
}

func firstSkip(steps []events.Step) string {
	for _, s := range steps {
		if s.Skipped != "" {
			return s.Skipped
		}
	}
	return ""
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

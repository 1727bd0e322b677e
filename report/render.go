package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/tend-dev/tend/events"
)

// Formats a report renders in.
const (
	FormatTable    = "table"
	FormatJSON     = "json"
	FormatSummary  = "summary"
	FormatMarkdown = "markdown"
	FormatHTML     = "html"
)

// Formats lists every format [Report.Render] knows.
var Formats = []string{FormatTable, FormatJSON, FormatSummary, FormatMarkdown, FormatHTML}

// Render writes the report to w in format. It returns ErrFormat for an
// unknown format, or the writer's error.
func (r *Report) Render(w io.Writer, format string) error {
	switch format {
	case FormatTable:
		return r.renderTable(w)
	case FormatJSON:
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	case FormatSummary:
		_, err := io.WriteString(w, r.summary())
		return err
	case FormatMarkdown:
		_, err := io.WriteString(w, r.markdown())
		return err
	case FormatHTML:
		return r.renderHTML(w)
	}
	return fmt.Errorf("render %q: %w (want one of %s)", format, ErrFormat, strings.Join(Formats, ", "))
}

// Event returns the report as the data of an events.TypeReport event, with
// Markdown, HTML and the summary as text, for routing to integrations.
func (r *Report) Event() (events.Report, error) {
	var html bytes.Buffer
	if err := r.renderHTML(&html); err != nil {
		return events.Report{}, err
	}
	return events.Report{
		Name:     r.Name,
		Title:    r.Title,
		Since:    r.Since,
		Until:    r.Until,
		Markdown: r.markdown(),
		HTML:     html.String(),
		Text:     r.summary(),
	}, nil
}

func (r *Report) period() string {
	return fmt.Sprintf("%s to %s (%s)", r.Since.Format("2006-01-02 15:04"),
		r.Until.Format("2006-01-02 15:04 MST"), human(r.Until.Sub(r.Since)))
}

// counts returns how many metrics rise, fall and have no data.
func (r *Report) counts() (rising, falling, empty int) {
	for _, m := range r.Metrics {
		switch {
		case m.NoData:
			empty++
		case m.Trend.Verdict == "rising":
			rising++
		case m.Trend.Verdict == "falling":
			falling++
		}
	}
	return rising, falling, empty
}

func (r *Report) summary() string {
	var b strings.Builder
	rising, falling, empty := r.counts()
	fmt.Fprintf(&b, "%s, %s\n", r.Title, r.period())
	fmt.Fprintf(&b, "Metrics: %d (%d rising, %d falling, %d without data); anomalies: %d.\n",
		len(r.Metrics), rising, falling, empty, len(r.Anomalies))
	a := r.Alerts
	fmt.Fprintf(&b, "Alerts: %d incidents (%d resolved, %d still firing), firing %s in all, MTTR %s.\n",
		a.Incidents, a.Resolved, a.StillFiring, human(time.Duration(a.TimeFiring)), optDur(a.MTTR))
	improved := 0
	for _, run := range r.Runs {
		for _, t := range run.Tasks {
			if t.Verdict == "improved" {
				improved++
			}
		}
	}
	fmt.Fprintf(&b, "Optimization: %s, %s improved what they measured.\n", plural(len(r.Runs), "run"),
		plural(improved, "task"))
	failing := 0
	for _, h := range r.Integrations {
		if h.DeadLettered > 0 || h.FailureRate() >= failureRate {
			failing++
		}
	}
	fmt.Fprintf(&b, "Integrations: %d, %d with failed deliveries.\n", len(r.Integrations), failing)
	if len(r.Recommendations) == 0 {
		b.WriteString("Recommendations: none.\n")
	}
	for i, rec := range r.Recommendations {
		if i == 5 {
			fmt.Fprintf(&b, "  … and %d more.\n", len(r.Recommendations)-5)
			break
		}
		fmt.Fprintf(&b, "  %d. %s\n", i+1, rec.Text)
	}
	return b.String()
}

func (r *Report) renderTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\n%s, step %s\n\n", r.Title, r.period(), time.Duration(r.Step))
	fmt.Fprintln(tw, "METRIC\tAVG\tMIN\tMAX\tP95\tSAMPLES\tTREND\tFORECAST")
	for _, m := range r.Metrics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Name, opt(m.Avg), opt(m.Min), opt(m.Max),
			opt(m.P95), m.samples(), m.trendText(), m.forecastText())
	}
	if len(r.Anomalies) > 0 {
		fmt.Fprintln(tw, "\nANOMALY\tAT\tOF\tVALUE\tMEDIAN\tMAD\tZ")
		for _, a := range r.Anomalies {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.Metric, a.At.Format("01-02 15:04"), a.Of,
				num(a.Result.Value), num(a.Result.Median), num(a.Result.MAD), zText(a.Result.Z))
		}
	}
	a := r.Alerts
	fmt.Fprintf(tw, "\nALERTS\t%d incidents\t%d started\t%d resolved\t%d firing\tfiring %s\tMTTR %s\n",
		a.Incidents, a.Started, a.Resolved, a.StillFiring, human(time.Duration(a.TimeFiring)), optDur(a.MTTR))
	if len(a.ByRule) > 0 {
		fmt.Fprintln(tw, "RULE\tINCIDENTS\tRESOLVED\tTIME FIRING\tMTTR\tMEDIAN")
		for _, ra := range a.ByRule {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\n", ra.Rule, ra.Incidents, ra.Resolved,
				human(time.Duration(ra.TimeFiring)), optDur(ra.MTTR), optDur(ra.MedianDuration))
		}
	}
	if len(r.Runs) > 0 {
		fmt.Fprintln(tw, "\nRUN\tSTATUS\tLEVEL\tTRIGGER\tTASK\tVERDICT\tEFFECT")
		for _, run := range r.Runs {
			for _, line := range run.taskLines() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", shortID(run.ID), run.StatusText(), run.Level,
					run.Trigger, line)
			}
		}
	}
	if len(r.Integrations) > 0 {
		fmt.Fprintln(tw, "\nINTEGRATION\tDELIVERED\tFAILED\tRETRIES\tDEAD LETTERS\tP95 LATENCY\tLAST ERROR")
		for _, h := range r.Integrations {
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t%s\n", h.Name, h.Delivered, h.Failed, h.Retries,
				h.DeadLettered, h.P95Latency.Round(time.Millisecond), h.LastError)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Recommendations) > 0 {
		fmt.Fprintln(w, "\nRECOMMENDATIONS")
		for i, rec := range r.Recommendations {
			fmt.Fprintf(w, "%d. [P%d] %s\n", i+1, rec.Priority, rec.Text)
		}
	}
	return nil
}

// taskLines returns "task\tverdict\teffect" per task, or one line for a
// run without tasks.
func (rr RunReport) taskLines() []string {
	if len(rr.Tasks) == 0 {
		return []string{"-\t-\t" + rr.Error}
	}
	var out []string
	for _, t := range rr.Tasks {
		out = append(out, t.Task+"\t"+t.Verdict+"\t"+t.effectText())
	}
	return out
}

func (t TaskEffect) effectText() string {
	var parts []string
	for _, e := range t.Effects {
		s := fmt.Sprintf("%s %s, not measured after", e.Name, num(e.Before))
		if e.After != nil {
			s = fmt.Sprintf("%s %s → %s", e.Name, num(e.Before), num(*e.After))
		}
		if e.Unit != "" {
			s += " " + e.Unit
		}
		if e.Change != nil {
			s += fmt.Sprintf(" (%s%%)", signed(100**e.Change))
		}
		parts = append(parts, s)
	}
	if t.Error != "" {
		parts = append(parts, "error: "+t.Error)
	}
	return strings.Join(parts, "; ")
}

func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// mdCell makes s safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "\n", " ")
}

func (r *Report) markdown() string {
	var b strings.Builder
	rising, falling, empty := r.counts()
	fmt.Fprintf(&b, "# %s\n\n%s, step %s. %d metrics: %d rising, %d falling, %d without data.\n\n",
		mdCell(r.Title), r.period(), time.Duration(r.Step), len(r.Metrics), rising, falling, empty)

	if len(r.Recommendations) > 0 {
		b.WriteString("## Recommendations\n\n")
		for i, rec := range r.Recommendations {
			fmt.Fprintf(&b, "%d. **P%d** %s\n", i+1, rec.Priority, rec.Text)
		}
		b.WriteString("\n")
	}

	b.WriteString("## Metrics\n\n| metric | avg | min | max | p95 | samples | trend | forecast |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---|---|\n")
	for _, m := range r.Metrics {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", mdCell(m.Name), opt(m.Avg), opt(m.Min),
			opt(m.Max), opt(m.P95), m.samples(), m.trendText(), m.forecastText())
	}

	b.WriteString("\n## Anomalies\n\n")
	if len(r.Anomalies) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| metric | at | of | value | median | MAD | z |\n|---|---|---|---:|---:|---:|---:|\n")
		for _, a := range r.Anomalies {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s |\n", mdCell(a.Metric),
				a.At.Format("2006-01-02 15:04"), a.Of, num(a.Result.Value), num(a.Result.Median),
				num(a.Result.MAD), zText(a.Result.Z))
		}
	}

	a := r.Alerts
	fmt.Fprintf(&b, "\n## Alerts\n\n%d incidents (%d started in the period, %d resolved, %d still firing); "+
		"firing %s in all; MTTR %s.\n", a.Incidents, a.Started, a.Resolved, a.StillFiring,
		human(time.Duration(a.TimeFiring)), optDur(a.MTTR))
	if len(a.ByRule) > 0 {
		b.WriteString("\n| rule | incidents | resolved | time firing | MTTR | median |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|\n")
		for _, ra := range a.ByRule {
			fmt.Fprintf(&b, "| %s | %d | %d | %s | %s | %s |\n", mdCell(ra.Rule), ra.Incidents, ra.Resolved,
				human(time.Duration(ra.TimeFiring)), optDur(ra.MTTR), optDur(ra.MedianDuration))
		}
	}

	b.WriteString("\n## Optimization runs\n\n")
	if len(r.Runs) == 0 {
		b.WriteString("None.\n")
	} else {
		b.WriteString("| run | status | level | trigger | task | verdict | effect |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
		for _, run := range r.Runs {
			for _, line := range run.taskLines() {
				cells := strings.Split(line, "\t")
				for i := range cells {
					cells[i] = mdCell(cells[i])
				}
				fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", shortID(run.ID), run.StatusText(), run.Level,
					mdCell(run.Trigger), strings.Join(cells, " | "))
			}
		}
	}

	b.WriteString("\n## Integrations\n\n")
	if len(r.Integrations) == 0 {
		b.WriteString("None reported.\n")
	} else {
		b.WriteString("| integration | delivered | failed | retries | dead letters | p95 latency | last error |\n")
		b.WriteString("|---|---:|---:|---:|---:|---:|---|\n")
		for _, h := range r.Integrations {
			fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %s | %s |\n", mdCell(h.Name), h.Delivered, h.Failed,
				h.Retries, h.DeadLettered, h.P95Latency.Round(time.Millisecond), mdCell(h.LastError))
		}
	}
	return b.String()
}

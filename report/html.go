package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// Sparkline size in pixels.
const (
	sparkW = 160
	sparkH = 36
)

// sparkline draws a metric's step averages as a line over the band between
// step minima and maxima, scaled to the metric's range. It returns only
// numbers inside fixed markup, so it is safe as template.HTML.
func sparkline(pts []SeriesPoint, since, until time.Time) template.HTML {
	if len(pts) == 0 {
		return template.HTML(`<svg class="spark" width="160" height="36" role="img" aria-label="no data">` +
			`<text x="80" y="22" text-anchor="middle">no data</text></svg>`)
	}
	lo, hi := pts[0].Min, pts[0].Max
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Min), math.Max(hi, p.Max)
	}
	span := until.Sub(since).Seconds()
	x := func(t time.Time) float64 { return 1 + (sparkW-2)*t.Sub(since).Seconds()/span }
	y := func(v float64) float64 {
		if hi == lo {
			return sparkH / 2
		}
		return sparkH - 2 - (sparkH-4)*(v-lo)/(hi-lo)
	}
	var line, upper, lower strings.Builder
	for i, p := range pts {
		fmt.Fprintf(&line, "%.1f,%.1f ", x(p.T), y(p.Avg))
		fmt.Fprintf(&upper, "%.1f,%.1f ", x(p.T), y(p.Max))
		q := pts[len(pts)-1-i]
		fmt.Fprintf(&lower, "%.1f,%.1f ", x(q.T), y(q.Min))
	}
	svg := fmt.Sprintf(`<svg class="spark" width="%d" height="%d" viewBox="0 0 %d %d" role="img" `+
		`aria-label="min %s, max %s"><polygon class="band" points="%s%s"/>`+
		`<polyline class="line" points="%s"/></svg>`,
		sparkW, sparkH, sparkW, sparkH, num(lo), num(hi), upper.String(), lower.String(),
		strings.TrimSpace(line.String()))
	return template.HTML(svg)
}

var htmlTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"opt":    opt,
	"num":    num,
	"dur":    func(d Duration) string { return human(time.Duration(d)) },
	"optDur": optDur,
	"z":      zText,
	"when":   func(t time.Time) string { return t.Format("2006-01-02 15:04") },
	"short":  shortID,
	"rate":   func(h IntegrationHealth) string { return fmt.Sprintf("%.1f%%", 100*h.FailureRate()) },
	"ms":     func(d time.Duration) string { return d.Round(time.Millisecond).String() },
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.R.Title}}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:1100px;
 padding:0 1rem;color:#1d2330;background:#fff}
h1{font-size:1.6rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:2rem 0 .6rem;border-bottom:1px solid #dde2ea;
 padding-bottom:.3rem}
.sub{color:#5b6475;margin:0 0 1rem}
.cards{display:flex;gap:.8rem;flex-wrap:wrap}
.card{border:1px solid #dde2ea;border-radius:8px;padding:.6rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.3rem}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid #eef1f5;vertical-align:middle}
th{color:#5b6475;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.nodata{color:#98a1b2;font-style:italic}
.rising{color:#b4420c}.falling{color:#0c6cb4}.stable{color:#3d7a3d}.unknown{color:#98a1b2}
.spark .line{fill:none;stroke:#2f6fdf;stroke-width:1.5}.spark .band{fill:#2f6fdf;opacity:.15;stroke:none}
.spark text{font-size:11px;fill:#98a1b2}
ol.recs li{margin:.35rem 0}.p1{color:#b00020;font-weight:700}.p2{color:#b4420c;font-weight:600}
.p3{color:#5b6475}
.ev{color:#5b6475;font-size:12px}
</style></head><body>
<h1>{{.R.Title}}</h1>
<p class="sub">{{.Period}} · step {{.Step}} · generated {{when .R.Generated}} UTC</p>
<div class="cards">
<div class="card"><b>{{len .R.Metrics}}</b>metrics ({{.Rising}} rising, {{.Falling}} falling)</div>
<div class="card"><b>{{len .R.Anomalies}}</b>anomalies</div>
<div class="card"><b>{{.R.Alerts.Incidents}}</b>alert incidents, MTTR {{optDur .R.Alerts.MTTR}}</div>
<div class="card"><b>{{len .R.Runs}}</b>optimization runs</div>
<div class="card"><b>{{len .R.Recommendations}}</b>recommendations</div>
</div>

<h2>Recommendations</h2>
{{if .R.Recommendations}}<ol class="recs">{{range .R.Recommendations}}
<li><span class="p{{.Priority}}">P{{.Priority}}</span> {{.Text}}
<div class="ev">{{range $k, $v := .Evidence}}{{$k}}={{num $v}} {{end}}</div></li>{{end}}
</ol>{{else}}<p>None.</p>{{end}}

<h2>Metrics</h2>
<table><thead><tr><th>metric</th><th>history</th><th>avg</th><th>min</th><th>max</th><th>p95</th>
<th>samples</th><th>trend</th><th>forecast</th></tr></thead><tbody>
{{range .Metrics}}<tr><td>{{.M.Name}}</td><td>{{.Spark}}</td>
{{if .M.NoData}}<td class="nodata" colspan="5">no data</td>{{else}}<td class="n">{{opt .M.Avg}}</td>
<td class="n">{{opt .M.Min}}</td><td class="n">{{opt .M.Max}}</td><td class="n">{{opt .M.P95}}</td>
<td class="n">{{.M.Count}}</td>{{end}}
<td class="{{.Verdict}}">{{.Trend}}</td><td>{{.Forecast}}</td></tr>
{{end}}</tbody></table>

<h2>Anomalies</h2>
{{if .R.Anomalies}}<table><thead><tr><th>metric</th><th>at</th><th>of</th><th>value</th><th>median</th>
<th>MAD</th><th>z</th></tr></thead><tbody>{{range .R.Anomalies}}
<tr><td>{{.Metric}}</td><td>{{when .At}}</td><td>{{.Of}}</td><td class="n">{{num .Result.Value}}</td>
<td class="n">{{num .Result.Median}}</td><td class="n">{{num .Result.MAD}}</td>
<td class="n">{{z .Result.Z}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None.</p>{{end}}

<h2>Alerts</h2>
{{with .R.Alerts}}<p>{{.Incidents}} incidents ({{.Started}} started in the period, {{.Resolved}} resolved,
{{.StillFiring}} still firing); firing {{dur .TimeFiring}} in all; MTTR {{optDur .MTTR}}.</p>{{end}}
{{if .R.Alerts.ByRule}}<table><thead><tr><th>rule</th><th>incidents</th><th>resolved</th><th>time firing</th>
<th>MTTR</th><th>median</th></tr></thead><tbody>{{range .R.Alerts.ByRule}}
<tr><td>{{.Rule}}</td><td class="n">{{.Incidents}}</td><td class="n">{{.Resolved}}</td>
<td class="n">{{dur .TimeFiring}}</td><td class="n">{{optDur .MTTR}}</td>
<td class="n">{{optDur .MedianDuration}}</td></tr>
{{end}}</tbody></table>{{end}}

<h2>Optimization runs</h2>
{{if .R.Runs}}<table><thead><tr><th>run</th><th>status</th><th>level</th><th>trigger</th><th>requested</th>
<th>task</th><th>verdict</th><th>effect</th></tr></thead><tbody>{{range $run := .R.Runs}}{{range .Tasks}}
<tr><td>{{short $run.ID}}</td><td>{{$run.StatusText}}</td><td>{{$run.Level}}</td><td>{{$run.Trigger}}</td>
<td>{{when $run.Requested}}</td><td>{{.Task}}</td><td>{{.Verdict}}</td><td>{{.EffectText}}</td></tr>
{{else}}<tr><td>{{short $run.ID}}</td><td>{{$run.StatusText}}</td><td>{{$run.Level}}</td><td>{{$run.Trigger}}</td>
<td>{{when $run.Requested}}</td><td colspan="3">{{$run.Error}}</td></tr>{{end}}{{end}}
</tbody></table>{{else}}<p>None.</p>{{end}}

<h2>Integrations</h2>
{{if .R.Integrations}}<table><thead><tr><th>integration</th><th>delivered</th><th>failed</th>
<th>failure rate</th>
<th>retries</th><th>dead letters</th><th>p95 latency</th><th>last error</th></tr></thead><tbody>
{{range .R.Integrations}}<tr><td>{{.Name}}</td><td class="n">{{.Delivered}}</td><td class="n">{{.Failed}}</td>
<td class="n">{{rate .}}</td><td class="n">{{.Retries}}</td><td class="n">{{.DeadLettered}}</td>
<td class="n">{{ms .P95Latency}}</td><td>{{.LastError}}</td></tr>
{{end}}</tbody></table>{{else}}<p>None reported.</p>{{end}}
</body></html>
`))

type htmlMetric struct {
	M        MetricReport
	Spark    template.HTML
	Verdict  string
	Trend    string
	Forecast string
}

// EffectText is the task's measured changes in one line, for templates.
func (t TaskEffect) EffectText() string { return t.effectText() }

func (r *Report) renderHTML(w io.Writer) error {
	rising, falling, _ := r.counts()
	data := struct {
		R               *Report
		Period, Step    string
		Rising, Falling int
		Metrics         []htmlMetric
	}{R: r, Period: r.period(), Step: time.Duration(r.Step).String(), Rising: rising, Falling: falling}
	for _, m := range r.Metrics {
		hm := htmlMetric{M: m, Spark: sparkline(m.Points, r.Since, r.Until), Trend: m.trendText(),
			Forecast: m.forecastText(), Verdict: "unknown"}
		if m.Trend != nil {
			hm.Verdict = m.Trend.Verdict
		}
		data.Metrics = append(data.Metrics, hm)
	}
	if err := htmlTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("render html report: %w", err)
	}
	return nil
}

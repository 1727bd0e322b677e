package report

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/optimizer/analysis"
)

// Source supplies metric history; *history.Store is one.
type Source interface {
	// Metrics lists the metrics with any history stored.
	Metrics(ctx context.Context) ([]string, error)
	// QueryAll returns each metric in steps over [since, until).
	QueryAll(ctx context.Context, metrics []string, since, until time.Time,
		step time.Duration) (map[string][]history.Point, error)
}

// IntegrationHealth is one integration's delivery record over the period,
// as the router's analytics keep it.
type IntegrationHealth struct {
	Name         string        `json:"name"`
	Type         string        `json:"type,omitempty"`
	Delivered    int           `json:"delivered"`
	Failed       int           `json:"failed"` // attempts that failed, retried or not
	Retries      int           `json:"retries"`
	DeadLettered int           `json:"dead_lettered"`
	P95Latency   time.Duration `json:"p95_latency"`
	LastError    string        `json:"last_error,omitempty"`
	LastSuccess  time.Time     `json:"last_success,omitzero"`
}

// FailureRate returns failed attempts over all attempts, or 0 without any.
func (h IntegrationHealth) FailureRate() float64 {
	if n := h.Delivered + h.Failed; n > 0 {
		return float64(h.Failed) / float64(n)
	}
	return 0
}

// Input is what a report is built from.
type Input struct {
	// Name identifies the report in routes ("daily"); Title heads it.
	Name  string
	Title string
	// Since is moved back to a multiple of the report's step (10m for a
	// day, 1h for a week), so each step holds whole rollups.
	Since time.Time
	Until time.Time
	// Metrics to report; nil means every metric the source knows.
	Metrics []string
	// Limits are values metrics must not reach, such as 95 for a disk's
	// used percentage; a metric heading for its limit gets a forecast.
	Limits map[string]float64
	// Alerts are the payloads of alert events seen in and around the
	// period, firing and resolved; group notifications are unpacked.
	Alerts []events.Alert
	// Runs are the payloads of optimization events; the latest state of
	// each run id counts.
	Runs         []events.Run
	Integrations []IntegrationHealth
	// Progress, if set, is called as metrics are read: done of total.
	Progress func(done, total int)
	// Now is the time the report is made. Default time.Now.
	Now func() time.Time
}

// Report is a built report, ready to render. Figures a period lacked are
// nil, never 0.
type Report struct {
	Name      string    `json:"name,omitempty"`
	Title     string    `json:"title"`
	Since     time.Time `json:"since"`
	Until     time.Time `json:"until"`
	Generated time.Time `json:"generated"`
	// Step is the width of the points behind sparklines and trends.
	Step            Duration            `json:"step"`
	Metrics         []MetricReport      `json:"metrics"`
	Anomalies       []Anomaly           `json:"anomalies"`
	Alerts          AlertReport         `json:"alerts"`
	Runs            []RunReport         `json:"runs"`
	Integrations    []IntegrationHealth `json:"integrations"`
	Recommendations []Recommendation    `json:"recommendations"`
}

// Duration is a time.Duration written as text ("1h0m0s") in JSON.
type Duration time.Duration

// MarshalText writes the duration as Go formats it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// MetricReport describes one metric over the period.
type MetricReport struct {
	Name string `json:"name"`
	// NoData is true when no sample fell in the period; the figures are
	// then nil.
	NoData bool     `json:"no_data"`
	Count  uint64   `json:"count"`
	Avg    *float64 `json:"avg"`
	Min    *float64 `json:"min"`
	Max    *float64 `json:"max"`
	P95    *float64 `json:"p95"`
	// Trend is fitted through the step averages.
	Trend    *analysis.TrendResult    `json:"trend,omitempty"`
	Limit    *float64                 `json:"limit,omitempty"`
	Forecast *analysis.ForecastResult `json:"forecast,omitempty"`
	// Points are the step averages, for sparklines.
	Points []SeriesPoint `json:"points,omitempty"`
}

// SeriesPoint is one step of a metric.
type SeriesPoint struct {
	T   time.Time `json:"t"`
	Avg float64   `json:"avg"`
	Min float64   `json:"min"`
	Max float64   `json:"max"`
	N   uint64    `json:"n"`
}

// Anomaly is a step whose extreme stands out from the other steps'.
type Anomaly struct {
	Metric string    `json:"metric"`
	At     time.Time `json:"at"`
	// Of is "max" or "min": which extreme of the step is compared with the
	// same extreme of every other step.
	Of     string                 `json:"of"`
	Result analysis.AnomalyResult `json:"result"`
}

// pickStep returns the smallest usual step giving at most maxPoints points.
func pickStep(period time.Duration) time.Duration {
	const maxPoints = 200
	for _, s := range []time.Duration{
		time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour,
	} {
		if period/s <= maxPoints {
			return s
		}
	}
	return 24 * time.Hour
}

// queryChunk is how many metrics one history query reads, so progress can
// be shown between queries.
const queryChunk = 10

// Build reads history for the period from src and assembles the report.
// It returns an error when the period is empty or history cannot be read;
// it blocks for as long as the reads take. A nil src reports the metrics
// named in Input as without data.
func Build(ctx context.Context, src Source, in Input) (*Report, error) {
	if !in.Until.After(in.Since) {
		return nil, fmt.Errorf("build report %v..%v: %w", in.Since, in.Until, ErrBadPeriod)
	}
	now := time.Now
	if in.Now != nil {
		now = in.Now
	}
	// The period starts on a step, as history's steps do, so the figures
	// cover exactly the period shown.
	step := pickStep(in.Until.Sub(in.Since))
	r := &Report{
		Name:      in.Name,
		Title:     in.Title,
		Since:     in.Since.Truncate(step).UTC(),
		Until:     in.Until.UTC(),
		Generated: now().UTC(),
		Step:      Duration(step),
	}
	if r.Title == "" {
		r.Title = "tend report"
	}

	names := in.Metrics
	if names == nil && src != nil {
		var err error
		if names, err = src.Metrics(ctx); err != nil {
			return nil, fmt.Errorf("list metrics: %w", err)
		}
	}
	for i := 0; i < len(names); i += queryChunk {
		chunk := names[i:min(i+queryChunk, len(names))]
		var pts map[string][]history.Point
		if src != nil {
			var err error
			if pts, err = src.QueryAll(ctx, chunk, r.Since, r.Until, step); err != nil {
				return nil, fmt.Errorf("read history: %w", err)
			}
		}
		for _, name := range chunk {
			mr, anomalies := analyseMetric(name, pts[name], step, in.Limits)
			r.Metrics = append(r.Metrics, mr)
			r.Anomalies = append(r.Anomalies, anomalies...)
		}
		if in.Progress != nil {
			in.Progress(i+len(chunk), len(names))
		}
	}
	sort.Slice(r.Anomalies, func(i, j int) bool {
		return math.Abs(r.Anomalies[i].Result.Z) > math.Abs(r.Anomalies[j].Result.Z)
	})
	if len(r.Anomalies) > maxAnomalies {
		r.Anomalies = r.Anomalies[:maxAnomalies]
	}

	r.Alerts = summariseAlerts(in.Alerts, r.Since, r.Until)
	r.Runs = summariseRuns(in.Runs)
	r.Integrations = append([]IntegrationHealth(nil), in.Integrations...)
	sort.Slice(r.Integrations, func(i, j int) bool { return r.Integrations[i].Name < r.Integrations[j].Name })
	r.Recommendations = recommend(r)
	return r, nil
}

// maxAnomalies bounds the anomalies listed, strongest first; per metric at
// most maxAnomaliesPerMetric.
const (
	maxAnomalies          = 20
	maxAnomaliesPerMetric = 3
)

// maxLeaveOneOut is the most steps for which each step's baseline leaves
// the step out; past it the baseline is every step, which moves a median
// and MAD by at most one rank.
const maxLeaveOneOut = 400

func analyseMetric(name string, pts []history.Point, step time.Duration,
	limits map[string]float64) (MetricReport, []Anomaly) {
	mr := MetricReport{Name: name}
	if lim, ok := limits[name]; ok {
		mr.Limit = &lim
	}
	var count uint64
	var sum, lo, hi float64
	var sk history.Sketch
	series := make([]analysis.Point, 0, len(pts))
	for _, p := range pts {
		if p.Count == 0 {
			continue
		}
		if count == 0 || p.Min < lo {
			lo = p.Min
		}
		if count == 0 || p.Max > hi {
			hi = p.Max
		}
		count += p.Count
		sum += p.Sum
		sk.Merge(p.Sketch)
		mid := p.Time.Add(step / 2)
		series = append(series, analysis.Point{T: mid, V: p.Mean()})
		mr.Points = append(mr.Points, SeriesPoint{T: p.Time, Avg: p.Mean(), Min: p.Min, Max: p.Max, N: p.Count})
	}
	if count == 0 {
		mr.NoData = true
		return mr, nil
	}
	avg := sum / float64(count)
	p95 := min(max(sk.Quantile(0.95), lo), hi)
	mr.Count, mr.Avg, mr.Min, mr.Max, mr.P95 = count, &avg, &lo, &hi, &p95

	tr := analysis.Trend(series, 0)
	mr.Trend = &tr
	if mr.Limit != nil {
		fc := analysis.Forecast(series, *mr.Limit)
		mr.Forecast = &fc
	}
	return mr, anomalies(name, mr.Points)
}

// anomalies compares each step's max (and min) with the other steps'.
func anomalies(name string, pts []SeriesPoint) []Anomaly {
	var out []Anomaly
	for _, of := range []string{"max", "min"} {
		vals := make([]analysis.Point, len(pts))
		for i, p := range pts {
			v := p.Max
			if of == "min" {
				v = p.Min
			}
			vals[i] = analysis.Point{T: p.T, V: v}
		}
		for i, v := range vals {
			base := vals
			if len(vals) <= maxLeaveOneOut {
				base = make([]analysis.Point, 0, len(vals)-1)
				base = append(append(base, vals[:i]...), vals[i+1:]...)
			}
			res := analysis.Anomaly(v, base, analysis.AnomalyOptions{})
			// A max that stands out low, or a min that stands out high,
			// is a quiet step, not an event.
			if !res.Anomalous || (of == "max") != (res.Direction == analysis.High) {
				continue
			}
			out = append(out, Anomaly{Metric: name, At: v.T, Of: of, Result: res})
		}
	}
	sort.Slice(out, func(i, j int) bool { return math.Abs(out[i].Result.Z) > math.Abs(out[j].Result.Z) })
	if len(out) > maxAnomaliesPerMetric {
		out = out[:maxAnomaliesPerMetric]
	}
	return out
}

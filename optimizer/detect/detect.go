package detect

import (
	"fmt"
	"math"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/optimizer/analysis"
)

// Rule kinds this package evaluates.
const (
	KindTrend    = "trend"
	KindAnomaly  = "anomaly"
	KindForecast = "forecast"
)

// IsAnalysis reports whether a rule kind is evaluated here.
func IsAnalysis(kind string) bool {
	return kind == KindTrend || kind == KindAnomaly || kind == KindForecast
}

// Settings are the keys under a rule's `analysis:`, for example:
//
//	rules:
//	  - name: disk_full_soon
//	    kind: forecast
//	    metric: host.disk.used_percent
//	    above: 95
//	    window: 6h
//	    analysis: {within: 24h}
type Settings struct {
	// Step is the width of the averages the rule looks at. Default: the
	// window over 60, at least 1m, in whole minutes.
	Step config.Duration `yaml:"step"`
	// Direction a trend or anomaly must take to fire: rising/high,
	// falling/low, or any. Default any.
	Direction string `yaml:"direction" default:"any"`
	// MinT and MinChange are the trend's significance bounds (|t| of the
	// slope; change over the window relative to the mean). Defaults 3 and
	// 0.05.
	MinT      float64 `yaml:"min_t" default:"3"`
	MinChange float64 `yaml:"min_change" default:"0.05"`
	// Threshold is the |robust z| at which an anomaly fires. Default 3.5.
	Threshold float64 `yaml:"threshold" default:"3.5"`
	// Baseline is how far back an anomaly's baseline reaches. Default 7d.
	Baseline config.Duration `yaml:"baseline" default:"7d"`
	// ByHour compares only with the same hour of day in the baseline.
	ByHour bool `yaml:"by_hour"`
	// Within is how soon a forecast crossing must come to fire. Default 24h.
	Within config.Duration `yaml:"within" default:"24h"`
}

// Rule is a compiled analysis rule.
type Rule struct {
	Config   config.Rule
	Settings Settings
	window   time.Duration
	step     time.Duration
	crossing float64
}

// Compile checks an analysis rule and its settings. Errors name the rule and,
// for settings, the file and line.
func Compile(c config.Rule) (*Rule, error) {
	if !IsAnalysis(c.Kind) {
		return nil, fmt.Errorf("rule %s: kind %q is not trend, anomaly or forecast", c.Name, c.Kind)
	}
	r := &Rule{Config: c, window: c.Window.D()}
	if err := c.Settings.Decode(&r.Settings); err != nil {
		return nil, fmt.Errorf("rule %s: %w", c.Name, err)
	}
	s := &r.Settings
	switch s.Direction {
	case "any", "rising", "falling", "high", "low":
	default:
		return nil, fmt.Errorf("rule %s: direction %q: want rising, falling or any", c.Name, s.Direction)
	}
	if r.window <= 0 {
		r.window = 6 * time.Hour
		if c.Kind == KindAnomaly {
			r.window = 10 * time.Minute
		}
	}
	r.step = s.Step.D()
	if r.step <= 0 {
		r.step = max(time.Minute, (r.window / 60).Truncate(time.Minute))
		if c.Kind == KindAnomaly {
			r.step = r.window
		}
	}
	if c.Kind == KindForecast {
		switch {
		case c.Above != nil:
			r.crossing = *c.Above
		case c.Below != nil:
			r.crossing = *c.Below
		default:
			return nil, fmt.Errorf("rule %s: a forecast needs above: or below: to forecast", c.Name)
		}
	}
	return r, nil
}

// Range returns the history the rule needs at now: [since, until) in steps
// of step. An anomaly needs its baseline plus the window; the others the
// window.
func (r *Rule) Range(now time.Time) (since, until time.Time, step time.Duration) {
	back := r.window
	if r.Config.Kind == KindAnomaly {
		back += r.Settings.Baseline.D()
	}
	return now.Add(-back), now, r.step
}

// Result is a rule's judgement of a series.
type Result struct {
	Firing bool
	// Value is what the alert reports: the latest average (anomaly), the
	// change per hour (trend) or the fitted value now (forecast).
	Value float64
	// Insufficient is true when there were too few points to judge; the
	// rule then neither fires nor resolves.
	Insufficient bool
	Evidence     map[string]float64
	// Summary is one line saying what was found, with the figures.
	Summary string
}

// Evaluate judges points, step averages oldest first, as [Means] makes
// them from a query over [Rule.Range].
func (r *Rule) Evaluate(points []analysis.Point) Result {
	switch r.Config.Kind {
	case KindTrend:
		return r.trend(points)
	case KindAnomaly:
		return r.anomaly(points)
	}
	return r.forecast(points)
}

func (r *Rule) trend(points []analysis.Point) Result {
	opts := analysis.TrendOptions{MinT: r.Settings.MinT, MinChange: r.Settings.MinChange}
	tr := opts.Trend(points, r.window)
	res := Result{Value: tr.SlopePerHour, Evidence: tr.Evidence(), Insufficient: tr.Verdict == analysis.Unknown}
	res.Firing = tr.Significant() && r.wants(tr.Verdict == analysis.Rising)
	res.Summary = fmt.Sprintf("%s is %s: %+.4g per hour over %s (t %.1f, r² %.2f, change %+.1f%%)",
		r.Config.Metric, tr.Verdict, tr.SlopePerHour, tr.Span.Round(time.Minute), tr.T, tr.R2,
		100*tr.RelChange)
	return res
}

func (r *Rule) anomaly(points []analysis.Point) Result {
	if len(points) == 0 {
		return Result{Insufficient: true, Summary: r.Config.Metric + " has no data"}
	}
	last := points[len(points)-1]
	an := analysis.Anomaly(last, points[:len(points)-1], analysis.AnomalyOptions{
		Threshold: r.Settings.Threshold, ByHour: r.Settings.ByHour,
	})
	res := Result{Value: last.V, Evidence: an.Evidence(), Insufficient: an.Insufficient}
	res.Firing = an.Anomalous && r.wants(an.Direction == analysis.High)
	res.Summary = fmt.Sprintf("%s at %.4g against a median of %.4g (MAD %.4g over %d steps): z %.1f",
		r.Config.Metric, last.V, an.Median, an.MAD, an.N, an.Z)
	return res
}

func (r *Rule) forecast(points []analysis.Point) Result {
	opts := analysis.TrendOptions{MinT: r.Settings.MinT, MinChange: r.Settings.MinChange}
	fc := analysis.Forecast(points, r.crossing)
	tr := opts.Trend(points, 0)
	res := Result{Value: fc.Fitted, Evidence: fc.Evidence(), Insufficient: tr.Verdict == analysis.Unknown}
	within := r.Settings.Within.D().Seconds()
	res.Firing = fc.Will && tr.Significant() && fc.SecondsUntil <= within
	if fc.Will {
		res.Summary = fmt.Sprintf("%s reaches %.4g in %s at %+.4g per hour (now %.4g, r² %.2f)",
			r.Config.Metric, r.crossing, time.Duration(fc.SecondsUntil*float64(time.Second)).Round(time.Minute),
			fc.Trend.SlopePerHour, fc.Fitted, fc.Trend.R2)
	} else {
		res.Summary = fmt.Sprintf("%s is not heading for %.4g (%+.4g per hour)",
			r.Config.Metric, r.crossing, fc.Trend.SlopePerHour)
	}
	return res
}

// wants reports whether the direction found (up or not) is one the rule
// fires on.
func (r *Rule) wants(up bool) bool {
	switch r.Settings.Direction {
	case "rising", "high":
		return up
	case "falling", "low":
		return !up
	}
	return true
}

// Means turns history points into step averages at the middle of each step,
// the points [Rule.Evaluate] takes.
func Means(pts []history.Point, step time.Duration) []analysis.Point {
	out := make([]analysis.Point, 0, len(pts))
	for _, p := range pts {
		if m := p.Mean(); p.Count > 0 && !math.IsNaN(m) {
			out = append(out, analysis.Point{T: p.Time.Add(step / 2), V: m})
		}
	}
	return out
}

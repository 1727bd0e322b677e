package analysis

import (
	"math"
	"time"
)

// Trend verdicts.
const (
	Rising  = "rising"
	Falling = "falling"
	Stable  = "stable"
	// Unknown means too few points to judge.
	Unknown = "unknown"
)

// TrendOptions say when a slope counts. The zero value uses the defaults.
type TrendOptions struct {
	// MinPoints below which the verdict is [Unknown]. Default 5.
	MinPoints int
	// MinT is the smallest |t-statistic| of the slope that is significant.
	// Default 3, far enough from noise that a flat series rarely passes.
	MinT float64
	// MinChange is the smallest change over the points' time span, relative
	// to their mean, that is worth a verdict. Default 0.05 (5%).
	MinChange float64
}

func (o TrendOptions) withDefaults() TrendOptions {
	if o.MinPoints <= 0 {
		o.MinPoints = 5
	}
	if o.MinT <= 0 {
		o.MinT = 3
	}
	if o.MinChange <= 0 {
		o.MinChange = 0.05
	}
	return o
}

// TrendResult is a least-squares line through a series and what it means.
type TrendResult struct {
	Verdict string `json:"verdict"`
	N       int    `json:"n"`
	// Slope is the change per second; SlopePerHour per hour.
	Slope        float64 `json:"slope"`
	SlopePerHour float64 `json:"slope_per_hour"`
	Intercept    float64 `json:"intercept"` // fitted value at Start
	R2           float64 `json:"r2"`
	// StdErr is the standard error of Slope; T is Slope/StdErr.
	StdErr float64 `json:"stderr"`
	T      float64 `json:"t"`
	Mean   float64 `json:"mean"`
	// Change is Slope times Span; RelChange is Change over |Mean|.
	Change    float64       `json:"change"`
	RelChange float64       `json:"rel_change"`
	Start     time.Time     `json:"start"`
	Span      time.Duration `json:"span"`
}

// Significant reports whether the slope passed both tests.
func (r TrendResult) Significant() bool { return r.Verdict == Rising || r.Verdict == Falling }

// Evidence returns the figures behind the verdict for events.Alert.Evidence.
func (r TrendResult) Evidence() map[string]float64 {
	return map[string]float64{
		"n":              float64(r.N),
		"slope":          r.Slope,
		"slope_per_hour": r.SlopePerHour,
		"r2":             r.R2,
		"stderr":         r.StdErr,
		"t":              r.T,
		"mean":           r.Mean,
		"change":         r.Change,
		"rel_change":     r.RelChange,
		"window_seconds": r.Span.Seconds(),
	}
}

// At returns the fitted value at t.
func (r TrendResult) At(t time.Time) float64 {
	return r.Intercept + r.Slope*t.Sub(r.Start).Seconds()
}

// Trend fits a least-squares line through the points no older than window
// before the newest one (all points when window is 0) and judges it with the
// default [TrendOptions].
func Trend(points []Point, window time.Duration) TrendResult {
	return TrendOptions{}.Trend(points, window)
}

// Trend fits a least-squares line through the points no older than window
// before the newest one and judges it: rising or falling only when the
// slope's t-statistic passes MinT and the change over the span passes
// MinChange, stable otherwise, unknown with fewer than MinPoints points.
//
// NOTE: the t-test assumes independent errors. Samples that wander (a random
// walk) look more significant than they are; MinChange guards against the
// smallest of such drifts.
func (o TrendOptions) Trend(points []Point, window time.Duration) TrendResult {
	o = o.withDefaults()
	points = within(points, window)
	r := fit(points)
	if r.N < o.MinPoints {
		r.Verdict = Unknown
		return r
	}
	r.Verdict = Stable
	if math.Abs(r.T) >= o.MinT && math.Abs(r.RelChange) >= o.MinChange {
		r.Verdict = Rising
		if r.Slope < 0 {
			r.Verdict = Falling
		}
	}
	return r
}

// fit computes the least-squares line with x in seconds since the first
// point, which keeps the sums well conditioned.
func fit(points []Point) TrendResult {
	r := TrendResult{N: len(points)}
	if len(points) == 0 {
		return r
	}
	r.Start = points[0].T
	for _, p := range points {
		if p.T.Before(r.Start) {
			r.Start = p.T
		}
	}
	n := float64(len(points))
	var sx, sy float64
	var last float64
	for _, p := range points {
		x := p.T.Sub(r.Start).Seconds()
		sx += x
		sy += p.V
		last = max(last, x)
	}
	mx, my := sx/n, sy/n
	r.Mean = my
	r.Intercept = my
	r.Span = time.Duration(last * float64(time.Second))
	if len(points) < 2 {
		return r
	}

	var sxx, sxy, syy float64
	for _, p := range points {
		dx := p.T.Sub(r.Start).Seconds() - mx
		dy := p.V - my
		sxx += dx * dx
		sxy += dx * dy
		syy += dy * dy
	}
	if sxx == 0 {
		return r
	}
	r.Slope = sxy / sxx
	r.Intercept = my - r.Slope*mx
	r.SlopePerHour = r.Slope * 3600

	var ssr float64
	for _, p := range points {
		e := p.V - (r.Intercept + r.Slope*p.T.Sub(r.Start).Seconds())
		ssr += e * e
	}
	if syy > 0 {
		r.R2 = clamp(1 - ssr/syy)
	}
	if len(points) > 2 {
		r.StdErr = math.Sqrt(ssr / (n - 2) / sxx)
	}
	switch {
	case r.StdErr > 0:
		r.T = clamp(r.Slope / r.StdErr)
	case r.Slope != 0 && len(points) > 2:
		// A perfect line: no residual at all, so any slope is certain.
		r.T = math.Copysign(MaxZ, r.Slope)
	}
	r.Change = r.Slope * last
	switch {
	case my != 0:
		r.RelChange = clamp(r.Change / math.Abs(my))
	case r.Change != 0:
		r.RelChange = math.Copysign(MaxZ, r.Change)
	}
	return r
}

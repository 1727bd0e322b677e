package analysis

import (
	"math"
	"slices"
	"time"
)

// Point is one value of a series at a time.
type Point struct {
	T time.Time
	V float64
}

// MaxZ bounds z-scores and t-statistics, which are infinite when a baseline
// or a fit has no spread at all; JSON cannot carry infinity.
const MaxZ = 1e6

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of values, interpolating
// linearly between the closest ranks, as spreadsheets do. values is not
// modified. It returns NaN when values is empty.
func Quantile(values []float64, q float64) float64 {
	if len(values) == 0 {
		return math.NaN()
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return quantileSorted(s, q)
}

func quantileSorted(s []float64, q float64) float64 {
	q = min(max(q, 0), 1)
	pos := q * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	frac := pos - float64(lo)
	return s[lo] + (s[hi]-s[lo])*frac
}

// Median returns the middle of values, or NaN when empty.
func Median(values []float64) float64 { return Quantile(values, 0.5) }

// MAD returns the median absolute deviation of values from their median,
// and the median itself. Both are NaN when values is empty.
func MAD(values []float64) (mad, median float64) {
	if len(values) == 0 {
		return math.NaN(), math.NaN()
	}
	median = Median(values)
	dev := make([]float64, len(values))
	for i, v := range values {
		dev[i] = math.Abs(v - median)
	}
	return Median(dev), median
}

// SummaryResult describes a set of values. When Count is 0 the other fields
// are zero and mean nothing: show "no data", never 0.
type SummaryResult struct {
	Count int     `json:"count"`
	Avg   float64 `json:"avg"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	P95   float64 `json:"p95"`
}

// Summary returns count, average, extremes and 95th percentile of the points'
// values.
func Summary(points []Point) SummaryResult {
	if len(points) == 0 {
		return SummaryResult{}
	}
	vs := make([]float64, len(points))
	sum := 0.0
	for i, p := range points {
		vs[i] = p.V
		sum += p.V
	}
	slices.Sort(vs)
	return SummaryResult{
		Count: len(vs),
		Avg:   sum / float64(len(vs)),
		Min:   vs[0],
		Max:   vs[len(vs)-1],
		P95:   quantileSorted(vs, 0.95),
	}
}

// within returns the points no older than window before the last point's
// time; all of them when window is 0.
func within(points []Point, window time.Duration) []Point {
	if window <= 0 || len(points) == 0 {
		return points
	}
	last := points[0].T
	for _, p := range points {
		if p.T.After(last) {
			last = p.T
		}
	}
	from := last.Add(-window)
	out := make([]Point, 0, len(points))
	for _, p := range points {
		if !p.T.Before(from) {
			out = append(out, p)
		}
	}
	return out
}

func clamp(v float64) float64 {
	switch {
	case math.IsNaN(v):
		return 0
	case v > MaxZ:
		return MaxZ
	case v < -MaxZ:
		return -MaxZ
	}
	return v
}

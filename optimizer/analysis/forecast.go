package analysis

import (
	"math"
	"time"
)

// ForecastResult says when a fitted line reaches a value.
type ForecastResult struct {
	// Will is true when the line heads for Crossing. A series already past
	// Crossing and moving on is not forecast: a threshold rule covers it.
	Will     bool    `json:"will"`
	Crossing float64 `json:"crossing"`
	// Fitted is the line's value at the newest point.
	Fitted float64 `json:"fitted"`
	// SecondsUntil counts from the newest point; meaningless when Will is
	// false.
	SecondsUntil float64   `json:"seconds_until"`
	At           time.Time `json:"at"`
	// Trend is the fit the forecast stands on; forecast rules should also
	// ask Trend.Significant(), so noise does not predict a disk full.
	Trend TrendResult `json:"trend"`
}

// Evidence returns the figures behind the forecast for events.Alert.Evidence.
func (r ForecastResult) Evidence() map[string]float64 {
	ev := r.Trend.Evidence()
	ev["crossing"] = r.Crossing
	ev["fitted"] = r.Fitted
	if r.Will {
		ev["seconds_until"] = r.SecondsUntil
	}
	return ev
}

// Forecast fits a least-squares line through points and returns when it
// reaches crossing, counted from the newest point. Will is false when the
// slope is zero or points away from crossing, or with fewer than two points.
func Forecast(points []Point, crossing float64) ForecastResult {
	tr := TrendOptions{}.Trend(points, 0)
	r := ForecastResult{Crossing: crossing, Trend: tr}
	if tr.N < 2 {
		return r
	}
	newest := tr.Start.Add(tr.Span)
	r.Fitted = tr.At(newest)
	gap := crossing - r.Fitted
	if tr.Slope == 0 || (gap != 0 && math.Signbit(gap) != math.Signbit(tr.Slope)) {
		return r
	}
	r.Will = true
	r.SecondsUntil = gap / tr.Slope
	r.At = newest.Add(time.Duration(r.SecondsUntil * float64(time.Second)))
	return r
}

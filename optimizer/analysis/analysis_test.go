package analysis_test

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/tend-dev/tend/optimizer/analysis"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func hourly(vs ...float64) []analysis.Point {
	out := make([]analysis.Point, len(vs))
	for i, v := range vs {
		out[i] = analysis.Point{T: t0.Add(time.Duration(i) * time.Hour), V: v}
	}
	return out
}

func near(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s = %.6g, want %.6g (±%g)", name, got, want, tol)
	}
}

func TestTrend(t *testing.T) {
	// y = 1,3,2,5,4 at hours 0..4, worked by hand: x̄=2, ȳ=3, Sxx=10,
	// Sxy=8, slope 0.8/h, SSR=3.6, SST=10, r²=0.64, SE=√(3.6/3/10)=0.34641,
	// t=2.3094: a real slope, but not significant at |t|≥3.
	noisy := hourly(1, 3, 2, 5, 4)
	r := analysis.Trend(noisy, 0)
	near(t, "slope_per_hour", r.SlopePerHour, 0.8, 1e-12)
	near(t, "slope", r.Slope, 0.8/3600, 1e-15)
	near(t, "r2", r.R2, 0.64, 1e-12)
	near(t, "stderr", r.StdErr*3600, math.Sqrt(0.12), 1e-12)
	near(t, "t", r.T, 0.8/math.Sqrt(0.12), 1e-9)
	near(t, "intercept", r.Intercept, 1.4, 1e-12)
	if r.Verdict != analysis.Stable {
		t.Errorf("noisy verdict = %s, want stable", r.Verdict)
	}

	tests := []struct {
		name   string
		points []analysis.Point
		window time.Duration
		want   string
	}{
		{"ramp", hourly(10, 12, 14, 16, 18, 20, 22, 24), 0, analysis.Rising},
		{"falling with noise", hourly(100, 97.5, 96, 93.5, 92, 89.5, 88, 85.5), 0, analysis.Falling},
		{"flat", hourly(5, 5, 5, 5, 5, 5), 0, analysis.Stable},
		{"tiny slope", hourly(1000, 1000.1, 1000.2, 1000.3, 1000.4, 1000.5), 0, analysis.Stable},
		{"too few", hourly(1, 2, 3), 0, analysis.Unknown},
		// Only the last 4 hours count: flat after an early jump.
		{"window", hourly(0, 0, 0, 50, 50, 50, 50, 50), 4 * time.Hour, analysis.Stable},
		{"empty", nil, 0, analysis.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analysis.Trend(tc.points, tc.window)
			if r.Verdict != tc.want {
				t.Fatalf("verdict = %s, want %s (t=%g rel=%g)", r.Verdict, tc.want, r.T, r.RelChange)
			}
			if _, err := json.Marshal(r.Evidence()); err != nil {
				t.Fatalf("evidence does not encode: %v", err)
			}
		})
	}

	// The ramp is a perfect line: r²=1, slope 2/h, t clamped to MaxZ.
	ramp := analysis.Trend(hourly(10, 12, 14, 16, 18, 20, 22, 24), 0)
	near(t, "ramp slope_per_hour", ramp.SlopePerHour, 2, 1e-9)
	near(t, "ramp r2", ramp.R2, 1, 1e-12)
	if ramp.T < 1e3 {
		t.Errorf("ramp t = %g, want huge", ramp.T)
	}
}

func TestAnomaly(t *testing.T) {
	// 1..9: median 5, |deviations| 4,3,2,1,0,1,2,3,4 → MAD 2.
	base := hourly(1, 2, 3, 4, 5, 6, 7, 8, 9)
	at := t0.Add(24 * time.Hour)

	tests := []struct {
		name      string
		value     float64
		base      []analysis.Point
		opts      analysis.AnomalyOptions
		z         float64
		anomalous bool
		dir       string
	}{
		{"spike", 20, base, analysis.AnomalyOptions{}, 0.6745 * 15 / 2, true, analysis.High},
		{"within", 8, base, analysis.AnomalyOptions{}, 0.6745 * 3 / 2, false, ""},
		{"dip", -10, base, analysis.AnomalyOptions{}, 0.6745 * -15 / 2, true, analysis.Low},
		{"custom threshold", 8, base, analysis.AnomalyOptions{Threshold: 1}, 0.6745 * 3 / 2, true, analysis.High},
		// MAD 0: six 5s and a 9; mean |deviation| 4/7 stands in.
		{"mad zero", 9, hourly(5, 5, 5, 5, 5, 5, 9), analysis.AnomalyOptions{},
			4 / (1.253314 * 4 / 7), true, analysis.High},
		{"all equal", 6, hourly(5, 5, 5, 5, 5), analysis.AnomalyOptions{}, analysis.MaxZ, true, analysis.High},
		{"equal value", 5, hourly(5, 5, 5, 5, 5), analysis.AnomalyOptions{}, 0, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analysis.Anomaly(analysis.Point{T: at, V: tc.value}, tc.base, tc.opts)
			near(t, "z", r.Z, tc.z, 1e-9)
			if r.Anomalous != tc.anomalous || r.Direction != tc.dir {
				t.Errorf("anomalous=%v %q, want %v %q", r.Anomalous, r.Direction, tc.anomalous, tc.dir)
			}
			if _, err := json.Marshal(r.Evidence()); err != nil {
				t.Fatalf("evidence does not encode: %v", err)
			}
		})
	}

	r := analysis.Anomaly(analysis.Point{T: at, V: 50}, hourly(1, 2), analysis.AnomalyOptions{})
	if !r.Insufficient || r.Anomalous {
		t.Errorf("two-point baseline: insufficient=%v anomalous=%v", r.Insufficient, r.Anomalous)
	}
}

func TestAnomalyByHour(t *testing.T) {
	// A week of hourly points: 100 at 03:00 every day, about 10 otherwise.
	var base []analysis.Point
	for h := 0; h < 7*24; h++ {
		v := 10 + float64(h%3)
		if h%24 == 3 {
			v = 100 + float64((h/24)%2)
		}
		base = append(base, analysis.Point{T: t0.Add(time.Duration(h) * time.Hour), V: v})
	}
	value := analysis.Point{T: t0.Add(7*24*time.Hour + 3*time.Hour), V: 100}

	if r := analysis.Anomaly(value, base, analysis.AnomalyOptions{}); !r.Anomalous {
		t.Errorf("against all hours: z=%g, want anomalous", r.Z)
	}
	r := analysis.Anomaly(value, base, analysis.AnomalyOptions{ByHour: true})
	if r.Anomalous || r.Hour != 3 || r.N != 7 {
		t.Errorf("by hour: anomalous=%v hour=%d n=%d, want false 3 7", r.Anomalous, r.Hour, r.N)
	}
	// The seven 03:00 values are 100,101,100,...: median 100, z 0.
	near(t, "median", r.Median, 100, 0)
	near(t, "z", r.Z, 0, 0)
}

func TestForecast(t *testing.T) {
	// y = 50 + h for h = 0..9: at h=9 the line is at 59 and gains 1/h,
	// so it reaches 90 after 31 hours.
	up := hourly(50, 51, 52, 53, 54, 55, 56, 57, 58, 59)
	r := analysis.Forecast(up, 90)
	if !r.Will {
		t.Fatal("rising line does not reach 90")
	}
	near(t, "seconds_until", r.SecondsUntil, 31*3600, 1e-6)
	near(t, "fitted", r.Fitted, 59, 1e-9)
	if want := t0.Add(40 * time.Hour); !r.At.Equal(want) {
		t.Errorf("at = %v, want %v", r.At, want)
	}
	if ev := r.Evidence(); ev["seconds_until"] != r.SecondsUntil {
		t.Errorf("evidence seconds_until = %g", ev["seconds_until"])
	}

	tests := []struct {
		name     string
		points   []analysis.Point
		crossing float64
		will     bool
		secs     float64
	}{
		{"away", up, 40, false, 0},
		{"flat", hourly(5, 5, 5, 5), 10, false, 0},
		{"one point", hourly(5), 10, false, 0},
		// Free space 20, 18, ..., 10 loses 2/h: 0 is 5 hours past h=5.
		{"falling to zero", hourly(20, 18, 16, 14, 12, 10), 0, true, 5 * 3600},
		{"at it", up, 59, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := analysis.Forecast(tc.points, tc.crossing)
			if r.Will != tc.will {
				t.Fatalf("will = %v, want %v", r.Will, tc.will)
			}
			if tc.will {
				near(t, "seconds_until", r.SecondsUntil, tc.secs, 1e-6)
			}
		})
	}
}

func TestSummaryQuantile(t *testing.T) {
	near(t, "p95", analysis.Quantile([]float64{4, 1, 3, 2}, 0.95), 3.85, 1e-12)
	near(t, "p50", analysis.Quantile([]float64{4, 1, 3, 2}, 0.5), 2.5, 1e-12)
	if !math.IsNaN(analysis.Quantile(nil, 0.5)) {
		t.Error("quantile of nothing is not NaN")
	}
	s := analysis.Summary(hourly(3, 1, 2, 10))
	want := analysis.SummaryResult{Count: 4, Avg: 4, Min: 1, Max: 10, P95: 3 + 7*0.85}
	if math.Abs(s.P95-want.P95) > 1e-9 {
		t.Errorf("p95 = %g, want %g", s.P95, want.P95)
	}
	s.P95 = want.P95
	if s != want {
		t.Errorf("summary = %+v, want %+v", s, want)
	}
	if (analysis.Summary(nil) != analysis.SummaryResult{}) {
		t.Error("summary of nothing is not zero")
	}
}

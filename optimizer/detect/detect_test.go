package detect_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/optimizer/analysis"
	"github.com/tend-dev/tend/optimizer/detect"
)

var t0 = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

func compile(t *testing.T, yaml string) *detect.Rule {
	t.Helper()
	cfg, err := config.Parse("tend.yaml", []byte("rules:\n"+yaml))
	if err != nil {
		t.Fatal(err)
	}
	r, err := detect.Compile(cfg.Rules[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// every10m returns values at ten-minute steps from t0.
func every10m(vs ...float64) []analysis.Point {
	out := make([]analysis.Point, len(vs))
	for i, v := range vs {
		out[i] = analysis.Point{T: t0.Add(time.Duration(i) * 10 * time.Minute), V: v}
	}
	return out
}

func ramp(from, by float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = from + by*float64(i)
	}
	return out
}

func TestForecast(t *testing.T) {
	r := compile(t, `  - {name: disk, kind: forecast, metric: host.disk.used_percent, above: 95, window: 6h,
     analysis: {step: 10m}}
`)
	since, until, step := r.Range(t0.Add(6 * time.Hour))
	if !since.Equal(t0) || !until.Equal(t0.Add(6*time.Hour)) || step != 10*time.Minute {
		t.Errorf("range = %v %v %v", since, until, step)
	}
	// 50, 51, ... 85 at ten-minute steps: 6 per hour, at 85 after 35
	// steps, so 95 is 10/6 h = 6000 s away.
	pts := every10m(ramp(50, 1, 36)...)
	res := r.Evaluate(pts)
	if !res.Firing || math.Abs(res.Evidence["seconds_until"]-6000) > 1e-6 || res.Value != 85 {
		t.Fatalf("result = %+v", res)
	}
	if !strings.Contains(res.Summary, "reaches 95 in 1h40m0s") {
		t.Errorf("summary = %q", res.Summary)
	}

	soon := compile(t, `  - {name: disk, kind: forecast, metric: m, above: 95, analysis: {within: 1h}}
`)
	if res := soon.Evaluate(pts); res.Firing {
		t.Errorf("1h40m away fired a 1h forecast: %s", res.Summary)
	}
	if res := r.Evaluate(every10m(ramp(85, -1, 36)...)); res.Firing {
		t.Errorf("falling series fired: %s", res.Summary)
	}
	if _, err := detect.Compile(config.Rule{Name: "x", Kind: "forecast"}); err == nil {
		t.Error("forecast without above or below compiled")
	}
}

func TestTrend(t *testing.T) {
	rising := compile(t, "  - {name: up, kind: trend, metric: m, window: 6h, analysis: {direction: rising}}\n")
	falling := compile(t, "  - {name: down, kind: trend, metric: m, window: 6h, analysis: {direction: falling}}\n")
	up := every10m(ramp(50, 1, 36)...)
	if res := rising.Evaluate(up); !res.Firing || math.Abs(res.Value-6) > 1e-9 {
		t.Errorf("rising = %+v", res)
	}
	if res := falling.Evaluate(up); res.Firing {
		t.Errorf("falling rule fired on a rise: %s", res.Summary)
	}
	if res := rising.Evaluate(every10m(5, 5, 5)); res.Firing || !res.Insufficient {
		t.Errorf("three points = %+v", res)
	}
	_, err := detect.Compile(config.Rule{Name: "x", Kind: "trend", Settings: config.Node{}})
	if err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestAnomaly(t *testing.T) {
	r := compile(t, "  - {name: odd, kind: anomaly, metric: m, window: 10m, analysis: {baseline: 2h}}\n")
	since, _, step := r.Range(t0.Add(3 * time.Hour))
	if !since.Equal(t0.Add(50*time.Minute)) || step != 10*time.Minute {
		t.Errorf("range from %v step %v", since, step)
	}
	// Baseline 1..9: median 5, MAD 2; the newest step at 20 gives
	// z = 0.6745·15/2.
	res := r.Evaluate(every10m(1, 2, 3, 4, 5, 6, 7, 8, 9, 20))
	if !res.Firing || math.Abs(res.Evidence["z"]-0.6745*15/2) > 1e-9 || res.Value != 20 {
		t.Errorf("result = %+v", res)
	}
	if res := r.Evaluate(every10m(1, 2, 3, 4, 5, 6, 7, 8, 9, 6)); res.Firing {
		t.Errorf("ordinary value fired: %s", res.Summary)
	}
	if res := r.Evaluate(nil); res.Firing || !res.Insufficient {
		t.Errorf("no data = %+v", res)
	}
}

func TestMeans(t *testing.T) {
	pts := []history.Point{{Time: t0, Count: 4, Sum: 10}, {Time: t0.Add(time.Hour)}}
	got := detect.Means(pts, time.Hour)
	if len(got) != 1 || got[0].V != 2.5 || !got[0].T.Equal(t0.Add(30*time.Minute)) {
		t.Errorf("means = %+v", got)
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := detect.Compile(config.Rule{Name: "t", Kind: "threshold"})
	if err == nil {
		t.Error("threshold compiled")
	}
	cfg, err := config.Parse("tend.yaml", []byte(
		"rules:\n  - {name: t, kind: trend, metric: m, analysis: {direction: sideways}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := detect.Compile(cfg.Rules[0]); err == nil || !strings.Contains(err.Error(), "sideways") {
		t.Errorf("bad direction: %v", err)
	}
	cfg, err = config.Parse("tend.yaml", []byte(
		"rules:\n  - {name: t, kind: trend, metric: m, analysis: {wobble: 1}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := detect.Compile(cfg.Rules[0]); err == nil || !strings.Contains(err.Error(), "wobble") {
		t.Errorf("unknown key: %v", err)
	}
}

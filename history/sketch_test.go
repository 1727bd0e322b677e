package history

import (
	"math"
	"slices"
	"testing"
)

func TestSketchQuantile(t *testing.T) {
	tests := []struct {
		name   string
		values []float64
	}{
		{"uniform", seq(1, 10000, 1)},
		{"wide", seq(0.001, 1e6, 997.3)},
		{"negative and zero", append(append(seq(-500, -1, 1), 0, 0, 0), seq(1, 500, 1)...)},
		{"constant", slices.Repeat([]float64{42.5}, 100)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var s Sketch
			for _, v := range tc.values {
				s.Add(v)
			}
			if s.Count() != uint64(len(tc.values)) {
				t.Fatalf("count = %d, want %d", s.Count(), len(tc.values))
			}
			sorted := slices.Clone(tc.values)
			slices.Sort(sorted)
			for _, q := range []float64{0, 0.01, 0.25, 0.5, 0.9, 0.95, 0.99, 1} {
				want := sorted[int(q*float64(len(sorted)-1))]
				got := s.Quantile(q)
				if math.Abs(got-want) > 0.0101*math.Abs(want) {
					t.Errorf("q%.2f = %g, want %g within 1%%", q, got, want)
				}
			}
		})
	}
}

func TestSketchMerge(t *testing.T) {
	var a, b, all Sketch
	for i, v := range seq(-50, 5000, 3.7) {
		all.Add(v)
		if i%2 == 0 {
			a.Add(v)
		} else {
			b.Add(v)
		}
	}
	a.Merge(&b)
	for _, q := range []float64{0, 0.5, 0.95, 1} {
		if a.Quantile(q) != all.Quantile(q) {
			t.Errorf("merged q%.2f = %g, want %g", q, a.Quantile(q), all.Quantile(q))
		}
	}
	var empty Sketch
	if !math.IsNaN(empty.Quantile(0.5)) {
		t.Error("empty sketch has a median")
	}
}

func TestBinsCollapse(t *testing.T) {
	var s Sketch
	s.Add(1e-8)
	s.Add(1e300)
	if n := len(s.Pos.Counts); n > maxBins {
		t.Fatalf("bins = %d, want at most %d", n, maxBins)
	}
	if s.Count() != 2 || s.Quantile(1) < 1e299 {
		t.Errorf("count %d max %g", s.Count(), s.Quantile(1))
	}
}

func seq(from, to, step float64) []float64 {
	var out []float64
	for v := from; v <= to; v += step {
		out = append(out, v)
	}
	return out
}

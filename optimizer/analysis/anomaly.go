package analysis

import (
	"math"
	"time"
)

// madScale turns a median absolute deviation into the standard deviation
// of a normal distribution with that MAD (1/0.6745); meanADScale does the
// same for the mean absolute deviation (√(π/2)).
const (
	madScale    = 0.6745
	meanADScale = 1.253314
)

// AnomalyOptions configure [Anomaly]. The zero value uses the defaults.
type AnomalyOptions struct {
	// Threshold is the |z| at and above which a value is anomalous.
	// Default 3.5.
	Threshold float64
	// ByHour compares the value only with baseline points of the same hour
	// of day, for series with a daily rhythm.
	ByHour bool
	// Location gives the hour of day for ByHour. Default UTC.
	Location *time.Location
	// MinBaseline is the fewest baseline points that make a judgement.
	// Default 5.
	MinBaseline int
}

func (o AnomalyOptions) withDefaults() AnomalyOptions {
	if o.Threshold <= 0 {
		o.Threshold = 3.5
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	if o.MinBaseline <= 0 {
		o.MinBaseline = 5
	}
	return o
}

// Directions of an anomaly.
const (
	High = "high"
	Low  = "low"
)

// AnomalyResult compares one value with its baseline.
type AnomalyResult struct {
	Value     float64 `json:"value"`
	Z         float64 `json:"z"`
	Median    float64 `json:"median"`
	MAD       float64 `json:"mad"`
	N         int     `json:"n"` // baseline points used
	Anomalous bool    `json:"anomalous"`
	// Direction is high or low when Anomalous.
	Direction string `json:"direction,omitempty"`
	// Hour is the hour of day compared when ByHour was set, else -1.
	Hour int `json:"hour"`
	// Insufficient is true when the baseline had fewer than MinBaseline
	// points; Z is then 0.
	Insufficient bool `json:"insufficient,omitempty"`
}

// Evidence returns the figures behind the result for events.Alert.Evidence.
func (r AnomalyResult) Evidence() map[string]float64 {
	ev := map[string]float64{
		"value":  r.Value,
		"z":      r.Z,
		"median": r.Median,
		"mad":    r.MAD,
		"n":      float64(r.N),
	}
	if r.Hour >= 0 {
		ev["hour"] = float64(r.Hour)
	}
	return ev
}

// Anomaly returns the robust z-score of value against baseline,
// 0.6745·(x − median)/MAD. The baseline should not contain value itself.
// When the MAD is 0 (over half the baseline is one value) the mean absolute
// deviation stands in, z = (x − median)/(1.2533·meanAD); when that is 0 too,
// any other value gets z = ±[MaxZ].
func Anomaly(value Point, baseline []Point, opts AnomalyOptions) AnomalyResult {
	opts = opts.withDefaults()
	r := AnomalyResult{Value: value.V, Hour: -1}

	vs := make([]float64, 0, len(baseline))
	if opts.ByHour {
		r.Hour = value.T.In(opts.Location).Hour()
	}
	for _, p := range baseline {
		if opts.ByHour && p.T.In(opts.Location).Hour() != r.Hour {
			continue
		}
		vs = append(vs, p.V)
	}
	r.N = len(vs)
	if r.N < opts.MinBaseline {
		r.Insufficient = true
		if r.N > 0 {
			r.MAD, r.Median = MAD(vs)
		}
		return r
	}

	r.MAD, r.Median = MAD(vs)
	dev := value.V - r.Median
	switch {
	case dev == 0:
		r.Z = 0
	case r.MAD > 0:
		r.Z = clamp(madScale * dev / r.MAD)
	default:
		meanAD := 0.0
		for _, v := range vs {
			meanAD += math.Abs(v - r.Median)
		}
		meanAD /= float64(len(vs))
		if meanAD > 0 {
			r.Z = clamp(dev / (meanADScale * meanAD))
		} else {
			r.Z = math.Copysign(MaxZ, dev)
		}
	}
	if math.Abs(r.Z) >= opts.Threshold {
		r.Anomalous = true
		r.Direction = High
		if r.Z < 0 {
			r.Direction = Low
		}
	}
	return r
}

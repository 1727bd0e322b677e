package collector

import (
	"sync"
	"time"
)

// Rates turns monotonically increasing counters into per-second rates. A
// counter that goes down (a restart of the thing counted) starts afresh
// instead of giving a negative rate. Safe for concurrent use.
type Rates struct {
	mu   sync.Mutex
	last map[string]counterPoint
}

type counterPoint struct {
	v float64
	t time.Time
}

// NewRates returns an empty rate tracker.
func NewRates() *Rates { return &Rates{last: map[string]counterPoint{}} }

// Rate records counter key at value v and time t, and returns the rate per
// second since the previous value. ok is false on the first value, after a
// reset, or when no time has passed.
func (r *Rates) Rate(key string, v float64, t time.Time) (rate float64, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()

	prev, seen := r.last[key]
	r.last[key] = counterPoint{v: v, t: t}
	if !seen || v < prev.v {
		return 0, false
	}
	dt := t.Sub(prev.t).Seconds()
	if dt <= 0 {
		return 0, false
	}
	return (v - prev.v) / dt, true
}

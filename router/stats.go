package router

import (
	"context"
	"encoding/json"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/tend-dev/tend/bus"
)

// latencyBuckets are upper bounds in seconds, shared by the analytics
// percentiles and the Prometheus histogram.
var latencyBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
}

// Health of an integration.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded"
	HealthFailing  = "failing"
)

// Stats are one integration's delivery analytics, as kept in tend_stats
// (one key per hub) and shown by `tend integrations`.
type Stats struct {
	Integration         string    `json:"integration"`
	Type                string    `json:"type,omitempty"`
	Delivered           uint64    `json:"delivered"`
	FailedAttempts      uint64    `json:"failed_attempts"`
	Retried             uint64    `json:"retried"`
	DeadLettered        uint64    `json:"dead_lettered"`
	ConsecutiveFailures uint64    `json:"consecutive_failures"`
	LastSuccess         time.Time `json:"last_success,omitzero"`
	LastErrorAt         time.Time `json:"last_error_at,omitzero"`
	LastError           string    `json:"last_error,omitempty"`
	// Buckets counts successful delivery latencies per latencyBuckets bound,
	// plus one overflow bucket.
	Buckets    []uint64 `json:"buckets"`
	SumSeconds float64  `json:"sum_seconds"`

	P50    float64 `json:"p50_seconds"`
	P95    float64 `json:"p95_seconds"`
	P99    float64 `json:"p99_seconds"`
	Health string  `json:"health"`
}

// Attempts is the number of attempts made: successes plus failures.
func (s *Stats) Attempts() uint64 { return s.Delivered + s.FailedAttempts }

func (s *Stats) observe(d time.Duration) {
	if len(s.Buckets) != len(latencyBuckets)+1 {
		s.Buckets = make([]uint64, len(latencyBuckets)+1)
	}
	sec := d.Seconds()
	i := sort.SearchFloat64s(latencyBuckets, sec)
	s.Buckets[i]++
	s.SumSeconds += sec
}

// finish derives percentiles and health from the counters.
func (s *Stats) finish() {
	s.P50, s.P95, s.P99 = s.quantile(0.5), s.quantile(0.95), s.quantile(0.99)
	switch {
	case s.ConsecutiveFailures >= 5:
		s.Health = HealthFailing
	case s.ConsecutiveFailures > 0,
		!s.LastErrorAt.IsZero() && time.Since(s.LastErrorAt) < 15*time.Minute && s.DeadLettered > 0:
		s.Health = HealthDegraded
	default:
		s.Health = HealthOK
	}
}

// quantile interpolates within the histogram bucket holding q.
func (s *Stats) quantile(q float64) float64 {
	var total uint64
	for _, c := range s.Buckets {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := q * float64(total)
	var seen float64
	for i, c := range s.Buckets {
		if seen+float64(c) >= rank && c > 0 {
			lo := 0.0
			if i > 0 {
				lo = latencyBuckets[i-1]
			}
			hi := lo * 2
			if i < len(latencyBuckets) {
				hi = latencyBuckets[i]
			}
			return lo + (hi-lo)*(rank-seen)/float64(c)
		}
		seen += float64(c)
	}
	return latencyBuckets[len(latencyBuckets)-1]
}

// merge adds other hub's counters to s.
func (s *Stats) merge(o Stats) {
	s.Delivered += o.Delivered
	s.FailedAttempts += o.FailedAttempts
	s.Retried += o.Retried
	s.DeadLettered += o.DeadLettered
	s.ConsecutiveFailures = max(s.ConsecutiveFailures, o.ConsecutiveFailures)
	if o.LastSuccess.After(s.LastSuccess) {
		s.LastSuccess = o.LastSuccess
	}
	if o.LastErrorAt.After(s.LastErrorAt) {
		s.LastErrorAt, s.LastError = o.LastErrorAt, o.LastError
	}
	if len(s.Buckets) < len(o.Buckets) {
		s.Buckets = append(s.Buckets, make([]uint64, len(o.Buckets)-len(s.Buckets))...)
	}
	for i, c := range o.Buckets {
		s.Buckets[i] += c
	}
	s.SumSeconds += o.SumSeconds
}

// analytics holds this hub's counters for every integration and writes
// them to tend_stats.
type analytics struct {
	hub string
	kv  bus.KV

	mu    sync.Mutex
	stats map[string]*Stats
	dirty map[string]bool
}

func newAnalytics(hub string, kv bus.KV) *analytics {
	return &analytics{hub: hub, kv: kv, stats: map[string]*Stats{}, dirty: map[string]bool{}}
}

func statsKey(integration, hub string) string {
	return "stats." + integration + "." + hubToken(hub)
}

func hubToken(hub string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, hub)
}

// load resumes this hub's counters from tend_stats.
func (a *analytics) load(ctx context.Context, name, typ string) {
	s := &Stats{Integration: name, Type: typ}
	if b, err := a.kv.Get(ctx, statsKey(name, a.hub)); err == nil {
		_ = json.Unmarshal(b, s)
	}
	s.Type = typ
	a.mu.Lock()
	a.stats[name] = s
	a.mu.Unlock()
}

func (a *analytics) update(name string, f func(s *Stats)) {
	a.mu.Lock()
	s := a.stats[name]
	if s == nil {
		s = &Stats{Integration: name}
		a.stats[name] = s
	}
	f(s)
	a.dirty[name] = true
	a.mu.Unlock()
}

func (a *analytics) success(name string, d time.Duration) {
	a.update(name, func(s *Stats) {
		s.Delivered++
		s.ConsecutiveFailures = 0
		s.LastSuccess = time.Now().UTC()
		s.observe(d)
	})
}

func (a *analytics) failure(name, msg string, retried, dead bool) {
	a.update(name, func(s *Stats) {
		s.FailedAttempts++
		s.ConsecutiveFailures++
		s.LastErrorAt = time.Now().UTC()
		s.LastError = msg
		if retried {
			s.Retried++
		}
		if dead {
			s.DeadLettered++
		}
	})
}

// deadNoAttempt counts a dead letter that made no attempt (e.g. an event
// that could not be decoded).
func (a *analytics) deadNoAttempt(name, msg string) {
	a.update(name, func(s *Stats) {
		s.DeadLettered++
		s.LastErrorAt = time.Now().UTC()
		s.LastError = msg
	})
}

// flush writes changed counters to tend_stats.
func (a *analytics) flush(ctx context.Context) {
	a.mu.Lock()
	var out []Stats
	for name := range a.dirty {
		out = append(out, *a.stats[name])
	}
	a.dirty = map[string]bool{}
	a.mu.Unlock()

	for _, s := range out {
		s.Buckets = append([]uint64(nil), s.Buckets...)
		b, _ := json.Marshal(s)
		_ = a.kv.Put(ctx, statsKey(s.Integration, a.hub), b)
	}
}

// snapshot returns this hub's counters without touching KV.
func (a *analytics) snapshot() map[string]Stats {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]Stats, len(a.stats))
	for k, s := range a.stats {
		c := *s
		c.Buckets = append([]uint64(nil), s.Buckets...)
		out[k] = c
	}
	return out
}

// LoadStats reads every hub's counters from tend_stats and merges them per
// integration.
func LoadStats(ctx context.Context, kv bus.KV) (map[string]Stats, error) {
	keys, err := kv.Keys(ctx, "stats.>")
	if err != nil && !strings.Contains(err.Error(), "no keys") {
		return nil, err
	}
	out := map[string]Stats{}
	for _, k := range keys {
		b, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var s Stats
		if json.Unmarshal(b, &s) != nil {
			continue
		}
		m := out[s.Integration]
		m.Integration = s.Integration
		if m.Type == "" {
			m.Type = s.Type
		}
		m.merge(s)
		out[s.Integration] = m
	}
	for k, s := range out {
		s.finish()
		out[k] = s
	}
	return out, nil
}

// roundMs keeps latencies readable in JSON.
func roundMs(v float64) float64 { return math.Round(v*1e6) / 1e6 }

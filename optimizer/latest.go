package optimizer

import (
	"sort"
	"sync"
	"time"

	"github.com/tend-dev/tend/events"
)

// Latest keeps the most recent sample of every series. Safe for concurrent
// use.
type Latest struct {
	mu     sync.RWMutex
	series map[string]events.Metric
}

// NewLatest returns an empty table.
func NewLatest() *Latest { return &Latest{series: map[string]events.Metric{}} }

// Put records m if it is newer than what is held for its series.
func (l *Latest) Put(m events.Metric) {
	key := m.Host + "|" + events.SeriesKey(m.Name, m.Labels)
	l.mu.Lock()
	if old, ok := l.series[key]; !ok || !m.Time.Before(old.Time) {
		l.series[key] = m
	}
	l.mu.Unlock()
}

// All returns every series' latest sample, sorted by name, host and labels.
func (l *Latest) All() []events.Metric {
	l.mu.RLock()
	out := make([]events.Metric, 0, len(l.series))
	for _, m := range l.series {
		out = append(out, m)
	}
	l.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return events.SeriesKey("", a.Labels) < events.SeriesKey("", b.Labels)
	})
	return out
}

// Since returns the time of the newest sample held, or zero.
func (l *Latest) Newest() time.Time {
	l.mu.RLock()
	defer l.mu.RUnlock()
	var t time.Time
	for _, m := range l.series {
		if m.Time.After(t) {
			t = m.Time
		}
	}
	return t
}

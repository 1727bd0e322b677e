package history

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// clockSlack widens every time-based read: a sample may be stored a little
// before the time it carries when its host's clock runs ahead.
const clockSlack = 5 * time.Minute

// maxFilters is the most per-metric subject filters a reader gets; past it
// the reader takes the whole resolution and drops the rest itself.
const maxFilters = 64

// Point summarises a series over one step of a query.
type Point struct {
	// Time is the step's start.
	Time  time.Time `json:"time"`
	Count uint64    `json:"count"`
	Min   float64   `json:"min"`
	Max   float64   `json:"max"`
	Sum   float64   `json:"sum"`
	// Sketch holds the step's distribution for quantiles.
	Sketch *Sketch `json:"-"`
}

// Mean returns the average value in the step.
func (p Point) Mean() float64 {
	if p.Count == 0 {
		return math.NaN()
	}
	return p.Sum / float64(p.Count)
}

// Quantile returns the step's q-quantile, within 1% and never outside
// [Min, Max]; NaN for an empty step.
func (p Point) Quantile(q float64) float64 {
	if p.Count == 0 || p.Sketch == nil {
		return math.NaN()
	}
	return min(max(p.Sketch.Quantile(q), p.Min), p.Max)
}

func (p *Point) merge(count uint64, lo, hi, sum float64, sk *Sketch) {
	if count == 0 {
		return
	}
	if p.Count == 0 || lo < p.Min {
		p.Min = lo
	}
	if p.Count == 0 || hi > p.Max {
		p.Max = hi
	}
	p.Count += count
	p.Sum += sum
	if p.Sketch == nil {
		p.Sketch = &Sketch{}
	}
	p.Sketch.Merge(sk)
}

func (p *Point) add(v float64) {
	if p.Count == 0 || v < p.Min {
		p.Min = v
	}
	if p.Count == 0 || v > p.Max {
		p.Max = v
	}
	p.Count++
	p.Sum += v
	if p.Sketch == nil {
		p.Sketch = &Sketch{}
	}
	p.Sketch.Add(v)
}

// Query returns metric over [since, until) in steps of step, all hosts and
// label sets together; see [Store.QueryAll].
func (s *Store) Query(ctx context.Context, metric string, since, until time.Time,
	step time.Duration) ([]Point, error) {
	all, err := s.QueryAll(ctx, []string{metric}, since, until, step)
	return all[metric], err
}

// QueryAll returns each metric over [since, until) in steps of step, all
// hosts and label sets of a metric merged. since is moved back to a multiple
// of step, so steps line up with rollup buckets. Steps without samples are
// left out; a metric without any has no points.
//
// It reads hourly rollups when step is a multiple of an hour, then
// one-minute rollups (when step is a multiple of a minute) from where those
// end, then raw samples from METRICS for the rest, so a long range costs
// one or two rollups per hour and only the open hour is read raw. An hour
// stored twice (flushed again after more samples) counts once, with the
// most samples.
//
// NOTE: a gap in the rollups (no aggregator running while samples were
// stored) is not filled from raw samples unless it is at the end. A step
// that until cuts short holds a whole hourly rollup, samples past until
// included.
func (s *Store) QueryAll(ctx context.Context, metrics []string, since, until time.Time,
	step time.Duration) (map[string][]Point, error) {
	if step <= 0 || !until.After(since) {
		return nil, fmt.Errorf("query %v..%v step %v: %w", since, until, step, ErrBadRange)
	}
	since = since.Truncate(step)
	n := int((until.Sub(since) + step - 1) / step)
	acc := make(map[string][]Point, len(metrics))
	cursor := make(map[string]time.Time, len(metrics))
	for _, m := range metrics {
		acc[m] = make([]Point, n)
		cursor[m] = since
	}
	slot := func(t time.Time) int {
		if t.Before(since) || !t.Before(until) {
			return -1
		}
		return int(t.Sub(since) / step)
	}

	for _, res := range resolutions {
		if step < res.D() || step%res.D() != 0 {
			continue
		}
		if err := s.readRollups(ctx, res, acc, cursor, until, slot); err != nil {
			return nil, err
		}
	}
	if err := s.readRaw(ctx, acc, cursor, until, slot); err != nil {
		return nil, err
	}

	out := make(map[string][]Point, len(acc))
	for m, pts := range acc {
		var kept []Point
		for i, p := range pts {
			if p.Count > 0 {
				p.Time = since.Add(time.Duration(i) * step)
				kept = append(kept, p)
			}
		}
		out[m] = kept
	}
	return out, nil
}

// behind returns the metrics whose cursor is before until, the earliest
// cursor among them, and subject filters for them built by filter.
func behind(cursor map[string]time.Time, until time.Time, filter func(string) string,
	all string) (map[string]bool, time.Time, []string) {
	pending := map[string]bool{}
	var from time.Time
	for m, c := range cursor {
		if !c.Before(until) {
			continue
		}
		pending[m] = true
		if from.IsZero() || c.Before(from) {
			from = c
		}
	}
	if len(pending) > maxFilters {
		return pending, from, []string{all}
	}
	filters := make([]string, 0, len(pending))
	for m := range pending {
		filters = append(filters, filter(m))
	}
	return pending, from, filters
}

func (s *Store) readRollups(ctx context.Context, res Resolution, acc map[string][]Point,
	cursor map[string]time.Time, until time.Time, slot func(time.Time) int) error {
	pending, from, filters := behind(cursor, until,
		func(m string) string { return rollupFilter(res, m) },
		SubjectRollups+"."+res.String()+".>")
	if len(pending) == 0 {
		return nil
	}

	type key struct {
		series string
		start  int64
	}
	best := map[key]*Rollup{}
	err := s.read(ctx, StreamRollups, filters, from.Add(-clockSlack), func(msg jetstream.Msg) error {
		var r Rollup
		if err := json.Unmarshal(msg.Data(), &r); err != nil {
			s.log.Warn("skip bad rollup", "subject", msg.Subject(), "error", err)
			return nil
		}
		if !pending[r.Name] || !r.end().After(cursor[r.Name]) || !r.Start.Before(until) {
			return nil
		}
		k := key{seriesID(r.Host, r.Name, r.Labels), r.Start.Unix()}
		if old := best[k]; old == nil || r.Count > old.Count {
			best[k] = &r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("query %s rollups: %w", res, err)
	}

	reached := map[string]time.Time{}
	for _, r := range best {
		from := cursor[r.Name]
		if res == Hour {
			if i := slot(r.Start); i >= 0 && !r.Start.Before(from) {
				acc[r.Name][i].merge(r.Count, r.Min, r.Max, r.Sum, &r.Sketch)
			}
		}
		for _, b := range r.Minutes {
			t := r.Start.Add(time.Duration(b.Minute) * time.Minute)
			if i := slot(t); i >= 0 && !t.Before(from) {
				acc[r.Name][i].merge(b.Count, b.Min, b.Max, b.Sum, &b.Sketch)
			}
		}
		if end := r.end(); end.After(reached[r.Name]) {
			reached[r.Name] = end
		}
	}
	for m, t := range reached {
		if t.After(cursor[m]) {
			cursor[m] = t
		}
	}
	return nil
}

func (s *Store) readRaw(ctx context.Context, acc map[string][]Point,
	cursor map[string]time.Time, until time.Time, slot func(time.Time) int) error {
	pending, from, filters := behind(cursor, until, events.MetricFilter, events.SubjectMetrics+".>")
	if len(pending) == 0 {
		return nil
	}
	err := s.read(ctx, StreamMetrics, filters, from.Add(-clockSlack), func(msg jetstream.Msg) error {
		m, _, err := decodeMetric(msg.Data())
		if err != nil {
			s.log.Debug("skip bad sample", "subject", msg.Subject(), "error", err)
			return nil
		}
		if !pending[m.Name] || m.Time.Before(cursor[m.Name]) {
			return nil
		}
		if i := slot(m.Time); i >= 0 {
			acc[m.Name][i].add(m.Value)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("query raw samples: %w", err)
	}
	return nil
}

// decodeMetric reads a metric event as the collector stores it, and the
// event's source.
func decodeMetric(b []byte) (events.Metric, string, error) {
	var ev struct {
		Type   string          `json:"type"`
		Source string          `json:"source"`
		Data   json.RawMessage `json:"data"`
	}
	var m events.Metric
	if err := json.Unmarshal(b, &ev); err != nil {
		return m, "", fmt.Errorf("decode event: %w", err)
	}
	if ev.Type != events.TypeMetric {
		return m, "", fmt.Errorf("event type %q is not a metric", ev.Type)
	}
	if err := json.Unmarshal(ev.Data, &m); err != nil {
		return m, "", fmt.Errorf("decode metric: %w", err)
	}
	return m, ev.Source, nil
}

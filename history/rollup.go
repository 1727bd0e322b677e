package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// Rollup summarises the samples of one series in one bucket. It is stored
// as JSON on [RollupSubject].
type Rollup struct {
	Res    string            `json:"res"`
	Host   string            `json:"host"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Unit   string            `json:"unit,omitempty"`
	// Start is the bucket's start; it ends one resolution later.
	Start  time.Time `json:"start"`
	Count  uint64    `json:"count"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Sum    float64   `json:"sum"`
	Sketch Sketch    `json:"sketch"`
}

func (r *Rollup) add(v float64) {
	if r.Count == 0 || v < r.Min {
		r.Min = v
	}
	if r.Count == 0 || v > r.Max {
		r.Max = v
	}
	r.Count++
	r.Sum += v
	r.Sketch.Add(v)
}

// RollupSubject returns tend.rollup.<res>.<host>.<name>, the name keeping
// its dots as tokens like events.MetricSubject.
func RollupSubject(res Resolution, host, name string) string {
	return SubjectRollups + "." + res.String() + "." + events.Token(host) + "." + nameTokens(name)
}

// rollupFilter matches one metric on every host at res.
func rollupFilter(res Resolution, name string) string {
	return SubjectRollups + "." + res.String() + ".*." + nameTokens(name)
}

func nameTokens(name string) string {
	parts := strings.Split(name, ".")
	for i, p := range parts {
		parts[i] = events.Token(p)
	}
	return strings.Join(parts, ".")
}

// seriesID identifies a series across hosts and label sets.
func seriesID(host, name string, labels map[string]string) string {
	return host + "\x00" + events.SeriesKey(name, labels)
}

// rollupID is the Nats-Msg-Id of a bucket: the same bucket with the same
// samples, flushed twice within the duplicate window, is stored once.
func rollupID(r *Rollup) string {
	h := fnv.New64a()
	h.Write([]byte(seriesID(r.Host, r.Name, r.Labels)))
	return r.Res + "-" + strconv.FormatUint(h.Sum64(), 16) + "-" +
		strconv.FormatInt(r.Start.Unix(), 10) + "-" + strconv.FormatUint(r.Count, 10)
}

// Aggregator folds samples into one-minute and one-hour rollups and stores
// each bucket in ROLLUPS once it closes: when a later sample of the same
// series arrives, or when [Aggregator.Flush] passes its end. A sample older
// than its series' open bucket is late: it is counted and left out of the
// rollups (it stays in METRICS). Safe for concurrent use.
type Aggregator struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	series  map[string]*series
	futures []jetstream.PubAckFuture
	stats   AggregatorStats
}

// AggregatorStats count what an [Aggregator] did.
type AggregatorStats struct {
	Samples uint64 // samples added
	Late    uint64 // samples older than their open bucket, per resolution
	Flushed uint64 // rollups published
	Expired uint64 // rollups older than their retention, not published
}

type series struct {
	open [2]*Rollup // by index into resolutions
}

// maxInFlight bounds rollups published but not yet acknowledged.
const maxInFlight = 4096

// NewAggregator returns an aggregator storing rollups through js, with
// retention from cfg. The ROLLUPS stream must exist (see [EnsureStream]).
func NewAggregator(js jetstream.JetStream, cfg Config, logger *slog.Logger) *Aggregator {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Aggregator{
		js:     js,
		cfg:    cfg,
		log:    logger,
		now:    time.Now,
		series: map[string]*series{},
	}
}

// Stats returns the counters so far.
func (a *Aggregator) Stats() AggregatorStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Add folds m into its buckets, publishing any bucket it closes. Publishing
// is asynchronous; an error is a failure to send or, every few thousand
// rollups, a failed acknowledgement. It does not block on I/O otherwise.
func (a *Aggregator) Add(ctx context.Context, m events.Metric) error {
	a.mu.Lock()
	defer a.mu.Unlock()

	a.stats.Samples++
	id := seriesID(m.Host, m.Name, m.Labels)
	s := a.series[id]
	if s == nil {
		s = &series{}
		a.series[id] = s
	}
	for i, res := range resolutions {
		start := m.Time.Truncate(res.D())
		r := s.open[i]
		switch {
		case r != nil && start.Equal(r.Start):
		case r != nil && start.Before(r.Start):
			a.stats.Late++
			continue
		default:
			if r != nil {
				if err := a.publish(ctx, res, r); err != nil {
					return err
				}
			}
			r = &Rollup{
				Res: res.String(), Host: m.Host, Name: m.Name, Labels: m.Labels,
				Unit: m.Unit, Start: start.UTC(),
			}
			s.open[i] = r
		}
		r.add(m.Value)
	}
	return nil
}

// Flush publishes every open bucket that ends at or before before, then
// waits until all published rollups are acknowledged. Flush(ctx, time.Time{})
// publishes nothing new and only waits; use [Aggregator.FlushAll] to publish
// open buckets too.
func (a *Aggregator) Flush(ctx context.Context, before time.Time) error {
	return a.flush(ctx, func(r *Rollup, res Resolution) bool {
		return !r.Start.Add(res.D()).After(before)
	})
}

// FlushAll publishes every open bucket, complete or not, and waits for the
// acknowledgements. An import calls it at the end, so its newest samples
// are rolled up too.
func (a *Aggregator) FlushAll(ctx context.Context) error {
	return a.flush(ctx, func(*Rollup, Resolution) bool { return true })
}

func (a *Aggregator) flush(ctx context.Context, due func(*Rollup, Resolution) bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	for id, s := range a.series {
		for i, res := range resolutions {
			r := s.open[i]
			if r == nil || !due(r, res) {
				continue
			}
			if err := a.publish(ctx, res, r); err != nil {
				return err
			}
			s.open[i] = nil
		}
		if s.open == [2]*Rollup{} {
			delete(a.series, id)
		}
	}
	return a.wait(ctx)
}

// publish sends r without waiting; callers hold a.mu.
func (a *Aggregator) publish(ctx context.Context, res Resolution, r *Rollup) error {
	ttl := a.cfg.retention(res) - a.now().Sub(r.Start.Add(res.D()))
	if ttl <= time.Second {
		a.stats.Expired++
		return nil
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode rollup %s %s: %w", res, r.Name, err)
	}
	msg := &nats.Msg{
		Subject: RollupSubject(res, r.Host, r.Name),
		Data:    data,
		Header:  nats.Header{},
	}
	msg.Header.Set(jetstream.MsgIDHeader, rollupID(r))
	// Whole seconds: the server reads a bare number as seconds.
	msg.Header.Set(jetstream.MsgTTLHeader, strconv.FormatInt(int64(ttl/time.Second), 10))
	f, err := a.js.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("publish rollup on %s: %w", msg.Subject, err)
	}
	a.stats.Flushed++
	a.futures = append(a.futures, f)
	if len(a.futures) >= maxInFlight {
		return a.wait(ctx)
	}
	return nil
}

// wait blocks until every published rollup is acknowledged; callers hold
// a.mu.
func (a *Aggregator) wait(ctx context.Context) error {
	var errs []error
	for _, f := range a.futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			errs = append(errs, fmt.Errorf("store rollup on %s: %w", f.Msg().Subject, err))
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	a.futures = a.futures[:0]
	return errors.Join(errs...)
}

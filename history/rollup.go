package history

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// Rollup summarises the samples of one series in one hour. It is stored as
// JSON on [RollupSubject].
//
// An hourly rollup (Res "1h") holds the hour's count, min, max, sum and
// sketch. A one-minute rollup (Res "1m") holds the same hour as up to 60
// [MinuteBucket] values, one message an hour rather than sixty: a message per
// minute would cost an import more than its raw samples. Its own Count,
// Min, Max and Sum are the hour's totals; its Sketch is empty.
type Rollup struct {
	Res    string            `json:"res"`
	Host   string            `json:"host"`
	Name   string            `json:"name"`
	Labels map[string]string `json:"labels,omitempty"`
	Unit   string            `json:"unit,omitempty"`
	// Start is the hour's start.
	Start   time.Time      `json:"start"`
	Count   uint64         `json:"count"`
	Min     float64        `json:"min"`
	Max     float64        `json:"max"`
	Sum     float64        `json:"sum"`
	Sketch  Sketch         `json:"sketch,omitzero"`
	Minutes []MinuteBucket `json:"minutes,omitempty"`
}

// MinuteBucket is one minute of a one-minute rollup.
type MinuteBucket struct {
	// Minute is the minute of the hour, 0 to 59.
	Minute int     `json:"m"`
	Count  uint64  `json:"n"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Sum    float64 `json:"sum"`
	Sketch Sketch  `json:"sk"`
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
}

// addMinute counts v in minute m of the hour, keeping Minutes sorted.
func (r *Rollup) addMinute(m int, v float64) {
	r.add(v)
	i := len(r.Minutes)
	for i > 0 && r.Minutes[i-1].Minute > m {
		i--
	}
	if i == 0 || r.Minutes[i-1].Minute != m {
		r.Minutes = append(r.Minutes, MinuteBucket{})
		copy(r.Minutes[i+1:], r.Minutes[i:])
		r.Minutes[i] = MinuteBucket{Minute: m, Min: v, Max: v}
		i++
	}
	b := &r.Minutes[i-1]
	b.Min = min(b.Min, v)
	b.Max = max(b.Max, v)
	b.Count++
	b.Sum += v
	b.Sketch.Add(v)
}

// end returns the end of the last bucket with samples.
func (r *Rollup) end() time.Time {
	if n := len(r.Minutes); n > 0 {
		return r.Start.Add(time.Duration(r.Minutes[n-1].Minute+1) * time.Minute)
	}
	return r.Start.Add(time.Hour)
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

// rollupID is the Nats-Msg-Id of a rollup: the same hour with the same
// samples, flushed twice within the duplicate window, is stored once.
func rollupID(r *Rollup) string {
	h := fnv.New64a()
	h.Write([]byte(seriesID(r.Host, r.Name, r.Labels)))
	return r.Res + "-" + strconv.FormatUint(h.Sum64(), 16) + "-" +
		strconv.FormatInt(r.Start.Unix(), 10) + "-" + strconv.FormatUint(r.Count, 10)
}

// Aggregator folds samples into one-minute and one-hour rollups and stores
// a series' hour once it closes: when a sample of a later hour arrives, or
// when [Aggregator.Flush] passes its end. A sample older than its series'
// open hour is late: it is counted and left out of the rollups (it stays in
// METRICS). Samples may come in any order within the hour. Safe for
// concurrent use.
type Aggregator struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	series  map[seriesKey]*series
	futures []jetstream.PubAckFuture
	stats   AggregatorStats
}

// AggregatorStats count what an [Aggregator] did.
type AggregatorStats struct {
	Samples uint64 // samples added
	Late    uint64 // samples older than their series' open hour
	Flushed uint64 // rollups published
	Expired uint64 // rollups older than their retention, not published
}

// series is one series' open hour.
type series struct {
	hour, minutes *Rollup
	// seen is when the series last got a sample, by the wall clock.
	seen time.Time
}

// seriesKey finds a series without building a string per sample.
type seriesKey struct {
	host, name, labels string
}

func keyOf(m *events.Metric) seriesKey {
	k := seriesKey{host: m.Host, name: m.Name}
	if len(m.Labels) > 0 {
		k.labels = events.SeriesKey("", m.Labels)
	}
	return k
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
		series: map[seriesKey]*series{},
	}
}

// Stats returns the counters so far.
func (a *Aggregator) Stats() AggregatorStats {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stats
}

// Add folds m into its series' open hour, first publishing the hour before
// when m opens a new one. Publishing is asynchronous; an error is a failure
// to send or, every few thousand rollups, a failed acknowledgement.
func (a *Aggregator) Add(ctx context.Context, m events.Metric) error {
	a.mu.Lock()
	defer a.mu.Unlock()

	a.stats.Samples++
	key := keyOf(&m)
	s := a.series[key]
	if s == nil {
		s = &series{}
		a.series[key] = s
	}
	s.seen = a.now()
	start := m.Time.Truncate(time.Hour)
	switch {
	case s.hour != nil && start.Equal(s.hour.Start):
	case s.hour != nil && start.Before(s.hour.Start):
		a.stats.Late++
		return nil
	default:
		if err := a.close(ctx, s); err != nil {
			return err
		}
		s.hour = &Rollup{Res: Hour.String(), Host: m.Host, Name: m.Name, Labels: m.Labels,
			Unit: m.Unit, Start: start.UTC()}
		mins := *s.hour
		mins.Res = Minute.String()
		s.minutes = &mins
	}
	s.hour.add(m.Value)
	s.hour.Sketch.Add(m.Value)
	s.minutes.addMinute(int(m.Time.Sub(start)/time.Minute), m.Value)
	return nil
}

// close publishes the series' open hour, if any; callers hold a.mu.
func (a *Aggregator) close(ctx context.Context, s *series) error {
	if s.hour == nil {
		return nil
	}
	err := errors.Join(a.publish(ctx, Hour, s.hour), a.publish(ctx, Minute, s.minutes))
	s.hour, s.minutes = nil, nil
	return err
}

// Flush publishes every open hour that ends at or before before, then waits
// until all published rollups are acknowledged. Use [Aggregator.FlushAll]
// to publish hours not ended too.
func (a *Aggregator) Flush(ctx context.Context, before time.Time) error {
	return a.flush(ctx, func(s *series) bool {
		return !s.hour.Start.Add(time.Hour).After(before)
	})
}

// flushQuiet is Flush for series that got no sample since before either,
// so an hour still being replayed is not cut short.
func (a *Aggregator) flushQuiet(ctx context.Context, before time.Time) error {
	return a.flush(ctx, func(s *series) bool {
		return !s.hour.Start.Add(time.Hour).After(before) && !s.seen.After(before)
	})
}

// FlushAll publishes every open hour, ended or not, and waits for the
// acknowledgements. An import calls it at the end, so its newest samples
// are rolled up too.
func (a *Aggregator) FlushAll(ctx context.Context) error {
	return a.flush(ctx, func(*series) bool { return true })
}

func (a *Aggregator) flush(ctx context.Context, due func(*series) bool) error {
	a.mu.Lock()
	defer a.mu.Unlock()

	// In a fixed order, so rollups of a flush are stored predictably.
	keys := make([]seriesKey, 0, len(a.series))
	for k, s := range a.series {
		if s.hour != nil && due(s) {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i].host+keys[i].name+keys[i].labels < keys[j].host+keys[j].name+keys[j].labels
	})
	for _, k := range keys {
		if err := a.close(ctx, a.series[k]); err != nil {
			return err
		}
		delete(a.series, k)
	}
	return a.wait(ctx)
}

// publish sends r without waiting; callers hold a.mu.
func (a *Aggregator) publish(ctx context.Context, res Resolution, r *Rollup) error {
	ttl := a.cfg.retention(res) - a.now().Sub(r.Start.Add(time.Hour))
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

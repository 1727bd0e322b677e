package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Publisher stores metric samples as events and returns once all are stored.
type Publisher interface {
	PublishMetrics(ctx context.Context, ms []events.Metric) error
}

// Collector samples every configured source on its interval.
type Collector struct {
	host    string
	pub     Publisher
	log     *slog.Logger
	stats   *Stats
	sources []running
}

type running struct {
	spec config.Source
	src  Source
}

// NewCollector builds every source in cfg. Errors name the source and, for
// settings, the file and line.
func NewCollector(cfg config.Collector, pub Publisher, log *slog.Logger, stats *Stats) (*Collector, error) {
	c := &Collector{host: cfg.Host, pub: pub, log: log, stats: stats}
	var errs []error
	for _, spec := range cfg.Sources {
		src, err := New(spec, Deps{Logger: log, Stats: stats})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c.sources = append(c.sources, running{spec: spec, src: src})
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Sources returns the built sources by name, so optimization tasks can reuse
// their connections.
func (c *Collector) Sources() map[string]any {
	out := make(map[string]any, len(c.sources))
	for _, r := range c.sources {
		out[r.spec.Name] = r.src
	}
	return out
}

// Run samples until ctx ends, then waits for every source loop and closes
// the sources.
func (c *Collector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, r := range c.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx, r)
		}()
	}
	c.log.Info("collector started", "sources", len(c.sources), "host", c.host)
	wg.Wait()

	for _, r := range c.sources {
		if cl, ok := r.src.(Closer); ok {
			_ = cl.Close()
		}
	}
	return nil
}

// loop samples one source. A failing source is retried with a doubling
// delay (up to ten intervals) and logged once per change of state.
func (c *Collector) loop(ctx context.Context, r running) {
	interval := r.spec.Interval.D()
	log := c.log.With("source", r.spec.Name, "kind", r.spec.Type)

	// Spread sources over the first interval so they don't all wake at once.
	delay := time.Duration(rand.Int64N(int64(interval)/4 + 1))
	failures := 0
	up := true
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}

		start := time.Now()
		err := c.sample(ctx, r)
		if ctx.Err() != nil {
			return
		}

		switch {
		case err != nil:
			failures++
			c.stats.AddFailure(r.spec.Name)
			if up {
				log.Warn("source down", "error", err)
			}
			up = false
			delay = min(interval<<min(failures, 4), 10*interval)
		case !up:
			log.Info("source up again", "after_failures", failures)
			up, failures = true, 0
			fallthrough
		default:
			delay = interval - time.Since(start)
		}
	}
}

func (c *Collector) sample(ctx context.Context, r running) error {
	cctx, cancel := context.WithTimeoutCause(ctx, r.spec.Timeout.D(),
		fmt.Errorf("source %s: sample took longer than %s", r.spec.Name, r.spec.Timeout))
	samples, err := r.src.Collect(cctx)
	cancel()
	now := time.Now().UTC()

	upValue := 1.0
	if err != nil {
		upValue = 0
		samples = nil
	}
	samples = append(samples, Sample{Name: "up", Value: upValue, Time: now})

	ms := make([]events.Metric, 0, len(samples))
	for _, s := range samples {
		m := c.metric(r.spec, s, now)
		if !events.ValidName(m.Name) {
			c.stats.AddParseError(r.spec.Name)
			continue
		}
		ms = append(ms, m)
	}
	if perr := c.pub.PublishMetrics(ctx, ms); perr != nil {
		return errors.Join(err, fmt.Errorf("publish samples: %w", perr))
	}
	c.stats.AddSamples(len(ms))
	return err
}

func (c *Collector) metric(spec config.Source, s Sample, now time.Time) events.Metric {
	t := s.Time
	if t.IsZero() {
		t = now
	}
	labels := s.Labels
	if len(spec.Labels) > 0 {
		labels = make(map[string]string, len(s.Labels)+len(spec.Labels))
		for k, v := range spec.Labels {
			labels[k] = v
		}
		for k, v := range s.Labels {
			labels[k] = v
		}
	}
	return events.Metric{
		Host:   c.host,
		Source: spec.Name,
		Name:   spec.Name + "." + s.Name,
		Value:  s.Value,
		Unit:   s.Unit,
		Labels: labels,
		Time:   t,
	}
}

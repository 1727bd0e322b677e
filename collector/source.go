package collector

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/tend-dev/tend/config"
)

// Sample is one measured value. Name is relative to its source: the host
// source's "cpu.percent" is published as "host.cpu.percent".
type Sample struct {
	Name   string
	Value  float64
	Unit   string
	Labels map[string]string
	// Time is when the value was measured; zero means now.
	Time time.Time
}

// Source takes samples of one thing. Collect is called from one goroutine at
// a time, on the source's interval, with a context bounded by its timeout.
// A source that cannot reach its target returns an error; the collector then
// publishes `up 0` for it and retries with backoff.
type Source interface {
	Collect(ctx context.Context) ([]Sample, error)
}

// Closer is implemented by sources holding connections.
type Closer interface {
	Close() error
}

// Deps are what a source may use besides its settings.
type Deps struct {
	Logger *slog.Logger
	// Stats counts parse errors and the like for tend's own /metrics.
	Stats *Stats
}

// Factory builds a source from its config. It must not connect: `tend config
// check` calls it to validate settings; connect lazily in Collect.
type Factory func(spec config.Source, deps Deps) (Source, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes a source kind available; kinds call it from init.
func Register(kind string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[kind]; dup {
		panic("collector: kind registered twice: " + kind)
	}
	factories[kind] = f
}

// Kinds returns the registered source kinds, sorted.
func Kinds() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for k := range factories {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// New builds the source spec describes.
func New(spec config.Source, deps Deps) (Source, error) {
	mu.RLock()
	f, ok := factories[spec.Type]
	mu.RUnlock()
	if !ok {
		return nil, spec.Settings.Errorf("", "source kind %q is not built into this tend; known: %v",
			spec.Type, Kinds())
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	if deps.Stats == nil {
		deps.Stats = NewStats()
	}
	deps.Logger = deps.Logger.With("source", spec.Name)
	src, err := f(spec, deps)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", spec.Name, err)
	}
	return src, nil
}

// Stats are the collector's own counters, exported on /metrics.
type Stats struct {
	mu          sync.Mutex
	samples     uint64
	parseErrors map[string]uint64
	failures    map[string]uint64
}

// NewStats returns zeroed counters.
func NewStats() *Stats {
	return &Stats{parseErrors: map[string]uint64{}, failures: map[string]uint64{}}
}

// AddSamples counts published samples.
func (s *Stats) AddSamples(n int) {
	s.mu.Lock()
	s.samples += uint64(n)
	s.mu.Unlock()
}

// AddParseError counts one malformed line from source.
func (s *Stats) AddParseError(source string) {
	s.mu.Lock()
	s.parseErrors[source]++
	s.mu.Unlock()
}

// AddFailure counts one failed collection of source.
func (s *Stats) AddFailure(source string) {
	s.mu.Lock()
	s.failures[source]++
	s.mu.Unlock()
}

// Snapshot returns copies of the counters.
func (s *Stats) Snapshot() (samples uint64, parseErrors, failures map[string]uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	pe := make(map[string]uint64, len(s.parseErrors))
	for k, v := range s.parseErrors {
		pe[k] = v
	}
	fl := make(map[string]uint64, len(s.failures))
	for k, v := range s.failures {
		fl[k] = v
	}
	return s.samples, pe, fl
}

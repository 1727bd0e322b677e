package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/integrations"
)

// Router runs one delivery worker per integration.
type Router struct {
	b       *bus.Bus
	hub     string
	log     *slog.Logger
	routes  []config.Route
	workers []*worker
	stats   *analytics
	metrics *Metrics
	opened  bool
}

// New builds every integration in cfg; an unknown type or bad settings are
// errors naming file and line. It does not touch the bus until Run.
func New(cfg *config.Config, b *bus.Bus, log *slog.Logger) (*Router, error) {
	r := &Router{
		b: b, hub: cfg.Hub, log: log, routes: cfg.Routes,
		stats: newAnalytics(cfg.Hub, bus.KV{Bucket: b.Stats}), metrics: NewMetrics(),
	}
	deps := integrations.Deps{Logger: log, Refs: bus.Refs{KV: bus.KV{Bucket: b.Refs}}, Hub: cfg.Hub}
	var errs []error
	for _, spec := range cfg.Integrations {
		in, err := integrations.New(spec, deps)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.workers = append(r.workers, r.newWorker(spec, in))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return r, nil
}

// Metrics returns the delivery counters for /metrics.
func (r *Router) Metrics() *Metrics { return r.metrics }

// Stats returns this hub's analytics, merged with what other hubs stored.
func (r *Router) Stats(ctx context.Context) (map[string]Stats, error) {
	r.stats.flush(ctx)
	return LoadStats(ctx, bus.KV{Bucket: r.b.Stats})
}

// Integrations returns the configured integration names and types.
func (r *Router) Integrations() map[string]string {
	out := make(map[string]string, len(r.workers))
	for _, w := range r.workers {
		out[w.spec.Name] = w.spec.Type
	}
	return out
}

// Open creates or updates every integration's durable consumer and loads
// its analytics. Events stored after Open returns are delivered; call it
// before telling anyone the hub is ready.
func (r *Router) Open(ctx context.Context) error {
	for _, w := range r.workers {
		r.stats.load(ctx, w.spec.Name, w.spec.Type)
		if err := w.open(ctx); err != nil {
			return err
		}
	}
	r.opened = true
	return nil
}

// watchOrder starts each worker's mirror of the order holds; it must run
// on the Run context so the watches end with it.
func (r *Router) watchOrder(ctx context.Context) error {
	for _, w := range r.workers {
		if err := w.order.watch(ctx); err != nil {
			return err
		}
	}
	return nil
}

// Run consumes until ctx ends, then lets in-flight deliveries finish,
// flushes analytics on a fresh bounded context, and closes integrations.
// It calls [Router.Open] if that was not done.
func (r *Router) Run(ctx context.Context) error {
	if !r.opened {
		if err := r.Open(ctx); err != nil {
			return err
		}
	}
	if err := r.watchOrder(ctx); err != nil {
		return err
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(r.workers))
	for _, w := range r.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(ctx); err != nil {
				errc <- err
			}
		}()
	}
	r.log.Info("router started", "integrations", len(r.workers), "routes", len(r.routes))

	flushDone := make(chan struct{})
	go func() {
		defer close(flushDone)
		t := time.NewTicker(2 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				r.stats.flush(ctx)
			}
		}
	}()

	wg.Wait()
	<-flushDone
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	r.stats.flush(fctx)
	cancel()
	for _, w := range r.workers {
		if c, ok := w.in.(integrations.Closer); ok {
			_ = c.Close()
		}
	}
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// worker delivers to one integration from its durable consumer.
type worker struct {
	r       *Router
	spec    config.Integration
	in      integrations.Integration
	limiter *rate.Limiter
	sem     chan struct{}
	order   *orderGuard
	cons    jetstream.Consumer
	log     *slog.Logger
}

func (r *Router) newWorker(spec config.Integration, in integrations.Integration) *worker {
	limit := rate.Inf
	if spec.Rate.Per > 0 {
		limit = rate.Limit(spec.Rate.Per)
	}
	return &worker{
		r: r, spec: spec, in: in,
		limiter: rate.NewLimiter(limit, max(spec.Burst, 1)),
		sem:     make(chan struct{}, spec.MaxInFlight),
		order:   newOrderGuard(r.b, spec.Name),
		log:     r.log.With("integration", spec.Name),
	}
}

// consumerName is the durable every hub shares for one integration.
func consumerName(integration string) string { return "deliver-" + integration }

func (w *worker) open(ctx context.Context) error {
	filters := filterSubjects(w.spec.Name, w.r.routes)
	ackWait := max(w.spec.AckWait.D(), time.Second)
	cons, err := w.r.b.JS.CreateOrUpdateConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable:        consumerName(w.spec.Name),
		Description:    "tend deliveries to " + w.spec.Name,
		DeliverPolicy:  jetstream.DeliverNewPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        ackWait,
		MaxDeliver:     -1,
		MaxAckPending:  20000,
		FilterSubjects: filters,
	})
	if err != nil {
		return fmt.Errorf("create consumer for %s: %w", w.spec.Name, err)
	}
	w.cons = cons
	w.log.Info("consumer ready", "consumer", consumerName(w.spec.Name), "filters", filters)
	return nil
}

func (w *worker) run(ctx context.Context) error {
	it, err := w.cons.Messages(jetstream.PullMaxMessages(max(2*cap(w.sem), 16)))
	if err != nil {
		return fmt.Errorf("consume for %s: %w", w.spec.Name, err)
	}
	stop := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		it.Drain()
	}()
	defer close(stop)

	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			w.log.Warn("consume", "error", err)
			continue
		}
		// A delivery already admitted finishes even while the hub stops,
		// within the integration's timeout.
		dctx := context.WithoutCancel(ctx)
		j := w.admit(dctx, msg)
		if j == nil {
			continue
		}
		w.sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-w.sem; wg.Done() }()
			w.handle(dctx, j)
		}()
	}
}

// Metrics are the router's Prometheus series.
type Metrics struct {
	mu         sync.Mutex
	deliveries map[[2]string]uint64 // integration, outcome
	durations  map[string]*histogram
}

type histogram struct {
	counts []uint64
	sum    float64
	n      uint64
}

// NewMetrics returns empty counters.
func NewMetrics() *Metrics {
	return &Metrics{deliveries: map[[2]string]uint64{}, durations: map[string]*histogram{}}
}

func (m *Metrics) count(integration, outcome string) {
	m.mu.Lock()
	m.deliveries[[2]string{integration, outcome}]++
	m.mu.Unlock()
}

func (m *Metrics) observe(integration string, d time.Duration) {
	m.mu.Lock()
	h := m.durations[integration]
	if h == nil {
		h = &histogram{counts: make([]uint64, len(latencyBuckets))}
		m.durations[integration] = h
	}
	sec := d.Seconds()
	for i, le := range latencyBuckets {
		if sec <= le {
			h.counts[i]++
		}
	}
	h.sum += sec
	h.n++
	m.mu.Unlock()
}

// Each calls f for every counter: deliveries by integration and outcome.
func (m *Metrics) EachDelivery(f func(integration, outcome string, n uint64)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, v := range m.deliveries {
		f(k[0], k[1], v)
	}
}

// EachDuration calls f with each integration's cumulative histogram.
func (m *Metrics) EachDuration(f func(integration string, bounds []float64, cumulative []uint64,
	sum float64, n uint64)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, h := range m.durations {
		f(k, latencyBuckets, append([]uint64(nil), h.counts...), h.sum, h.n)
	}
}

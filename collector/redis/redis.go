package redis

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

// Kind is the source kind key in the config file.
const Kind = "redis"

func init() {
	// go-redis prints every failed dial to stderr, once per sample while a
	// server is down; Collect's error already says it, and the collector
	// logs it once. The logger is process-wide: tend has no other go-redis
	// user.
	goredis.SetLogger(discard{})
	collector.Register(Kind, func(spec config.Source, deps collector.Deps) (collector.Source, error) {
		return New(spec.Settings, deps.Logger)
	})
}

type discard struct{}

func (discard) Printf(context.Context, string, ...any) {}

// Source samples one Redis server. It implements [collector.Source] and
// [collector.Closer]. Collect is meant for one goroutine at a time.
type Source struct {
	set    Settings
	client *goredis.Client
	log    *slog.Logger
	rates  *collector.Rates
	now    func() time.Time
}

// New checks the settings under node and returns a source whose client has
// not connected yet. A nil logger discards.
func New(node config.Node, log *slog.Logger) (*Source, error) {
	set, opts, err := parse(node)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{
		set:    set,
		client: goredis.NewClient(opts),
		log:    log,
		rates:  collector.NewRates(),
		now:    time.Now,
	}, nil
}

// Client returns the source's client. It dials on first use and redials
// after a failure; it makes one attempt per command. Callers must not close
// it. Safe for concurrent use.
func (s *Source) Client() *goredis.Client { return s.client }

// Close closes the client's connections.
func (s *Source) Close() error { return s.client.Close() }

// Collect takes one sample of the server. It returns an error naming the
// server, never its password, when PING or INFO fails.
func (s *Source) Collect(ctx context.Context) ([]collector.Sample, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.set.Timeout.D(),
		fmt.Errorf("sample took longer than %s", s.set.Timeout))
	defer cancel()

	start := time.Now()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return nil, fmt.Errorf("ping redis %s: %w", s.set.Addr, cause(ctx, err))
	}
	rtt := time.Since(start)

	text, err := s.client.Info(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("read info of redis %s: %w", s.set.Addr, cause(ctx, err))
	}
	info, keyspace := parseInfo(text)

	c := sampler{s: s, now: s.now(), info: info}
	c.add("ping_seconds", rtt.Seconds(), "seconds")
	c.gauge("used_memory_bytes", "used_memory", "bytes")
	c.gauge("rss_bytes", "used_memory_rss", "bytes")
	c.gauge("fragmentation_ratio", "mem_fragmentation_ratio", "ratio")
	if used, limit := c.num("used_memory"), c.num("maxmemory"); limit > 0 {
		c.add("maxmemory_percent", 100*used/limit, "percent")
	}
	c.gauge("clients", "connected_clients", "clients")
	c.gauge("blocked_clients", "blocked_clients", "clients")
	c.rate("ops_per_second", "total_commands_processed", "ops/s")
	c.rate("evicted_keys_per_second", "evicted_keys", "keys/s")
	c.rate("expired_keys_per_second", "expired_keys", "keys/s")

	// The ratio over the last interval, not since the server started: a
	// cache that starts missing must show within one sample.
	hits, ok1 := s.rates.Rate("keyspace_hits", c.num("keyspace_hits"), c.now)
	misses, ok2 := s.rates.Rate("keyspace_misses", c.num("keyspace_misses"), c.now)
	if ok1 && ok2 && hits+misses > 0 {
		c.add("hit_ratio", hits/(hits+misses), "ratio")
	}

	// A database with no keys is missing from INFO; the configured one is
	// reported anyway so its series has no gaps.
	own := "db" + strconv.Itoa(s.set.DB)
	if _, ok := keyspace[own]; !ok {
		keyspace[own] = 0
	}
	dbs := make([]string, 0, len(keyspace))
	for db := range keyspace {
		dbs = append(dbs, db)
	}
	sort.Strings(dbs)
	for _, db := range dbs {
		c.add("keys", keyspace[db], "keys", "db", db)
	}
	return c.out, nil
}

// cause prefers the timeout's cause to a bare "context deadline exceeded".
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil && !errors.Is(err, c) {
		return fmt.Errorf("%w (%w)", c, err)
	}
	return err
}

type sampler struct {
	s    *Source
	now  time.Time
	info map[string]string
	out  []collector.Sample
}

func (c *sampler) add(name string, v float64, unit string, labels ...string) {
	var l map[string]string
	if len(labels) == 2 {
		l = map[string]string{labels[0]: labels[1]}
	}
	c.out = append(c.out, collector.Sample{Name: name, Value: v, Unit: unit, Labels: l})
}

// num returns an INFO field as a number; 0 when absent or not a number.
func (c *sampler) num(field string) float64 {
	v, _ := strconv.ParseFloat(c.info[field], 64)
	return v
}

// gauge adds an INFO field the server reports, skipping one it lacks
// (older versions name some fields differently).
func (c *sampler) gauge(name, field, unit string) {
	if v, err := strconv.ParseFloat(c.info[field], 64); err == nil {
		c.add(name, v, unit)
	}
}

func (c *sampler) rate(name, field, unit string) {
	v, err := strconv.ParseFloat(c.info[field], 64)
	if err != nil {
		return
	}
	if r, ok := c.s.rates.Rate(field, v, c.now); ok {
		c.add(name, r, unit)
	}
}

// parseInfo reads INFO's "field:value" lines, and the key counts of its
// keyspace lines ("db0:keys=12,expires=0,avg_ttl=0").
func parseInfo(text string) (fields map[string]string, keyspace map[string]float64) {
	fields = map[string]string{}
	keyspace = map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		if strings.HasPrefix(k, "db") && strings.HasPrefix(v, "keys=") {
			n, _, _ := strings.Cut(strings.TrimPrefix(v, "keys="), ",")
			if f, err := strconv.ParseFloat(n, 64); err == nil {
				keyspace[k] = f
			}
			continue
		}
		fields[k] = v
	}
	return fields, keyspace
}

package tasks

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
)

// cache measures a Redis cache, warms it and, at high, applies allow-listed
// settings.
type cache struct {
	s     CacheSettings
	name  string
	redis RedisSource
	http  *http.Client
	samp  sampling
}

func (c *cache) Name() string { return "cache" }

// Plan implements [Task].
func (c *cache) Plan(ctx context.Context, env Env) ([]events.Step, error) {
	p, err := c.prepare(ctx)
	if err != nil {
		return nil, err
	}
	return p.steps(env), nil
}

// Run implements [Task].
func (c *cache) Run(ctx context.Context, env Env) (events.TaskResult, error) {
	p, err := c.prepare(ctx)
	if err != nil {
		return failedResult(c.Name(), err), err
	}
	return execute(ctx, c.Name(), env, c.samp, p), nil
}

func (c *cache) prepare(ctx context.Context) (plan, error) {
	var p plan
	rc := c.redis.Client()
	label := "redis " + c.name
	stats, err := redisInfo(ctx, rc, "stats", "memory")
	if err != nil {
		return p, fmt.Errorf("%w: %s: %w", ErrPrecondition, label, err)
	}
	conf, err := rc.ConfigGet(ctx, "*").Result()
	if err != nil {
		return p, fmt.Errorf("%w: %s: read config: %w", ErrPrecondition, label, err)
	}

	if n := len(c.s.WarmKeys); n > 0 {
		keys := c.s.WarmKeys
		p.actions = append(p.actions, action{name: "warm keys with GET",
			target: label + ", " + plural(n, "key"), level: Medium,
			do: func(ctx context.Context) error {
				pipe := rc.Pipeline()
				for _, k := range keys {
					pipe.Get(ctx, k)
				}
				_, err := pipe.Exec(ctx)
				if errors.Is(err, redis.Nil) {
					return nil
				}
				return err
			}})
	}
	if n := len(c.s.WarmURLs); n > 0 {
		p.actions = append(p.actions, action{name: "warm URLs with GET", target: plural(n, "URL"),
			level: Medium, do: c.warmURLs})
	}
	for _, k := range sortedKeys(c.s.ConfigSet) {
		key, val := strings.ToLower(k), c.s.ConfigSet[k]
		a := action{name: "CONFIG SET", target: fmt.Sprintf("setting %s %s → %s", key, conf[key], val),
			level: High,
			do: func(ctx context.Context) error {
				return rc.ConfigSet(ctx, key, val).Err()
			}}
		if ConfigSetAllowed[key] {
			a.disrupts = "a lower " + key + " evicts keys at once"
		}
		if cur, ok := conf[key]; ok && cur == val {
			a.unavailable = "already " + val
		}
		p.actions = append(p.actions, a)
	}

	p.meters = []meter{
		{name: label + " hit rate", unit: "%", read: func(ctx context.Context) (float64, error) {
			info, err := redisInfo(ctx, rc, "stats")
			if err != nil {
				return 0, err
			}
			hits, err1 := num(info, "keyspace_hits")
			misses, err2 := num(info, "keyspace_misses")
			if err := errors.Join(err1, err2); err != nil {
				return 0, err
			}
			if hits+misses == 0 {
				return 0, errors.New("no lookups since redis started")
			}
			return 100 * hits / (hits + misses), nil
		}},
		{name: label + " used memory", unit: "bytes", lowerIsBetter: true,
			read: infoMeter(rc, "memory", "used_memory")},
		{name: label + " evicted keys", unit: "keys", lowerIsBetter: true,
			read: infoMeter(rc, "stats", "evicted_keys")},
	}
	p.recs = cacheAdvice(label, stats, conf)
	return p, nil
}

func (c *cache) warmURLs(ctx context.Context) error {
	var errs []error
	for _, u := range c.s.WarmURLs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("warm url %s: bad url", urlLabel(u)))
			continue
		}
		if _, _, err := integrations.Do(ctx, c.http, req, 0); err != nil {
			errs = append(errs, fmt.Errorf("warm url %s: %w", urlLabel(u), err))
		}
	}
	return errors.Join(errs...)
}

// cacheAdvice turns INFO and CONFIG figures into recommendations.
func cacheAdvice(label string, info, conf map[string]string) []string {
	var out []string
	hits, _ := num(info, "keyspace_hits")
	misses, _ := num(info, "keyspace_misses")
	evicted, _ := num(info, "evicted_keys")
	used, _ := num(info, "used_memory")
	limit, _ := strconv.ParseFloat(conf["maxmemory"], 64)
	policy := conf["maxmemory-policy"]
	lookups := hits + misses

	if limit == 0 {
		out = append(out, fmt.Sprintf("%s: maxmemory is 0 (no limit) with %s in use: a cache without a"+
			" limit grows until the host runs short; set maxmemory and allkeys-lru or allkeys-lfu",
			label, bytesText(int64(used))))
	}
	if limit > 0 && policy == "noeviction" {
		out = append(out, fmt.Sprintf("%s: maxmemory-policy is noeviction with %s of %s used (%.0f%%):"+
			" writes fail once full; a cache usually wants allkeys-lru or allkeys-lfu",
			label, bytesText(int64(used)), bytesText(int64(limit)), 100*used/limit))
	}
	if lookups >= 1000 {
		rate := 100 * hits / lookups
		switch {
		case evicted > 0 && rate < 90:
			out = append(out, fmt.Sprintf("%s: hit rate %.1f%% over %s lookups with %s keys evicted:"+
				" maxmemory %s may be too small for the working set", label, rate, thousands(lookups),
				thousands(evicted), bytesText(int64(limit))))
		case rate < 80:
			out = append(out, fmt.Sprintf("%s: hit rate %.1f%% over %s lookups (%s misses) with no"+
				" evictions: the misses are keys never cached or expired; check TTLs and warm_keys",
				label, rate, thousands(lookups), thousands(misses)))
		}
	}
	if strings.HasPrefix(policy, "volatile-") && evicted > 0 {
		out = append(out, fmt.Sprintf("%s: policy %s evicts only keys with a TTL and %s were evicted;"+
			" keys without a TTL are never freed", label, policy, thousands(evicted)))
	}
	return out
}

// newHTTPClient is the client for warming URLs.
func newHTTPClient() *http.Client {
	return integrations.NewHTTPClient(integrations.HTTPOptions{Timeout: 30 * time.Second})
}

// urlLabel names a URL in errors without its credentials or query, which
// may carry secrets.
func urlLabel(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Scheme + "://" + u.Host + u.Path
}

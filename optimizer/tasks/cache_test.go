package tasks_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/tend-dev/tend/optimizer/tasks"
)

func TestCache_WarmAndConfigSet(t *testing.T) {
	ctx := context.Background()
	c := redisClient(t)
	key := unique("tend:opt:")
	if err := c.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Del(context.Background(), key) })
	// Give Redis lookups to report a hit rate on.
	c.Get(ctx, key)

	// maxmemory-samples changes how eviction samples, nothing else; it is
	// put back after the test.
	old, err := c.ConfigGet(ctx, "maxmemory-samples").Result()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.ConfigSet(context.Background(), "maxmemory-samples", old["maxmemory-samples"]) })
	want := "7"
	if old["maxmemory-samples"] == want {
		want = "6"
	}

	var fetched atomic.Int32
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
	}))
	t.Cleanup(web.Close)

	s := quick()
	s.Cache = &tasks.CacheSettings{
		Source: "cache", WarmKeys: []string{key}, WarmURLs: []string{web.URL + "/warm?token=x"},
		ConfigSet: map[string]string{"maxmemory-samples": want, "maxmemory": "1"},
	}
	task := build(t, s, map[string]any{"cache": redisSource{c}}, "cache")

	// At medium: warmed, not configured.
	res, err := task.Run(ctx, tasks.Env{Level: tasks.Medium})
	if err != nil {
		t.Fatal(err)
	}
	if s := step(t, res.Steps, "warm keys with GET", "1 key"); !s.Done {
		t.Errorf("warm keys = %+v", s)
	}
	if s := step(t, res.Steps, "warm URLs with GET", "1 URL"); !s.Done || fetched.Load() != 1 {
		t.Errorf("warm urls = %+v, fetched %d", s, fetched.Load())
	}
	if s := step(t, res.Steps, "CONFIG SET", "maxmemory-samples"); s.Done ||
		!strings.Contains(s.Skipped, "needs level high") {
		t.Errorf("CONFIG SET at medium = %+v", s)
	}
	for _, name := range []string{"hit rate", "used memory", "evicted keys"} {
		if m := measure(t, res.Measures, name); m.Before.N < 3 {
			t.Errorf("%s = %+v", name, m)
		}
	}

	// At high: the allowed setting is applied; maxmemory, which evicts,
	// is not without the opt-in.
	res, err = task.Run(ctx, tasks.Env{Level: tasks.High})
	if err != nil {
		t.Fatal(err)
	}
	if s := step(t, res.Steps, "CONFIG SET", "maxmemory-samples"); !s.Done {
		t.Errorf("CONFIG SET maxmemory-samples = %+v", s)
	}
	mm := step(t, res.Steps, "CONFIG SET", "setting maxmemory ")
	if mm.Done || !strings.Contains(mm.Skipped, "allow_disruptive") {
		t.Errorf("CONFIG SET maxmemory without opt-in = %+v", mm)
	}
	got, _ := c.ConfigGet(ctx, "maxmemory-samples").Result()
	if got["maxmemory-samples"] != want {
		t.Errorf("maxmemory-samples = %q, want %q", got["maxmemory-samples"], want)
	}
	t.Logf("summary: %s; %s", tasks.Summary(res), res.Recommendations)
}

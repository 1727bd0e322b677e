package tasks_test

import (
	"context"
	"strings"
	"testing"

	"github.com/tend-dev/tend/optimizer/tasks"
)

func TestMemory_Levels(t *testing.T) {
	ctx := context.Background()
	task := build(t, quick(), nil, "memory")

	// The page cache is only dropped at high, and only with the opt-in; this
	// test never gives it.
	steps, err := task.Plan(ctx, tasks.Env{Level: tasks.High})
	if err != nil {
		t.Fatal(err)
	}
	drop := step(t, steps, "drop page cache", "host")
	if drop.Skipped == "" {
		t.Fatalf("page cache drop at high without opt-in is not skipped: %+v", drop)
	}
	t.Logf("page cache drop skipped: %s", drop.Skipped)
	if full := step(t, steps, "drop page cache, dentries and inodes", "host"); !strings.Contains(full.Skipped,
		"needs level aggressive") {
		t.Errorf("full drop at high: %+v", full)
	}

	res, err := task.Run(ctx, tasks.Env{Level: tasks.Low})
	if err != nil {
		t.Fatal(err)
	}
	if s := step(t, res.Steps, "return heap to the OS", "tend"); !s.Done {
		t.Errorf("heap step = %+v, want done", s)
	}
	if s := step(t, res.Steps, "drop page cache", "host"); s.Done || !strings.Contains(s.Skipped, "needs level high") {
		t.Errorf("page cache drop at low = %+v", s)
	}
	for _, name := range []string{"tend heap released", "tend resident memory", "host available memory"} {
		m := measure(t, res.Measures, name)
		if m.Before.N != 3 || m.After.N != 3 || m.Verdict == "" {
			t.Errorf("%s = %+v", name, m)
		}
	}
	t.Logf("summary: %s", tasks.Summary(res))
}

func TestMemory_RedisPurge(t *testing.T) {
	c := redisClient(t)
	s := quick()
	s.Memory = &tasks.MemorySettings{Redis: "cache"}
	task := build(t, s, map[string]any{"cache": redisSource{c}}, "memory")

	res, err := task.Run(context.Background(), tasks.Env{Level: tasks.Medium})
	if err != nil {
		t.Fatal(err)
	}
	purge := step(t, res.Steps, "MEMORY PURGE", "redis cache")
	if !purge.Done && purge.Skipped == "" {
		t.Errorf("MEMORY PURGE = %+v, want done or skipped with a reason", purge)
	}
	if m := measure(t, res.Measures, "redis cache resident memory"); m.Before.Median <= 0 {
		t.Errorf("redis resident memory = %+v", m)
	}
	if len(res.Recommendations) == 0 || !strings.Contains(res.Recommendations[0], "fragmentation ratio") {
		t.Errorf("recommendations = %q, want a fragmentation report", res.Recommendations)
	}
	t.Logf("summary: %s; %s", tasks.Summary(res), res.Recommendations)
}

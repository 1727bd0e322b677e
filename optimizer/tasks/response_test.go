package tasks_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/optimizer/tasks"
)

// coldServer answers slowly until warm requests have come, then fast: the
// latency it reports follows its own state, so the test needs no sleeps.
type coldServer struct {
	mu    sync.Mutex
	calls int
	warm  int
}

func (c *coldServer) Probe(context.Context) (time.Duration, int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls++
	jitter := time.Duration(c.calls%3) * time.Millisecond
	if c.calls <= c.warm {
		return 80*time.Millisecond + jitter, 200, nil
	}
	return 8*time.Millisecond + jitter, 200, nil
}

func TestResponse_WarmUp(t *testing.T) {
	ctx := context.Background()
	srv := &coldServer{warm: 12} // 5 probes, then 10 warm-up requests at low
	s := quick()
	s.Response = &tasks.ResponseSettings{Sources: []string{"api"}, Probes: 5, Warmup: 10}
	task := build(t, s, map[string]any{"api": srv}, "response")

	res, err := task.Run(ctx, tasks.Env{Level: tasks.Low})
	if err != nil {
		t.Fatal(err)
	}
	if srv.calls != 5+10+5 {
		t.Errorf("server saw %d requests, want 5 probes + 10 warm-up + 5 probes", srv.calls)
	}
	m := measure(t, res.Measures, "http api latency")
	if m.Before.N != 5 || m.After.N != 5 || m.Verdict != tasks.Improved || m.After.Median >= m.Before.Median {
		t.Errorf("latency = %+v", m)
	}
	if st := step(t, res.Steps, "probe", "p95"); !st.Done {
		t.Errorf("probe step = %+v", st)
	}
	t.Logf("summary: %s; %s", tasks.Summary(res), step(t, res.Steps, "probe", "p95").Target)

	// A server that is always as fast shows no measurable change.
	steady := &coldServer{}
	task = build(t, s, map[string]any{"api": steady}, "response")
	res, err = task.Run(ctx, tasks.Env{Level: tasks.Medium})
	if err != nil {
		t.Fatal(err)
	}
	if steady.calls != 5+20+5 {
		t.Errorf("server saw %d requests, want 20 warm-up at medium", steady.calls)
	}
	if res.Verdict != tasks.NoChange {
		t.Errorf("steady server verdict = %q, want %q", res.Verdict, tasks.NoChange)
	}
}

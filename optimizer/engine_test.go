package optimizer_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer"
)

type recorder struct {
	mu     sync.Mutex
	alerts []events.Alert
}

func (r *recorder) add(_ context.Context, a events.Alert) {
	r.mu.Lock()
	r.alerts = append(r.alerts, a)
	r.mu.Unlock()
}

func (r *recorder) statuses() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, a := range r.alerts {
		out = append(out, a.Status)
	}
	return out
}

// TestEngine_ForAndHysteresis feeds samples with explicit times: the rule
// fires only after the value stayed above 80 for 30 s, and resolves only
// once it drops below the clear bound of 70, not at 75.
func TestEngine_ForAndHysteresis(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`rules:
  - {name: hot, metric: m.temp, above: 80, clear: 70, for: 30s, severity: critical,
     summary: 'temp {{.ValueText}} on {{.Host}}'}
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Name: "t", Config: cfg.Bus})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	e, err := optimizer.NewEngine(b, "t", cfg.Rules, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	e.OnAlert = rec.add
	if err := e.Open(ctx); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	t0 := time.Now().Add(-time.Hour).Truncate(time.Second)
	feed := func(offset time.Duration, v float64) {
		m := events.Metric{Host: "h1", Source: "m", Name: "m.temp", Value: v, Time: t0.Add(offset)}
		if err := b.PublishMetrics(ctx, []events.Metric{m}); err != nil {
			t.Fatal(err)
		}
	}
	wait := func(n int) {
		deadline := time.Now().Add(5 * time.Second)
		for len(rec.statuses()) < n && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}

	feed(0, 85)
	feed(10*time.Second, 90)
	feed(20*time.Second, 60) // back below before `for` ran out: pending is dropped
	feed(30*time.Second, 85)
	feed(50*time.Second, 88)
	feed(61*time.Second, 86) // 31 s above: fires
	wait(1)
	feed(70*time.Second, 75) // below the threshold, above clear: still firing
	feed(80*time.Second, 69) // below clear: resolves
	wait(2)
	time.Sleep(200 * time.Millisecond)

	got := rec.statuses()
	if len(got) != 2 || got[0] != "firing" || got[1] != "resolved" {
		t.Fatalf("alerts %v, want [firing resolved]", got)
	}
	a := rec.alerts[0]
	if a.Severity != "critical" || a.Summary != "temp 86 on h1" || a.Labels["host"] != "h1" {
		t.Fatalf("alert %+v", a)
	}
	if !a.StartsAt.Equal(t0.Add(61 * time.Second)) {
		t.Fatalf("starts at %s, want the sample that fired", a.StartsAt)
	}
	if rec.alerts[1].Fingerprint != a.Fingerprint {
		t.Fatal("firing and resolved fingerprints differ")
	}

	// A series that fires and then vanishes is resolved as gone, once.
	feed(90*time.Second, 95)
	feed(125*time.Second, 95)
	wait(3)
	e.Sweep(ctx, time.Now().Add(time.Minute))
	if n := len(rec.statuses()); n != 3 {
		t.Fatalf("a sweep before StaleAfter resolved something: %v", rec.statuses())
	}
	e.Sweep(ctx, time.Now().Add(optimizer.StaleAfter+time.Second))
	e.Sweep(ctx, time.Now().Add(2*optimizer.StaleAfter))
	got = rec.statuses()
	if len(got) != 4 || got[3] != "resolved" {
		t.Fatalf("statuses %v, want the vanished series resolved once", got)
	}
	st, ok := e.State(a.Fingerprint)
	if !ok || st.Status != "resolved" || !strings.Contains(st.Summary, "resolved as gone") {
		t.Fatalf("state after the series vanished: %+v", st)
	}
	cancel()
	<-done
}

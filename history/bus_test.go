package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
)

// TestWithBus runs history on the bus as `tend serve` opens it: samples
// published by the bus's own PublishMetrics are rolled up by a running
// aggregator and read back.
func TestWithBus(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: t.TempDir(), Config: config.Default().Bus})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := history.DefaultConfig()
	if err := history.EnsureStream(ctx, b.JS, cfg, 1); err != nil {
		t.Fatal(err)
	}

	t0 := base()
	var ms []events.Metric
	for i := 0; i < 720; i++ {
		ms = append(ms, events.Metric{Host: "web-1", Source: "host", Name: "host.load.1m",
			Value: float64(i % 60), Time: t0.Add(time.Duration(i) * 10 * time.Second)})
	}
	if err := b.PublishMetrics(ctx, ms); err != nil {
		t.Fatal(err)
	}
	agg := history.NewAggregator(b.JS, cfg, nil)
	done := make(chan error, 1)
	go func() { done <- agg.Run(ctx, 10*time.Millisecond) }()
	waitFor(t, func() bool { return agg.Stats().Samples == 720 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	st := history.New(b.JS, cfg, nil)
	pts, err := st.Query(context.Background(), "host.load.1m", t0, t0.Add(2*time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// Each hour holds 360 samples, six runs of 0..59: sum 6·1770.
	if len(pts) != 2 {
		t.Fatalf("points = %d", len(pts))
	}
	for i, p := range pts {
		checkPoint(t, "hour", p, t0.Add(time.Duration(i)*time.Hour), 360, 0, 59, 6*1770)
	}
	names, err := st.Metrics(context.Background())
	if err != nil || len(names) != 1 || names[0] != "host.load.1m" {
		t.Errorf("metrics = %v, %v", names, err)
	}
}

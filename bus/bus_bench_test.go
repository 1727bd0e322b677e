package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

func open(t testing.TB) *bus.Bus {
	t.Helper()
	cfg := config.Default()
	b, err := bus.Open(context.Background(), bus.Options{DataDir: t.TempDir(), Name: "bench", Config: cfg.Bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// BenchmarkPublishMetrics measures the collector-to-JetStream path: samples
// encoded as CloudEvents and stored in METRICS, acknowledged, in batches
// the size of a busy collector's round.
func BenchmarkPublishMetrics(b *testing.B) {
	bb := open(b)
	const batch = 1000
	ms := make([]events.Metric, batch)
	for i := range ms {
		ms[i] = events.Metric{Host: "bench", Source: "host", Name: fmt.Sprintf("host.m%d", i%50),
			Value: float64(i), Labels: map[string]string{"mount": "/"}, Time: time.Now()}
	}
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if err := bb.PublishMetrics(ctx, ms); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "samples/s")
}

func TestPublish_DedupsByEventID(t *testing.T) {
	b := open(t)
	ctx := context.Background()
	ev, err := events.New(events.TypeAlertFiring, "t", "fp", events.Alert{Fingerprint: "fp", Status: "firing"})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := b.Publish(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	s, err := b.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.State.Msgs != 1 {
		t.Fatalf("3 publishes of one event stored %d messages", info.State.Msgs)
	}
}

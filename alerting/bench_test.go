package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// BenchmarkGroup_Plan plans a group of 100 firing alerts, 10 of them
// silenced, at a repeat.
func BenchmarkGroup_Plan(b *testing.B) {
	p := Policy{GroupBy: []string{"host"}, Repeat: time.Minute}
	g := NewGroup(0, "k", map[string]string{"host": "db1"}, false, t0)
	for i := range 100 {
		g.Observe(alert(fmt.Sprintf("fp%03d", i), "firing", t0), "ev", false, time.Time{}, t0)
	}
	mute := func(m *Member, _ time.Time) []Reason {
		if m.Alert.Fingerprint < "fp010" {
			return []Reason{{Kind: MutedBySilence, ID: "s"}}
		}
		return nil
	}
	g.Plan(p, t0, mute)
	at := t0
	b.ReportAllocs()
	for b.Loop() {
		at = at.Add(time.Minute)
		if n, _ := g.Plan(p, at, mute); n == nil || len(n.Alert.Alerts) != 90 {
			b.Fatal("want a repeat of 90")
		}
	}
}

// BenchmarkNotifier_Throughput publishes b.N alert events and waits until
// the notifier has published b.N notifications (one group per alert, the
// default), on an embedded bus.
func BenchmarkNotifier_Throughput(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - {name: out, type: console}\nroutes:\n  - to: [out]\n"))
	if err != nil {
		b.Fatal(err)
	}
	bb, err := bus.Open(ctx, bus.Options{DataDir: b.TempDir(), Name: "bench", Config: cfg.Bus})
	if err != nil {
		b.Fatal(err)
	}
	defer bb.Close()
	set, _ := Load(cfg)
	n := New(cfg, set, bb, slog.New(slog.DiscardHandler))
	if err := n.Open(ctx); err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()

	stream, err := bb.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for i := range b.N {
		fp := fmt.Sprintf("bench%07d", i)
		ev, _ := events.New(events.TypeAlertFiring, "bench", fp, events.Alert{
			Fingerprint: fp, Rule: "r", Status: "firing", StartsAt: start,
		})
		if err := bb.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
	for {
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter(events.SubjectNotify+".>"))
		if err != nil {
			b.Fatal(err)
		}
		if len(info.State.Subjects) >= b.N {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "alerts/s")
	cancel()
	<-done
}

package runner_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/api/inbound"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// benchRunner is a runner on an embedded bus whose one task does nothing,
// so what is measured is the run's bookkeeping: state reads and writes,
// history, and four events stored with acknowledgement.
func benchRunner(b *testing.B) (*bus.Bus, *runner.Runner) {
	b.Helper()
	bs := openBus(b)
	r, err := runner.New(runner.Config{
		Tasks:     map[string]tasks.Task{"exec": &fakeTask{name: "exec"}},
		Settings:  tasks.Settings{Cooldown: time.Hour},
		Publisher: bs, State: runner.BusState{KV: bus.KV{Bucket: bs.State}},
	})
	if err != nil {
		b.Fatal(err)
	}
	return bs, r
}

// BenchmarkRequest_OnBus: one forced run of a no-op task, start to end.
func BenchmarkRequest_OnBus(b *testing.B) {
	_, r := benchRunner(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := r.Request(ctx, runner.RunRequest{Force: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkTriggers_StoredToRunDone: a trigger stored on EVENTS until its
// run has told its end; triggers are handled one at a time, so this is
// also the most triggers a second one hub turns into runs.
func BenchmarkTriggers_StoredToRunDone(b *testing.B) {
	bs, r := benchRunner(b)
	trig := runner.NewTriggers(bs, r, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := trig.Open(ctx); err != nil {
		b.Fatal(err)
	}
	go func() { _ = trig.Run(ctx) }()
	stream, err := bs.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		b.Fatal(err)
	}
	completed := func() uint64 {
		info, err := stream.Info(ctx, jetstream.WithSubjectFilter("tend.optimization.completed.>"))
		if err != nil {
			b.Fatal(err)
		}
		var n uint64
		for _, c := range info.State.Subjects {
			n += c
		}
		return n
	}

	b.ResetTimer()
	i := 0
	for b.Loop() {
		ev, err := events.New(events.TypeTriggerGitHub, "bench", "", inbound.Trigger{
			Trigger: events.Trigger{Kind: "github", Issue: i}, Tasks: []string{"exec"}})
		if err != nil {
			b.Fatal(err)
		}
		ev.ID = fmt.Sprintf("bench-%d", i)
		i++
		if err := bs.Publish(ctx, ev); err != nil {
			b.Fatal(err)
		}
		// Force is not a trigger's to ask; the cooldown is an hour, so each
		// trigger would be refused after the first. Clear it instead.
		for completed() < uint64(i) {
			time.Sleep(100 * time.Microsecond)
		}
		if err := (bus.KV{Bucket: bs.State}).Delete(ctx, runner.KeyCooldownPrefix+"exec"); err != nil {
			b.Fatal(err)
		}
	}
}

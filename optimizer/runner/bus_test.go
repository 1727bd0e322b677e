package runner_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/api/inbound"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// openBus starts an embedded bus on a temp store, as `tend serve` does.
func openBus(tb testing.TB) *bus.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: tb.TempDir(), Name: "runner-test",
		Config: config.Default().Bus})
	if err != nil {
		tb.Fatalf("open bus: %v", err)
	}
	tb.Cleanup(b.Close)
	return b
}

// busRig is a runner on a real bus with two fake tasks and its trigger
// consumer running.
type busRig struct {
	b    *bus.Bus
	r    *runner.Runner
	trig *runner.Triggers
	exec *fakeTask
	db   *fakeTask
}

func newBusRig(t *testing.T, tune func(*runner.Triggers)) *busRig {
	t.Helper()
	g := &busRig{b: openBus(t), exec: &fakeTask{name: "exec"}, db: &fakeTask{name: "database"}}
	r, err := runner.New(runner.Config{
		Tasks:     map[string]tasks.Task{"exec": g.exec, "database": g.db},
		Settings:  tasks.Settings{Cooldown: time.Hour},
		Publisher: g.b, State: runner.BusState{KV: bus.KV{Bucket: g.b.State}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g.r = r
	g.trig = runner.NewTriggers(g.b, r, nil)
	g.trig.BusyRetry, g.trig.AckWait = 100*time.Millisecond, time.Second
	if tune != nil {
		tune(g.trig)
	}
	if err := g.trig.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	return g
}

// start runs the trigger consumer until the test ends.
func (g *busRig) start(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.trig.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("triggers run: %v", err)
		}
	})
}

// publishTrigger stores a GitHub trigger event with id, as api/inbound
// writes it.
func (g *busRig) publishTrigger(t *testing.T, id string, data inbound.Trigger) {
	t.Helper()
	ev, err := events.New(events.TypeTriggerGitHub, "test", "", data)
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = id
	if err := g.b.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// stored returns the events on EVENTS matching filter, oldest first.
func (g *busRig) stored(t *testing.T, filter string) []events.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cons, err := g.b.JS.OrderedConsumer(ctx, bus.StreamEvents, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{filter}})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.FetchNoWait(1000)
	if err != nil {
		t.Fatal(err)
	}
	var out []events.Event
	for m := range batch.Messages() {
		ev, err := events.Unmarshal(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ev)
	}
	return out
}

// settled reports whether the trigger consumer has acknowledged everything
// delivered to it.
func (g *busRig) settled(t *testing.T) bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := g.b.JS.Consumer(ctx, bus.StreamEvents, runner.TriggerConsumer)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return info.NumAckPending == 0 && info.NumPending == 0 && info.NumRedelivered == 0 &&
		info.Delivered.Stream > 0 && info.AckFloor.Stream == info.Delivered.Stream
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func runs(t *testing.T, r *runner.Runner) []events.Run {
	t.Helper()
	list, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func TestBusState_MissingKeyIsNil(t *testing.T) {
	b := openBus(t)
	s := runner.BusState{KV: bus.KV{Bucket: b.State}}
	ctx := context.Background()
	v, err := s.Get(ctx, "optimizer.never")
	if v != nil || err != nil {
		t.Fatalf("missing key: %q, %v; want nil, nil", v, err)
	}
	if err := s.Put(ctx, "optimizer.x", []byte("1")); err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get(ctx, "optimizer.x"); string(v) != "1" || err != nil {
		t.Fatalf("get after put: %q, %v", v, err)
	}
}

// TestTriggers_GitHubRunCarriesItsOrigin: a trigger becomes one run whose
// events carry the repository, issue and commit back, and is acknowledged.
func TestTriggers_GitHubRunCarriesItsOrigin(t *testing.T) {
	g := newBusRig(t, nil)
	g.start(t)
	g.publishTrigger(t, "delivery-1", inbound.Trigger{
		Trigger: events.Trigger{Kind: "github", By: "ana", Repo: "acme/shop", Issue: 12, SHA: "abc123"},
		Tasks:   []string{"exec"}, Level: "medium", Event: "issue_comment",
	})

	eventually(t, "a completed run", func() bool {
		return len(g.stored(t, "tend.optimization.completed.>")) == 1
	})
	var run events.Run
	if err := g.stored(t, "tend.optimization.completed.>")[0].Decode(&run); err != nil {
		t.Fatal(err)
	}
	tr := run.Trigger
	if tr.Kind != "github" || tr.Repo != "acme/shop" || tr.Issue != 12 || tr.SHA != "abc123" ||
		tr.EventID != "delivery-1" {
		t.Errorf("trigger = %+v", tr)
	}
	if run.Level != "medium" || len(run.Tasks) != 1 || run.Tasks[0].Task != "exec" {
		t.Errorf("run = level %s, tasks %+v", run.Level, run.Tasks)
	}
	if g.exec.count() != 1 || g.db.count() != 0 {
		t.Errorf("exec ran %d times, database %d", g.exec.count(), g.db.count())
	}
	eventually(t, "the trigger acknowledged", func() bool { return g.settled(t) })
}

// TestTriggers_RedeliveredAfterCrashStartsNoSecondRun: a hub took the
// trigger, marked it and died before acknowledging; the redelivery finds
// the mark and starts nothing.
func TestTriggers_RedeliveredAfterCrashStartsNoSecondRun(t *testing.T) {
	g := newBusRig(t, nil)
	ctx := context.Background()
	g.publishTrigger(t, "delivery-2", inbound.Trigger{Trigger: events.Trigger{Kind: "github"}})

	// The hub that "crashed": it took the message from the shared consumer
	// and marked the trigger, and never acknowledged.
	cons, err := g.b.JS.Consumer(ctx, bus.StreamEvents, runner.TriggerConsumer)
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var took int
	for range batch.Messages() {
		took++
	}
	if took != 1 {
		t.Fatalf("fetched %d triggers, want 1", took)
	}
	if _, err := (bus.KV{Bucket: g.b.Seen}).FirstTime(ctx, runner.KeyTriggerPrefix+"delivery-2"); err != nil {
		t.Fatal(err)
	}

	// The surviving hub gets it again after the ack wait.
	g.start(t)
	eventually(t, "the redelivery acknowledged", func() bool {
		c, err := g.b.JS.Consumer(ctx, bus.StreamEvents, runner.TriggerConsumer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumRedelivered == 0 && info.NumAckPending == 0 &&
			info.AckFloor.Stream == info.Delivered.Stream && info.Delivered.Consumer >= 2
	})

	if n := len(runs(t, g.r)); n != 0 {
		t.Fatalf("a marked trigger started %d runs", n)
	}
	if n := len(g.stored(t, "tend.optimization.>")); n != 0 {
		t.Fatalf("a marked trigger published %d run events", n)
	}
}

// TestTriggers_WaitsForTheRunInProgress: a trigger arriving during another
// run waits for it instead of being dropped, then runs once.
func TestTriggers_WaitsForTheRunInProgress(t *testing.T) {
	g := newBusRig(t, nil)
	g.start(t)
	ctx := context.Background()
	g.db.gate, g.db.entered = make(chan struct{}), make(chan struct{})
	cliDone := make(chan error, 1)
	go func() {
		_, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"database"},
			Trigger: events.Trigger{Kind: "cli"}})
		cliDone <- err
	}()
	<-g.db.entered

	g.publishTrigger(t, "delivery-3", inbound.Trigger{Trigger: events.Trigger{Kind: "github", Issue: 3},
		Tasks: []string{"exec"}})
	// Redelivered at least once while the other run holds the runner.
	eventually(t, "the trigger put back", func() bool {
		c, err := g.b.JS.Consumer(ctx, bus.StreamEvents, runner.TriggerConsumer)
		if err != nil {
			return false
		}
		info, err := c.Info(ctx)
		return err == nil && info.NumRedelivered > 0
	})
	if g.exec.count() != 0 {
		t.Fatal("the trigger ran during another run")
	}
	close(g.db.gate)
	if err := <-cliDone; err != nil {
		t.Fatal(err)
	}

	eventually(t, "the triggered run", func() bool {
		return slices.ContainsFunc(runs(t, g.r), func(r events.Run) bool {
			return r.Trigger.Issue == 3 && r.Status == "completed"
		})
	})
	eventually(t, "the trigger acknowledged", func() bool { return g.settled(t) })
	if g.exec.count() != 1 {
		t.Errorf("exec ran %d times, want 1", g.exec.count())
	}
}

// TestTriggers_RefusalIsTold: a trigger that cannot run (unknown task,
// cooling down) is told as a failed run with its origin, once.
func TestTriggers_RefusalIsTold(t *testing.T) {
	g := newBusRig(t, nil)
	g.start(t)
	ctx := context.Background()
	if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"exec"}}); err != nil {
		t.Fatal(err)
	}
	g.publishTrigger(t, "delivery-4", inbound.Trigger{Trigger: events.Trigger{Kind: "slack",
		ResponseURL: "https://hooks.slack.test/r/1"}, Tasks: []string{"exec"}})
	g.publishTrigger(t, "delivery-5", inbound.Trigger{Trigger: events.Trigger{Kind: "github"},
		Tasks: []string{"nope"}})

	eventually(t, "two refusals", func() bool {
		return len(g.stored(t, "tend.optimization.failed.>")) == 2
	})
	var cooling, unknown events.Run
	evs := g.stored(t, "tend.optimization.failed.>")
	if err := evs[0].Decode(&cooling); err != nil {
		t.Fatal(err)
	}
	if err := evs[1].Decode(&unknown); err != nil {
		t.Fatal(err)
	}
	if cooling.Trigger.ResponseURL != "https://hooks.slack.test/r/1" || cooling.Status != "failed" {
		t.Errorf("cooling refusal = %+v", cooling)
	}
	if !strings.HasPrefix(cooling.Error, "cooling down: exec until") {
		t.Errorf("cooling refusal error = %q", cooling.Error)
	}
	if unknown.Error == "" || unknown.Trigger.Kind != "github" {
		t.Errorf("unknown-task refusal = %+v", unknown)
	}
	if n := len(runs(t, g.r)); n != 3 {
		t.Errorf("history holds %d runs, want the run and two refusals", n)
	}
	eventually(t, "the triggers acknowledged", func() bool { return g.settled(t) })
	if g.exec.count() != 1 {
		t.Errorf("exec ran %d times, want 1", g.exec.count())
	}
}

// TestTriggers_IgnoresOtherKinds: a trigger type the runner does not know
// is acknowledged and starts nothing.
func TestTriggers_IgnoresOtherKinds(t *testing.T) {
	g := newBusRig(t, nil)
	g.start(t)
	ev, err := events.New(events.TypePrefix+"trigger.pager", "test", "p1", map[string]string{})
	if err != nil {
		t.Fatal(err)
	}
	if err := g.b.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the trigger acknowledged", func() bool { return g.settled(t) })
	if n := len(runs(t, g.r)); n != 0 {
		t.Errorf("%d runs", n)
	}
}

// TestTriggers_CopyStartsNoSecondRun: the same trigger stored twice (under
// two message ids, past JetStream's duplicate check) runs once.
func TestTriggers_CopyStartsNoSecondRun(t *testing.T) {
	g := newBusRig(t, nil)
	g.start(t)
	ev, err := events.New(events.TypeTriggerGitHub, "test", "", inbound.Trigger{
		Trigger: events.Trigger{Kind: "github"}, Tasks: []string{"exec"}})
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = "delivery-6"
	data, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"tend.trigger.github.a", "tend.trigger.github.b"} {
		_, err := g.b.JS.Publish(context.Background(), subject, data, jetstream.WithMsgID(subject))
		if err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "both copies acknowledged", func() bool {
		c, err := g.b.JS.Consumer(context.Background(), bus.StreamEvents, runner.TriggerConsumer)
		if err != nil {
			return false
		}
		info, err := c.Info(context.Background())
		return err == nil && info.NumAckPending == 0 && info.AckFloor.Stream == 2
	})
	if g.exec.count() != 1 || len(runs(t, g.r)) != 1 {
		t.Errorf("exec ran %d times, %d runs kept; want 1", g.exec.count(), len(runs(t, g.r)))
	}
	if n := len(g.stored(t, "tend.optimization.failed.>")); n != 0 {
		t.Errorf("the copy was refused aloud %d times; want silence", n)
	}
}

// TestTriggers_AutomaticOnlyWhenEnabled: a push starts a run only while
// automatic optimization is enabled; a person's comment runs either way.
func TestTriggers_AutomaticOnlyWhenEnabled(t *testing.T) {
	g := newBusRig(t, nil)
	g.start(t)
	ctx := context.Background()
	g.publishTrigger(t, "push-1", inbound.Trigger{Trigger: events.Trigger{Kind: "github", SHA: "a1"},
		Tasks: []string{"exec"}, Event: "push"})
	eventually(t, "the push acknowledged", func() bool { return g.settled(t) })
	if n := len(g.stored(t, "tend.optimization.>")); n != 0 || g.exec.count() != 0 {
		t.Fatalf("a push while disabled: %d run events, exec ran %d times", n, g.exec.count())
	}

	g.publishTrigger(t, "comment-1", inbound.Trigger{Trigger: events.Trigger{Kind: "github", Issue: 1},
		Tasks: []string{"database"}, Event: "issue_comment"})
	eventually(t, "the comment's run", func() bool { return g.db.count() == 1 })

	if err := g.r.SetEnabled(ctx, true); err != nil {
		t.Fatal(err)
	}
	g.publishTrigger(t, "push-2", inbound.Trigger{Trigger: events.Trigger{Kind: "github", SHA: "a2"},
		Tasks: []string{"exec"}, Event: "push"})
	eventually(t, "the push's run", func() bool { return g.exec.count() == 1 })
	eventually(t, "the triggers acknowledged", func() bool { return g.settled(t) })
}

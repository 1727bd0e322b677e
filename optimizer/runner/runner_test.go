package runner_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// memPublisher keeps published events.
type memPublisher struct {
	mu  sync.Mutex
	evs []events.Event
	err error
}

func (p *memPublisher) Publish(_ context.Context, ev events.Event) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return p.err
	}
	p.evs = append(p.evs, ev)
	return nil
}

func (p *memPublisher) types() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, len(p.evs))
	for i, ev := range p.evs {
		out[i] = ev.Kind()
	}
	return out
}

// memState is a map behind the State interface.
type memState struct {
	mu sync.Mutex
	m  map[string][]byte
}

func newState() *memState { return &memState{m: map[string][]byte{}} }

func (s *memState) Get(_ context.Context, k string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[k], nil
}

func (s *memState) Put(_ context.Context, k string, v []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[k] = append([]byte(nil), v...)
	return nil
}

// fakeTask counts its runs; with gate set it waits for a value on it (or
// the end of its context), after telling entered.
type fakeTask struct {
	name    string
	mu      sync.Mutex
	runs    int
	envs    []tasks.Env
	gate    chan struct{}
	entered chan struct{}
	fail    error
}

func (f *fakeTask) Name() string { return f.name }

func (f *fakeTask) Plan(context.Context, tasks.Env) ([]events.Step, error) {
	return []events.Step{{Name: "act", Target: "thing x"}}, nil
}

func (f *fakeTask) Run(ctx context.Context, env tasks.Env) (events.TaskResult, error) {
	f.mu.Lock()
	f.runs++
	f.envs = append(f.envs, env)
	f.mu.Unlock()
	if f.gate != nil {
		f.entered <- struct{}{}
		select {
		case <-f.gate:
		case <-ctx.Done():
		}
	}
	if f.fail != nil {
		return events.TaskResult{Task: f.name, Verdict: tasks.Failed, Error: f.fail.Error()}, f.fail
	}
	return events.TaskResult{
		Task:  f.name,
		Steps: []events.Step{{Name: "act", Target: "thing x", Done: !env.DryRun}},
		Measures: []events.Measurement{{Name: "value", Before: events.Stats{N: 3, Median: 10},
			After: events.Stats{N: 3, Median: 2}, LowerIsBetter: true, Verdict: tasks.Improved}},
		Verdict: tasks.Improved,
	}, nil
}

func (f *fakeTask) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs
}

// clock is a settable time.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type rig struct {
	r     *runner.Runner
	pub   *memPublisher
	state *memState
	clk   *clock
	exec  *fakeTask
	db    *fakeTask
}

func newRig(t *testing.T, settings tasks.Settings) *rig {
	t.Helper()
	g := &rig{pub: &memPublisher{}, state: newState(),
		clk:  &clock{t: time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)},
		exec: &fakeTask{name: "exec"}, db: &fakeTask{name: "database"}}
	r, err := runner.New(runner.Config{
		Tasks:    map[string]tasks.Task{"exec": g.exec, "database": g.db},
		Settings: settings, Publisher: g.pub, State: g.state, Now: g.clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	g.r = r
	return g
}

func firing(optimize ...string) events.Alert {
	return events.Alert{Fingerprint: "f1", Rule: "probe high", Status: events.StatusFiring, Optimize: optimize}
}

func TestOnAlert_CooldownStartsOneRun(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{Enabled: true, Cooldown: 30 * time.Minute})

	run, err := g.r.OnAlert(ctx, firing("exec"))
	if err != nil {
		t.Fatalf("first alert: %v", err)
	}
	if run.Status != "completed" || run.Trigger.Kind != "alert" || run.Trigger.Fingerprint != "f1" {
		t.Errorf("run = %+v", run)
	}
	g.clk.add(10 * time.Minute)
	if _, err := g.r.OnAlert(ctx, firing("exec")); !errors.Is(err, runner.ErrCoolingDown) {
		t.Fatalf("second alert inside the cooldown: %v, want ErrCoolingDown", err)
	}
	if g.exec.count() != 1 {
		t.Errorf("exec ran %d times, want 1", g.exec.count())
	}
	want := "optimization.requested,optimization.started,optimization.completed"
	if got := strings.Join(g.pub.types(), ","); got != want {
		t.Errorf("events = %s, want one run: %s", got, want)
	}

	// Past the cooldown the alert starts a run again; force needs no wait.
	g.clk.add(21 * time.Minute)
	if _, err := g.r.OnAlert(ctx, firing("exec")); err != nil {
		t.Fatalf("alert after the cooldown: %v", err)
	}
	if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"exec"}, Force: true}); err != nil {
		t.Fatalf("forced request: %v", err)
	}
	if g.exec.count() != 3 {
		t.Errorf("exec ran %d times, want 3", g.exec.count())
	}
}

func TestOnAlert_PartlyCooling(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{Enabled: true})
	if _, err := g.r.OnAlert(ctx, firing("exec")); err != nil {
		t.Fatal(err)
	}
	run, err := g.r.OnAlert(ctx, firing("exec", "database"))
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 2 || run.Tasks[0].Verdict != tasks.Skipped ||
		!strings.Contains(run.Tasks[0].Steps[0].Skipped, "cooling down until 2026-12-04T16:30:00Z") {
		t.Errorf("tasks = %+v", run.Tasks)
	}
	if g.exec.count() != 1 || g.db.count() != 1 {
		t.Errorf("runs: exec %d, database %d; want 1 and 1", g.exec.count(), g.db.count())
	}
}

func TestOnAlert_Refusals(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{})
	if _, err := g.r.OnAlert(ctx, firing("exec")); !errors.Is(err, runner.ErrDisabled) {
		t.Errorf("disabled: %v", err)
	}
	if err := g.r.SetEnabled(ctx, true); err != nil {
		t.Fatal(err)
	}
	resolved := firing("exec")
	resolved.Status = events.StatusResolved
	if _, err := g.r.OnAlert(ctx, resolved); !errors.Is(err, runner.ErrNothingToDo) {
		t.Errorf("resolved: %v", err)
	}
	if _, err := g.r.OnAlert(ctx, firing("nope")); !errors.Is(err, runner.ErrUnknownTask) {
		t.Errorf("unknown task: %v", err)
	}
	if n := len(g.pub.types()); n != 0 || g.exec.count() != 0 {
		t.Errorf("%d events and %d runs after refusals, want none", n, g.exec.count())
	}
}

func TestRequest_OneAtATime(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{})
	g.exec.gate, g.exec.entered = make(chan struct{}), make(chan struct{})

	done := make(chan error, 1)
	go func() {
		_, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"exec"}})
		done <- err
	}()
	<-g.exec.entered

	if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"database"}}); !errors.Is(err, runner.ErrBusy) {
		t.Errorf("second request during a run: %v, want ErrBusy", err)
	}
	if _, err := g.r.Request(ctx, runner.RunRequest{DryRun: true, Force: true}); !errors.Is(err, runner.ErrBusy) {
		t.Errorf("forced dry run during a run: %v, want ErrBusy", err)
	}
	close(g.exec.gate)
	if err := <-done; err != nil {
		t.Fatalf("first request: %v", err)
	}
	if g.db.count() != 0 {
		t.Errorf("database ran %d times during the exec run", g.db.count())
	}
	// Free again once the run ended.
	g.exec.gate = nil
	if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"database"}}); err != nil {
		t.Errorf("request after the run: %v", err)
	}
}

func TestRequest_EventsAndHistory(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{AllowDisruptive: true})
	if err := g.r.SetLevel(ctx, tasks.High); err != nil {
		t.Fatal(err)
	}
	run, err := g.r.Request(ctx, runner.RunRequest{Trigger: events.Trigger{Kind: "cli", By: "ana"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Level != "high" || len(run.Tasks) != 2 || len(run.Summary) != 2 {
		t.Errorf("run = %+v", run)
	}
	if want := "database: act on thing x, value 10 → 2; improved"; run.Summary[0] != want {
		t.Errorf("summary = %q, want %q", run.Summary[0], want)
	}
	if env := g.exec.envs[0]; env.Level != tasks.High || !env.AllowDisruptive || env.DryRun {
		t.Errorf("task env = %+v", env)
	}

	last := g.pub.evs[len(g.pub.evs)-1]
	var got events.Run
	if err := last.Decode(&got); err != nil {
		t.Fatal(err)
	}
	if last.Type != events.TypeOptimizationCompleted || got.ID != run.ID || got.Finished == nil ||
		last.Subject != "tend.optimization.completed."+run.ID {
		t.Errorf("last event %s %s = %+v", last.Type, last.Subject, got)
	}
	if got.Tasks[0].Measures[0].Before.Median != 10 || got.Tasks[0].Measures[0].After.Median != 2 {
		t.Errorf("event lacks before/after: %+v", got.Tasks[0])
	}

	// Dry runs neither need nor set a cooldown, and are kept too.
	for range runner.HistorySize + 5 {
		if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"exec"}, DryRun: true}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := g.r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != runner.HistorySize || !list[0].DryRun || list[0].Status != "completed" {
		t.Errorf("history has %d runs, newest %+v", len(list), list[0])
	}
	if _, err := g.r.Run(ctx, run.ID); !errors.Is(err, runner.ErrNotFound) {
		t.Errorf("oldest run should have left the history: %v", err)
	}
	if r, err := g.r.Run(ctx, list[3].ID); err != nil || r.ID != list[3].ID {
		t.Errorf("Run(%s) = %v, %v", list[3].ID, r.ID, err)
	}
}

func TestRequest_Failed(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{})
	g.exec.fail = errors.New("measure printed nothing")
	run, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"exec"}})
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != "failed" || run.Error == "" || !strings.Contains(run.Summary[0], "failed: measure printed") {
		t.Errorf("run = %+v", run)
	}
	if types := g.pub.types(); types[len(types)-1] != "optimization.failed" {
		t.Errorf("events = %v", types)
	}
	if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"cpu"}}); !errors.Is(err, runner.ErrUnknownTask) {
		t.Errorf("unknown task: %v", err)
	}
	if _, err := g.r.Request(ctx, runner.RunRequest{Level: "max"}); !errors.Is(err, tasks.ErrBadLevel) {
		t.Errorf("bad level: %v", err)
	}
	g.pub.err = errors.New("bus down")
	if _, err := g.r.Request(ctx, runner.RunRequest{Tasks: []string{"database"}}); err == nil ||
		!strings.Contains(err.Error(), "bus down") {
		t.Errorf("publish failure: %v", err)
	}
}

func TestState_PersistsAcrossRunners(t *testing.T) {
	ctx := context.Background()
	g := newRig(t, tasks.Settings{Level: tasks.Medium})
	if on, _ := g.r.Enabled(ctx); on {
		t.Error("enabled by default")
	}
	if l, _ := g.r.Level(ctx); l != tasks.Medium {
		t.Errorf("level = %v, want the config's medium", l)
	}
	_ = g.r.SetEnabled(ctx, true)
	_ = g.r.SetLevel(ctx, tasks.Aggressive)

	again, err := runner.New(runner.Config{Tasks: map[string]tasks.Task{}, Publisher: g.pub, State: g.state})
	if err != nil {
		t.Fatal(err)
	}
	on, _ := again.Enabled(ctx)
	l, _ := again.Level(ctx)
	if !on || l != tasks.Aggressive {
		t.Errorf("new runner sees enabled %v, level %v; want true, aggressive", on, l)
	}
}

func TestTest_PlansOnly(t *testing.T) {
	g := newRig(t, tasks.Settings{})
	plans, err := g.r.Test(context.Background(), []string{"exec"}, "high")
	if err != nil {
		t.Fatal(err)
	}
	if len(plans) != 1 || plans[0].Steps[0].Name != "act" || g.exec.count() != 0 {
		t.Errorf("plans = %+v, runs %d", plans, g.exec.count())
	}
	if len(g.pub.types()) != 0 {
		t.Errorf("Test published %v", g.pub.types())
	}
}

func TestRunSchedule(t *testing.T) {
	g := &rig{pub: &memPublisher{}, state: newState(), exec: &fakeTask{name: "exec"}}
	sched, err := tasks.ParseSchedule("", time.Hour, []string{"exec"})
	if err != nil {
		t.Fatal(err)
	}
	ticks := make(chan time.Time)
	waits := make(chan time.Duration, 10)
	r, err := runner.New(runner.Config{
		Tasks:     map[string]tasks.Task{"exec": g.exec},
		Settings:  tasks.Settings{Enabled: true, Schedule: sched, Cooldown: time.Nanosecond},
		Publisher: g.pub, State: g.state,
		After: func(d time.Duration) <-chan time.Time { waits <- d; return ticks },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.RunSchedule(ctx) }()

	for i := range 2 {
		if d := <-waits; d != time.Hour {
			t.Errorf("wait %d = %v, want 1h", i, d)
		}
		ticks <- time.Now()
	}
	<-waits // the loop is waiting for the third time: two runs are done
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("RunSchedule: %v", err)
	}
	if g.exec.count() != 2 {
		t.Errorf("exec ran %d times, want 2", g.exec.count())
	}
	list, _ := r.List(context.Background())
	if len(list) != 2 || list[0].Trigger.Kind != "schedule" {
		t.Errorf("history = %+v", list)
	}
}

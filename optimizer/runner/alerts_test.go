package runner_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// TestAlerts_DoesNotHoldTheCaller: OnAlert returns while the run goes on,
// an alert during the run starts none, and Run waits for the run to end.
func TestAlerts_DoesNotHoldTheCaller(t *testing.T) {
	g := newRig(t, tasks.Settings{Enabled: true, Cooldown: time.Hour})
	g.exec.gate, g.exec.entered = make(chan struct{}), make(chan struct{})
	al := runner.NewAlerts(g.r, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- al.Run(ctx) }()

	returned := make(chan struct{})
	go func() {
		al.OnAlert(ctx, firing("exec"))
		close(returned)
	}()
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("OnAlert held its caller")
	}
	<-g.exec.entered

	// Another alert while the run holds the runner: refused, not queued.
	al.OnAlert(ctx, events.Alert{Fingerprint: "f2", Status: events.StatusFiring, Optimize: []string{"database"}})
	waitFor(t, "the second alert refused", func() bool { _, refused := al.Counts(); return refused == 1 })
	// Resolved alerts and alerts asking for nothing start nothing.
	al.OnAlert(ctx, events.Alert{Fingerprint: "f1", Status: events.StatusResolved, Optimize: []string{"exec"}})
	al.OnAlert(ctx, events.Alert{Fingerprint: "f3", Status: events.StatusFiring})

	close(g.exec.gate)
	waitFor(t, "the run", func() bool { started, _ := al.Counts(); return started == 1 })
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if g.exec.count() != 1 || g.db.count() != 0 {
		t.Errorf("exec ran %d times, database %d", g.exec.count(), g.db.count())
	}
	// After Run returned, alerts start nothing.
	al.OnAlert(context.Background(), firing("database"))
	if g.db.count() != 0 {
		t.Error("an alert after shutdown started a run")
	}
}

// TestAlerts_StopCancelsTheRun: stopping ends a run an alert started; its
// end is still told.
func TestAlerts_StopCancelsTheRun(t *testing.T) {
	g := newRig(t, tasks.Settings{Enabled: true})
	g.exec.gate, g.exec.entered = make(chan struct{}), make(chan struct{})
	al := runner.NewAlerts(g.r, nil)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan error, 1)
	go func() { stopped <- al.Run(ctx) }()

	al.OnAlert(context.Background(), firing("exec"))
	<-g.exec.entered
	cancel()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	types := g.pub.types()
	if len(types) != 3 || types[2] != "optimization.failed" {
		t.Errorf("events = %v, want the run failed as cancelled", types)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

type memSeen struct {
	mu   sync.Mutex
	keys map[string]bool
}

func (s *memSeen) FirstTime(_ context.Context, key string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.keys[key] {
		return false, nil
	}
	s.keys[key] = true
	return true, nil
}

// TestAlerts_TwoHubsOneRun: every hub's engine raises the same alert; with
// a shared Seen only one hub runs it, even when both act at once.
func TestAlerts_TwoHubsOneRun(t *testing.T) {
	state, seen := newState(), &memSeen{keys: map[string]bool{}}
	task := &fakeTask{name: "exec"}
	ctx, cancel := context.WithCancel(context.Background())
	var hubs []*runner.Alerts
	stopped := make(chan error, 2)
	for range 2 {
		r, err := runner.New(runner.Config{Tasks: map[string]tasks.Task{"exec": task},
			Settings: tasks.Settings{Enabled: true}, Publisher: &memPublisher{}, State: state})
		if err != nil {
			t.Fatal(err)
		}
		al := runner.NewAlerts(r, nil)
		al.Seen = seen
		go func() { stopped <- al.Run(ctx) }()
		hubs = append(hubs, al)
	}
	a := firing("exec")
	a.StartsAt = time.Date(2026, 12, 4, 16, 0, 0, 0, time.UTC)
	for _, al := range hubs {
		al.OnAlert(ctx, a)
	}
	waitFor(t, "a run", func() bool {
		s0, _ := hubs[0].Counts()
		s1, _ := hubs[1].Counts()
		return s0+s1 >= 1
	})
	cancel()
	for range hubs {
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
	}
	if task.count() != 1 {
		t.Errorf("exec ran %d times on two hubs, want 1", task.count())
	}
}

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/api/optimizerapi"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

type memState struct {
	mu sync.Mutex
	m  map[string][]byte
}

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

type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, events.Event) error { return nil }

// halver is a task that halves a queue of 4,096 jobs, slowly enough that
// the CLI waits for it.
type halver struct {
	mu    sync.Mutex
	queue float64
	delay time.Duration
}

func (h *halver) Name() string { return "exec" }

func (h *halver) Plan(context.Context, tasks.Env) ([]events.Step, error) {
	return []events.Step{{Name: "run", Target: "command drain"},
		{Name: "purge", Target: "queue jobs", Skipped: "needs level high, the run is at low"}}, nil
}

func (h *halver) Run(ctx context.Context, env tasks.Env) (events.TaskResult, error) {
	select {
	case <-time.After(h.delay):
	case <-ctx.Done():
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := events.Measurement{Name: "queue", Unit: "jobs", LowerIsBetter: true,
		Before: events.Stats{N: 3, Median: h.queue, Spread: 1.5}}
	if env.DryRun {
		m.Verdict = tasks.Skipped
		return events.TaskResult{Task: "exec", Verdict: tasks.Skipped, Measures: []events.Measurement{m},
			Steps: []events.Step{{Name: "run", Target: "command drain", Skipped: "dry run"}}}, nil
	}
	h.queue /= 2
	m.After, m.Verdict = events.Stats{N: 3, Median: h.queue}, tasks.Improved
	return events.TaskResult{Task: "exec", Verdict: tasks.Improved, Measures: []events.Measurement{m},
		Steps: []events.Step{{Name: "run", Target: "command drain", Done: true}}}, nil
}

// optimizerServer serves the optimizer API over one halver; runs outlast
// the handler's wait, so the CLI polls.
func optimizerServer(t *testing.T) (*httptest.Server, *halver) {
	t.Helper()
	task := &halver{queue: 4096, delay: 30 * time.Millisecond}
	r, err := runner.New(runner.Config{
		Tasks: map[string]tasks.Task{"exec": task}, Settings: tasks.Settings{Cooldown: time.Hour},
		Publisher: nopPublisher{}, State: &memState{m: map[string][]byte{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := optimizerapi.New(r, nil)
	h.Wait = time.Millisecond
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = h.Run(ctx); close(done) }()
	t.Cleanup(func() { srv.Close(); cancel(); <-done })
	return srv, task
}

func tend(t *testing.T, srv *httptest.Server, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := run(context.Background(), append(args, "--server", srv.URL), &out, &errOut)
	return out.String() + errOut.String(), err
}

func mustTend(t *testing.T, srv *httptest.Server, args ...string) string {
	t.Helper()
	out, err := tend(t, srv, args...)
	if err != nil {
		t.Fatalf("tend %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

func TestCLI_EnableDisableLevel(t *testing.T) {
	srv, _ := optimizerServer(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"level"}, "level      low"},
		{[]string{"enable", "--format", "summary"}, "automatic optimization enabled, level low, tasks: exec"},
		{[]string{"level", "high", "--format", "summary"}, "enabled, level high"},
		{[]string{"disable", "--format", "json"}, `"enabled": false`},
		{[]string{"level", "--format", "summary"}, "automatic optimization disabled, level high"},
	}
	for _, tc := range tests {
		out := mustTend(t, srv, tc.args...)
		if !strings.Contains(out, tc.want) {
			t.Errorf("tend %s:\n%s\nwant %q", strings.Join(tc.args, " "), out, tc.want)
		}
	}
	out, err := tend(t, srv, "level", "extreme")
	if err == nil || !strings.Contains(err.Error(), "unknown level") {
		t.Errorf("bad level: %v\n%s", err, out)
	}
}

func TestCLI_OptimizeWaitsAndShowsBeforeAfter(t *testing.T) {
	srv, task := optimizerServer(t)

	out := mustTend(t, srv, "optimize", "exec", "--level", "medium")
	for _, want := range []string{"completed at level medium", "asked by cli", "queue (jobs)",
		"4,096 → 2,048", "3/3", "±1.5 / ±0", "improved", "command drain"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}

	// Inside the cooldown it is refused with the way out; forced it runs.
	if out, err := tend(t, srv, "optimize", "exec"); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Errorf("run inside the cooldown: %v\n%s", err, out)
	}
	out = mustTend(t, srv, "optimize", "--force", "--format", "json")
	var run events.Run
	if err := json.Unmarshal([]byte(out), &run); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if run.Status != "completed" || run.Tasks[0].Measures[0].After.Median != 1024 {
		t.Errorf("forced run = %+v", run)
	}

	// A dry run measures, changes nothing and sets no cooldown.
	out = mustTend(t, srv, "optimize", "--dry-run", "--format", "summary")
	if !strings.Contains(out, "dry run") ||
		!strings.Contains(out, "exec: nothing done (dry run), queue 1,024 jobs") {
		t.Errorf("dry run summary:\n%s", out)
	}
	if task.queue != 1024 {
		t.Errorf("queue = %v after a dry run, want 1024", task.queue)
	}
}

func TestCLI_TestTouchesNothing(t *testing.T) {
	srv, task := optimizerServer(t)
	out := mustTend(t, srv, "test", "exec")
	for _, want := range []string{"at level low, nothing touched", "run", "command drain", "would run",
		"would skip: needs level high"} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	out = mustTend(t, srv, "test", "--level", "high", "--format", "summary")
	if !strings.Contains(out, "at level high: exec 1 step(s) would run, 1 skipped") {
		t.Errorf("summary:\n%s", out)
	}
	if task.queue != 4096 {
		t.Errorf("tend test changed the queue to %v", task.queue)
	}
	_, err := tend(t, srv, "test", "nope")
	if err == nil || !strings.Contains(err.Error(), `unknown task "nope"`) {
		t.Errorf("unknown task: %v", err)
	}
	// `tend test integration NAME` still reaches the integration test, not
	// the task plans.
	_, err = tend(t, srv, "test", "integration", "slack")
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("test integration: %v, want the integrations endpoint's 404", err)
	}
}

func TestCLI_Runs(t *testing.T) {
	srv, _ := optimizerServer(t)
	if out := mustTend(t, srv, "runs", "--format", "summary"); !strings.Contains(out, "no runs yet") {
		t.Errorf("empty history:\n%s", out)
	}
	var run events.Run
	if err := json.Unmarshal([]byte(mustTend(t, srv, "optimize", "--format", "json")), &run); err != nil {
		t.Fatal(err)
	}
	out := mustTend(t, srv, "runs")
	if !strings.Contains(out, run.ID) || !strings.Contains(out, "completed") || !strings.Contains(out, "exec") {
		t.Errorf("runs:\n%s", out)
	}
	out = mustTend(t, srv, "runs", run.ID)
	if !strings.Contains(out, "4,096 → 2,048") {
		t.Errorf("runs ID:\n%s", out)
	}
	if _, err := tend(t, srv, "runs", "nope"); err == nil || !strings.Contains(err.Error(), "run not found") {
		t.Errorf("unknown run: %v", err)
	}
}

func TestCheckOptimizer(t *testing.T) {
	tests := []struct {
		name, config string
		want         []string
	}{
		{"fine", `
rules:
  - {name: r, metric: m, above: 1, severity: warning, optimize: [exec]}
optimizer:
  tasks:
    exec: {command: ["true"], measure: [echo, "1"]}
`, nil},
		{"unconfigured task", `
rules:
  - {name: r, metric: m, above: 1, severity: warning, optimize: [database]}
`, []string{`tend.yaml:3: rules[0].optimize[0]: task "database" is not configured`}},
		{"bad settings", `
optimizer:
  level: extreme
  tasks:
    exec: {command: ["true"]}
`, []string{"tend.yaml:3: optimizer.level", "optimizer.tasks.exec.measure"}},
		{"missing source", `
optimizer:
  tasks:
    database: {source: db}
`, []string{`optimizer.tasks: bad source: database: no source named "db"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tend.yaml")
			if err := os.WriteFile(path, []byte(tc.config), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := checkConfig(path)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want ok, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want errors, got none")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("missing %q in:\n%v", w, err)
				}
			}
		})
	}
}

func TestNum(t *testing.T) {
	tests := []struct {
		v    float64
		unit string
		want string
	}{
		{0, "", "0"},
		{120412, "", "120,412"},
		{-1234567, "", "-1,234,567"},
		{12.345, "ms", "12.35"},
		{0.5, "", "0.5"},
		{512, "bytes", "512"},
		{3 << 20, "bytes", "3.0 MiB"},
		{1536, "bytes", "1.5 KiB"},
	}
	for _, tc := range tests {
		if got := num(tc.v, tc.unit); got != tc.want {
			t.Errorf("num(%v, %q) = %q, want %q", tc.v, tc.unit, got, tc.want)
		}
	}
}

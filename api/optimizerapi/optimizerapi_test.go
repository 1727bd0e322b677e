package optimizerapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/api"
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

// gatedTask halves a number when it runs; with gate set it first waits for
// gate to close, after telling entered.
type gatedTask struct {
	name    string
	mu      sync.Mutex
	value   float64
	gate    chan struct{}
	entered chan struct{}
}

func (g *gatedTask) Name() string { return g.name }

func (g *gatedTask) Plan(context.Context, tasks.Env) ([]events.Step, error) {
	return []events.Step{{Name: "halve", Target: "number n"},
		{Name: "double check", Target: "number n", Skipped: "needs level high, the run is at low"}}, nil
}

func (g *gatedTask) Run(ctx context.Context, env tasks.Env) (events.TaskResult, error) {
	if g.gate != nil {
		g.entered <- struct{}{}
		select {
		case <-g.gate:
		case <-ctx.Done():
		}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	before := g.value
	if env.DryRun {
		return events.TaskResult{Task: g.name, Verdict: tasks.Skipped,
			Steps: []events.Step{{Name: "halve", Skipped: "dry run"}}}, nil
	}
	g.value /= 2
	return events.TaskResult{Task: g.name, Verdict: tasks.Improved,
		Steps: []events.Step{{Name: "halve", Target: "number n", Done: true}},
		Measures: []events.Measurement{{Name: "n", Before: events.Stats{N: 3, Median: before},
			After: events.Stats{N: 3, Median: g.value}, LowerIsBetter: true, Verdict: tasks.Improved}}}, nil
}

type rig struct {
	srv  *httptest.Server
	h    *optimizerapi.Handler
	task *gatedTask
	stop context.CancelFunc
	done chan struct{} // closed when the handler's Run returned
}

func newRig(t *testing.T) *rig {
	t.Helper()
	g := &rig{task: &gatedTask{name: "exec", value: 64}}
	r, err := runner.New(runner.Config{
		Tasks:     map[string]tasks.Task{"exec": g.task},
		Settings:  tasks.Settings{Cooldown: time.Hour},
		Publisher: nopPublisher{}, State: &memState{m: map[string][]byte{}},
	})
	if err != nil {
		t.Fatal(err)
	}
	g.h = optimizerapi.New(r, nil)
	mux := http.NewServeMux()
	g.h.Register(mux)
	g.srv = httptest.NewServer(mux)
	ctx, cancel := context.WithCancel(context.Background())
	g.stop, g.done = cancel, make(chan struct{})
	go func() {
		if err := g.h.Run(ctx); err != nil {
			t.Errorf("handler run: %v", err)
		}
		close(g.done)
	}()
	t.Cleanup(func() {
		g.srv.Close()
		cancel()
		<-g.done
	})
	return g
}

// call sends body (nil for none) and decodes the JSON answer into out.
func (g *rig) call(t *testing.T, method, path string, body, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			rd = strings.NewReader(s)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				t.Fatal(err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, g.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: decode %q: %v", method, path, data, err)
		}
	}
	return resp.StatusCode
}

func TestState_GetAndPut(t *testing.T) {
	g := newRig(t)
	var st optimizerapi.State
	if code := g.call(t, "GET", optimizerapi.Prefix, nil, &st); code != 200 || st.Enabled || st.Level != "low" {
		t.Fatalf("initial state: %d %+v", code, st)
	}
	if len(st.Tasks) != 1 || st.Tasks[0] != "exec" {
		t.Errorf("tasks = %v", st.Tasks)
	}
	if code := g.call(t, "PUT", optimizerapi.Prefix, `{"enabled": true, "level": "HIGH"}`, &st); code != 200 {
		t.Fatalf("put: %d", code)
	}
	if !st.Enabled || st.Level != "high" {
		t.Errorf("after put: %+v", st)
	}

	tests := []struct {
		name, body string
		code       int
		wantErr    string
	}{
		{"bad level", `{"enabled": false, "level": "extreme"}`, 400, `unknown level "extreme"`},
		{"unknown key", `{"enable": false}`, 400, "unknown field"},
		{"not json", `enabled`, 400, "read body"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p api.Problem
			if code := g.call(t, "PUT", optimizerapi.Prefix, tc.body, &p); code != tc.code ||
				!strings.Contains(p.Error, tc.wantErr) {
				t.Errorf("got %d %+v, want %d %q", code, p, tc.code, tc.wantErr)
			}
		})
	}
	// A refused update changed nothing, not even its valid half.
	g.call(t, "GET", optimizerapi.Prefix, nil, &st)
	if !st.Enabled || st.Level != "high" {
		t.Errorf("state after refused updates: %+v", st)
	}
}

func TestRuns_RunListShowAndRefusals(t *testing.T) {
	g := newRig(t)
	var run events.Run
	code := g.call(t, "POST", optimizerapi.Prefix+"/runs", optimizerapi.RunRequest{Tasks: []string{"exec"},
		Level: "medium", Via: "cli", By: "ana"}, &run)
	if code != 200 || run.Status != "completed" || run.Level != "medium" {
		t.Fatalf("run: %d %+v", code, run)
	}
	if run.Trigger.Kind != "cli" || run.Trigger.By != "ana" {
		t.Errorf("trigger = %+v", run.Trigger)
	}
	if m := run.Tasks[0].Measures[0]; m.Before.Median != 64 || m.After.Median != 32 {
		t.Errorf("measure = %+v", m)
	}

	tests := []struct {
		name string
		req  optimizerapi.RunRequest
		code int
		want string
	}{
		{"cooling down", optimizerapi.RunRequest{Tasks: []string{"exec"}}, 409, "--force"},
		{"unknown task", optimizerapi.RunRequest{Tasks: []string{"nope"}}, 400, `unknown task "nope"`},
		{"bad level", optimizerapi.RunRequest{Level: "max"}, 400, "unknown level"},
		{"bad wait", optimizerapi.RunRequest{Wait: "soon"}, 400, "wait"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p api.Problem
			code := g.call(t, "POST", optimizerapi.Prefix+"/runs", tc.req, &p)
			if code != tc.code || !strings.Contains(p.Error+" "+p.Hint, tc.want) {
				t.Errorf("got %d %+v, want %d %q", code, p, tc.code, tc.want)
			}
		})
	}

	// Forced, it runs inside the cooldown; a dry run changes nothing.
	if code := g.call(t, "POST", optimizerapi.Prefix+"/runs", `{"force": true}`, &run); code != 200 {
		t.Fatalf("forced run: %d", code)
	}
	if code := g.call(t, "POST", optimizerapi.Prefix+"/runs", `{"dry_run": true}`, &run); code != 200 ||
		!run.DryRun || run.Trigger.Kind != "api" {
		t.Fatalf("dry run: %d %+v", code, run)
	}
	if g.task.value != 16 {
		t.Errorf("value = %v after two runs and a dry run, want 16", g.task.value)
	}

	var list []events.Run
	if code := g.call(t, "GET", optimizerapi.Prefix+"/runs", nil, &list); code != 200 || len(list) != 3 {
		t.Fatalf("list: %d, %d runs", code, len(list))
	}
	if list[0].ID != run.ID {
		t.Errorf("newest first: got %s, want %s", list[0].ID, run.ID)
	}
	if g.call(t, "GET", optimizerapi.Prefix+"/runs?limit=1", nil, &list); len(list) != 1 {
		t.Errorf("limit 1 gave %d runs", len(list))
	}
	var one events.Run
	if code := g.call(t, "GET", optimizerapi.Prefix+"/runs/"+run.ID, nil, &one); code != 200 || one.ID != run.ID {
		t.Errorf("show: %d %+v", code, one)
	}
	var p api.Problem
	if code := g.call(t, "GET", optimizerapi.Prefix+"/runs/nope", nil, &p); code != 404 {
		t.Errorf("unknown run: %d %+v", code, p)
	}
}

// TestRuns_LongRunAnswers202: a run outlasting wait answers 202 with its
// id, goes on after the request, shows progress, and a second run meanwhile
// answers 409.
func TestRuns_LongRunAnswers202(t *testing.T) {
	g := newRig(t)
	g.task.gate, g.task.entered = make(chan struct{}), make(chan struct{})
	entered := make(chan struct{})
	go func() { <-g.task.entered; close(entered) }()

	var run events.Run
	code := g.call(t, "POST", optimizerapi.Prefix+"/runs", `{"wait": "0s"}`, &run)
	if code != 202 || run.ID == "" || (run.Status != "requested" && run.Status != "started") {
		t.Fatalf("long run: %d %+v", code, run)
	}
	<-entered
	var st optimizerapi.State
	if g.call(t, "GET", optimizerapi.Prefix, nil, &st); st.Running != run.ID {
		t.Errorf("running = %q, want %s", st.Running, run.ID)
	}
	var p api.Problem
	if code := g.call(t, "POST", optimizerapi.Prefix+"/runs", `{"force": true}`, &p); code != 409 ||
		!strings.Contains(p.Error, "already in progress") {
		t.Errorf("second run during the first: %d %+v", code, p)
	}

	close(g.task.gate)
	deadline := time.Now().Add(5 * time.Second)
	for run.Status != "completed" && time.Now().Before(deadline) {
		g.call(t, "GET", optimizerapi.Prefix+"/runs/"+run.ID, nil, &run)
		time.Sleep(5 * time.Millisecond)
	}
	if run.Status != "completed" || len(run.Tasks) != 1 {
		t.Fatalf("run after release: %+v", run)
	}
}

// TestRuns_StopCancelsRuns: a run started over REST ends with the hub, and
// a request after that is refused.
func TestRuns_StopCancelsRuns(t *testing.T) {
	g := newRig(t)
	g.task.gate, g.task.entered = make(chan struct{}), make(chan struct{})
	go func() { <-g.task.entered }()
	var run events.Run
	if code := g.call(t, "POST", optimizerapi.Prefix+"/runs", `{"wait": "0s"}`, &run); code != 202 {
		t.Fatalf("run: %d", code)
	}
	g.stop()
	select {
	case <-g.done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	var got events.Run
	g.call(t, "GET", optimizerapi.Prefix+"/runs/"+run.ID, nil, &got)
	if got.Status != "failed" || got.Error != "cancelled" {
		t.Errorf("run after stop: %s %q", got.Status, got.Error)
	}
	var p api.Problem
	if code := g.call(t, "POST", optimizerapi.Prefix+"/runs", `{}`, &p); code != 503 {
		t.Errorf("run after stop: %d %+v", code, p)
	}
}

func TestTest_Plans(t *testing.T) {
	g := newRig(t)
	var res optimizerapi.TestResult
	code := g.call(t, "POST", optimizerapi.Prefix+"/test", `{"tasks": ["exec"], "level": "Medium"}`, &res)
	if code != 200 {
		t.Fatalf("test: %d", code)
	}
	if res.Level != "medium" || len(res.Plans) != 1 || len(res.Plans[0].Steps) != 2 {
		t.Errorf("plans = %+v", res)
	}
	if g.task.value != 64 {
		t.Errorf("test changed the value to %v", g.task.value)
	}
	if code := g.call(t, "POST", optimizerapi.Prefix+"/test", nil, &res); code != 200 || res.Level != "low" {
		t.Errorf("test with no body: %d %+v", code, res)
	}
	var p api.Problem
	if code := g.call(t, "POST", optimizerapi.Prefix+"/test", `{"tasks": ["nope"]}`, &p); code != 400 {
		t.Errorf("unknown task: %d %+v", code, p)
	}
}

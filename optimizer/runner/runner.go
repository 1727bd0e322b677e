package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// Publisher puts an event on the bus (the EVENTS stream).
type Publisher interface {
	Publish(ctx context.Context, ev events.Event) error
}

// State is a small durable key/value store (KV tend_state). Get returns
// nil and no error for a key never written.
type State interface {
	Get(ctx context.Context, key string) ([]byte, error)
	Put(ctx context.Context, key string, v []byte) error
}

// Keys the runner keeps in [State].
const (
	KeyEnabled        = "optimizer.enabled"
	KeyLevel          = "optimizer.level"
	KeyRuns           = "optimizer.runs"
	KeyCooldownPrefix = "optimizer.cooldown."
)

// HistorySize is how many runs [Runner.List] keeps, as long as they fit in
// MaxHistoryBytes of JSON.
const (
	HistorySize     = 100
	MaxHistoryBytes = 768 << 10
)

// Config is what [New] needs.
type Config struct {
	// Tasks by name, as [tasks.Build] makes them.
	Tasks map[string]tasks.Task
	// Settings give the defaults: enabled, level, disruptive opt-in,
	// cooldown, schedule and the per-task timeout.
	Settings  tasks.Settings
	Publisher Publisher
	State     State
	// Logger defaults to discarding.
	Logger *slog.Logger
	// Source is the CloudEvents source of run events. Default
	// "tend/optimizer".
	Source string
	// Now and After stand in for the clock in tests. Defaults time.Now and
	// time.After.
	Now   func() time.Time
	After func(time.Duration) <-chan time.Time
}

// RunRequest asks for one run.
type RunRequest struct {
	// Tasks to run, in order; empty means every configured task.
	Tasks []string
	// Level of the run; "" means the current level.
	Level string
	// Force ignores the cooldowns.
	Force bool
	// DryRun measures and plans, changes nothing, and sets no cooldown.
	DryRun bool
	// Trigger says who asked.
	Trigger events.Trigger
	// ID names the run, so a caller can follow it before it ends; empty
	// makes a new one.
	ID string
}

// TaskPlan is what one task would do, from [Runner.Test].
type TaskPlan struct {
	Task  string        `json:"task"`
	Steps []events.Step `json:"steps,omitempty"`
	Error string        `json:"error,omitempty"`
}

// Runner runs optimization runs: one at a time, each task at most once per
// cooldown unless forced, publishing requested, started and then completed
// or failed events, and keeping the last [HistorySize] runs in [State]. All
// methods are safe for concurrent use.
type Runner struct {
	cfg   Config
	log   *slog.Logger
	names []string

	mu      sync.Mutex // guards running, current and the cooldown check-and-set
	running bool
	current string
	histMu  sync.Mutex // serialises read-modify-write of the history
}

// New returns a runner. It returns an error when a dependency is missing.
func New(cfg Config) (*Runner, error) {
	if cfg.Publisher == nil || cfg.State == nil {
		return nil, errors.New("new runner: publisher and state are required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Source == "" {
		cfg.Source = "tend/optimizer"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.After == nil {
		cfg.After = time.After
	}
	if cfg.Settings.Cooldown <= 0 {
		cfg.Settings.Cooldown = 30 * time.Minute
	}
	names := make([]string, 0, len(cfg.Tasks))
	for n := range cfg.Tasks {
		names = append(names, n)
	}
	sort.Strings(names)
	return &Runner{cfg: cfg, log: cfg.Logger, names: names}, nil
}

// Tasks returns the configured task names, sorted.
func (r *Runner) Tasks() []string { return slices.Clone(r.names) }

// Enabled reports whether automatic optimization is on: the stored value, or
// the config's until one is stored.
func (r *Runner) Enabled(ctx context.Context) (bool, error) {
	b, err := r.cfg.State.Get(ctx, KeyEnabled)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", KeyEnabled, err)
	}
	if b == nil {
		return r.cfg.Settings.Enabled, nil
	}
	return strconv.ParseBool(string(b))
}

// SetEnabled turns automatic optimization on or off.
func (r *Runner) SetEnabled(ctx context.Context, on bool) error {
	if err := r.cfg.State.Put(ctx, KeyEnabled, []byte(strconv.FormatBool(on))); err != nil {
		return fmt.Errorf("write %s: %w", KeyEnabled, err)
	}
	r.log.Info("automatic optimization set", "enabled", on)
	return nil
}

// Level returns the current level: the stored one, or the config's.
func (r *Runner) Level(ctx context.Context) (tasks.Level, error) {
	b, err := r.cfg.State.Get(ctx, KeyLevel)
	if err != nil {
		return tasks.Low, fmt.Errorf("read %s: %w", KeyLevel, err)
	}
	if b == nil {
		return r.cfg.Settings.Level, nil
	}
	return tasks.ParseLevel(string(b))
}

// SetLevel stores the level runs use when they name none.
func (r *Runner) SetLevel(ctx context.Context, l tasks.Level) error {
	if err := r.cfg.State.Put(ctx, KeyLevel, []byte(l.String())); err != nil {
		return fmt.Errorf("write %s: %w", KeyLevel, err)
	}
	r.log.Info("optimization level set", "level", l.String())
	return nil
}

// Test checks each named task's preconditions (all when names is empty) and
// returns what it would do at level ("" for the current one), touching
// nothing.
func (r *Runner) Test(ctx context.Context, names []string, level string) ([]TaskPlan, error) {
	names, err := r.resolve(names)
	if err != nil {
		return nil, err
	}
	lvl, err := r.level(ctx, level)
	if err != nil {
		return nil, err
	}
	env := tasks.Env{Level: lvl, AllowDisruptive: r.cfg.Settings.AllowDisruptive, Logger: r.log}
	out := make([]TaskPlan, 0, len(names))
	for _, n := range names {
		tp := TaskPlan{Task: n}
		steps, err := r.cfg.Tasks[n].Plan(ctx, env)
		tp.Steps = steps
		if err != nil {
			tp.Error = err.Error()
		}
		out = append(out, tp)
	}
	return out, nil
}

func (r *Runner) resolve(names []string) ([]string, error) {
	if len(names) == 0 {
		return r.Tasks(), nil
	}
	var out []string
	for _, n := range names {
		if _, ok := r.cfg.Tasks[n]; !ok {
			return nil, fmt.Errorf("%w %q; configured: %s", ErrUnknownTask, n, strings.Join(r.names, ", "))
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

func (r *Runner) level(ctx context.Context, s string) (tasks.Level, error) {
	if s == "" {
		return r.Level(ctx)
	}
	return tasks.ParseLevel(s)
}

// OnAlert starts a run of the alert's Optimize tasks when the alert fires
// and automatic optimization is enabled, at the current level. Tasks inside
// their cooldown are left out; when all are, no run starts and the error is
// [ErrCoolingDown]. It blocks until the run ends. Other errors: [ErrDisabled],
// [ErrNothingToDo], [ErrBusy], [ErrUnknownTask].
func (r *Runner) OnAlert(ctx context.Context, a events.Alert) (events.Run, error) {
	if a.Status != events.StatusFiring || len(a.Optimize) == 0 {
		return events.Run{}, ErrNothingToDo
	}
	on, err := r.Enabled(ctx)
	if err != nil {
		return events.Run{}, err
	}
	if !on {
		return events.Run{}, ErrDisabled
	}
	var names []string
	for _, n := range a.Optimize {
		if _, ok := r.cfg.Tasks[n]; ok {
			names = append(names, n)
			continue
		}
		r.log.Warn("alert asks for a task that is not configured", "task", n, "fingerprint", a.Fingerprint)
	}
	if len(names) == 0 {
		return events.Run{}, fmt.Errorf("%w: alert %s asks for %v", ErrUnknownTask, a.Rule, a.Optimize)
	}
	return r.Request(ctx, RunRequest{
		Tasks:   names,
		Trigger: events.Trigger{Kind: "alert", By: a.Rule, Fingerprint: a.Fingerprint},
	})
}

// Request runs the asked tasks and returns the finished run. It returns
// [ErrBusy] at once when another run is in progress, and [ErrCoolingDown]
// when every task is inside its cooldown (unless forced); tasks of which
// only some are cooling down are reported as skipped. A task that fails does
// not stop the others; the run is failed when no task succeeded. The run is
// returned with a non-nil error also when one of its events could not be
// published.
func (r *Runner) Request(ctx context.Context, req RunRequest) (events.Run, error) {
	names, err := r.resolve(req.Tasks)
	if err != nil {
		return events.Run{}, err
	}
	lvl, err := r.level(ctx, req.Level)
	if err != nil {
		return events.Run{}, err
	}

	cooling, err := r.claim(ctx, names, req)
	if err != nil {
		return events.Run{}, err
	}
	defer r.release()

	now := r.cfg.Now().UTC()
	id := req.ID
	if id == "" {
		id = events.NewID()
	}
	r.setCurrent(id)
	run := events.Run{
		ID: id, Status: "requested", Level: lvl.String(), DryRun: req.DryRun,
		Trigger: req.Trigger, Requested: now,
	}
	log := r.log.With("run_id", run.ID)
	log.Info("optimization requested", "tasks", names, "level", run.Level, "trigger", req.Trigger.Kind,
		"dry_run", req.DryRun)
	var pubErrs []error
	pubErrs = append(pubErrs, r.announce(ctx, events.TypeOptimizationRequested, run))

	started := r.cfg.Now().UTC()
	run.Status, run.Started = "started", &started
	pubErrs = append(pubErrs, r.announce(ctx, events.TypeOptimizationStarted, run))

	env := tasks.Env{Level: lvl, AllowDisruptive: r.cfg.Settings.AllowDisruptive, DryRun: req.DryRun,
		Logger: log}
	var ok, failed int
	for _, n := range names {
		var res events.TaskResult
		switch {
		case cooling[n] != "":
			res = events.TaskResult{Task: n, Verdict: tasks.Skipped,
				Steps: []events.Step{{Name: "cooldown", Skipped: cooling[n]}}}
		case ctx.Err() != nil:
			res = events.TaskResult{Task: n, Verdict: tasks.Skipped,
				Steps: []events.Step{{Name: "run", Skipped: "the run was cancelled"}}}
		default:
			res = r.runTask(ctx, n, env)
		}
		switch res.Verdict {
		case tasks.Failed:
			failed++
		case tasks.Skipped:
		default:
			ok++
		}
		run.Tasks = append(run.Tasks, res)
		run.Summary = append(run.Summary, tasks.Summary(res))
		// Each finished task is kept at once, so `tend runs ID` and the CLI
		// waiting on a long run show progress.
		if len(run.Tasks) < len(names) {
			if err := r.save(ctx, run); err != nil {
				log.Warn("run progress not saved", "error", err)
			}
		}
	}

	finished := r.cfg.Now().UTC()
	run.Finished = &finished
	typ := events.TypeOptimizationCompleted
	run.Status = "completed"
	switch {
	case ctx.Err() != nil:
		run.Status, run.Error = "failed", "cancelled"
	case failed > 0 && ok == 0:
		run.Status, run.Error = "failed", fmt.Sprintf("%d of %d tasks failed", failed, len(names))
	}
	if run.Status == "failed" {
		typ = events.TypeOptimizationFailed
	}
	// The last event goes out even when ctx has ended, so the run's story
	// has its end; bounded so shutdown is not held.
	endCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	pubErrs = append(pubErrs, r.announce(endCtx, typ, run))
	log.Info("optimization finished", "status", run.Status, "took", finished.Sub(started).String())
	return run, errors.Join(pubErrs...)
}

// claim takes the one-run slot and, unless forced or dry, checks and sets
// the cooldowns of names. It returns why each cooling task is left out.
func (r *Runner) claim(ctx context.Context, names []string, req RunRequest) (map[string]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil, ErrBusy
	}
	cooling := map[string]string{}
	if !req.Force && !req.DryRun {
		now := r.cfg.Now()
		for _, n := range names {
			last, err := r.lastStart(ctx, n)
			if err != nil {
				return nil, err
			}
			if until := last.Add(r.cfg.Settings.Cooldown); !last.IsZero() && now.Before(until) {
				cooling[n] = fmt.Sprintf("cooling down until %s (started %s, cooldown %s); force to run now",
					until.UTC().Format(time.RFC3339), last.UTC().Format(time.RFC3339), r.cfg.Settings.Cooldown)
			}
		}
		if len(cooling) == len(names) {
			return nil, fmt.Errorf("%w: %s %s", ErrCoolingDown, names[0],
				strings.TrimPrefix(cooling[names[0]], "cooling down "))
		}
		for _, n := range names {
			if cooling[n] != "" {
				continue
			}
			v := []byte(now.UTC().Format(time.RFC3339Nano))
			if err := r.cfg.State.Put(ctx, KeyCooldownPrefix+n, v); err != nil {
				return nil, fmt.Errorf("write cooldown of %s: %w", n, err)
			}
		}
	}
	r.running = true
	return cooling, nil
}

func (r *Runner) release() {
	r.mu.Lock()
	r.running, r.current = false, ""
	r.mu.Unlock()
}

func (r *Runner) setCurrent(id string) {
	r.mu.Lock()
	r.current = id
	r.mu.Unlock()
}

// Running returns the id of the run in progress in this process, or "".
func (r *Runner) Running() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

func (r *Runner) lastStart(ctx context.Context, task string) (time.Time, error) {
	b, err := r.cfg.State.Get(ctx, KeyCooldownPrefix+task)
	if err != nil {
		return time.Time{}, fmt.Errorf("read cooldown of %s: %w", task, err)
	}
	if b == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	if err != nil {
		// A corrupt entry must not block the task forever.
		r.log.Warn("unreadable cooldown ignored", "task", task, "error", err)
		return time.Time{}, nil
	}
	return t, nil
}

// runTask runs one task under the task timeout; a panic becomes a failure.
func (r *Runner) runTask(ctx context.Context, name string, env tasks.Env) (res events.TaskResult) {
	if t := r.cfg.Settings.TaskTimeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, t, fmt.Errorf("task %s ran longer than %s", name, t))
		defer cancel()
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("task panicked", "task", name, "panic", fmt.Sprint(p))
			res = events.TaskResult{Task: name, Verdict: tasks.Failed, Error: fmt.Sprintf("panic: %v", p)}
		}
	}()
	res, err := r.cfg.Tasks[name].Run(ctx, env)
	if res.Task == "" {
		res.Task = name
	}
	if err != nil && res.Verdict == "" {
		res.Verdict, res.Error = tasks.Failed, err.Error()
	}
	if err != nil && ctx.Err() != nil {
		res.Verdict, res.Error = tasks.Failed, context.Cause(ctx).Error()
	}
	return res
}

// announce saves the run in the history and publishes it as an event of
// type typ.
func (r *Runner) announce(ctx context.Context, typ string, run events.Run) error {
	if err := r.save(ctx, run); err != nil {
		r.log.Warn("run history not saved", "run_id", run.ID, "error", err)
	}
	ev, err := events.New(typ, r.cfg.Source, events.SubjectFor(typ, run.ID), run)
	if err != nil {
		return err
	}
	if err := r.cfg.Publisher.Publish(ctx, ev); err != nil {
		r.log.Warn("run event not published", "run_id", run.ID, "event_type", typ, "error", err)
		return fmt.Errorf("publish %s of run %s: %w", typ, run.ID, err)
	}
	return nil
}

// save puts run first in the history, replacing an older copy of it.
func (r *Runner) save(ctx context.Context, run events.Run) error {
	r.histMu.Lock()
	defer r.histMu.Unlock()
	runs, err := r.load(ctx)
	if err != nil {
		return err
	}
	runs = slices.DeleteFunc(runs, func(x events.Run) bool { return x.ID == run.ID })
	runs = append([]events.Run{run}, runs...)
	if len(runs) > HistorySize {
		runs = runs[:HistorySize]
	}
	b, err := json.Marshal(runs)
	// A KV value must fit one bus message (1 MiB by default): old runs give
	// way first.
	for err == nil && len(b) > MaxHistoryBytes && len(runs) > 1 {
		runs = runs[:len(runs)-1]
		b, err = json.Marshal(runs)
	}
	if err != nil {
		return fmt.Errorf("encode run history: %w", err)
	}
	if err := r.cfg.State.Put(ctx, KeyRuns, b); err != nil {
		return fmt.Errorf("write %s: %w", KeyRuns, err)
	}
	return nil
}

func (r *Runner) load(ctx context.Context) ([]events.Run, error) {
	b, err := r.cfg.State.Get(ctx, KeyRuns)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", KeyRuns, err)
	}
	if b == nil {
		return nil, nil
	}
	var runs []events.Run
	if err := json.Unmarshal(b, &runs); err != nil {
		return nil, fmt.Errorf("decode %s: %w", KeyRuns, err)
	}
	return runs, nil
}

// List returns the kept runs, newest first.
func (r *Runner) List(ctx context.Context) ([]events.Run, error) {
	r.histMu.Lock()
	defer r.histMu.Unlock()
	return r.load(ctx)
}

// Run returns the kept run with id, or [ErrNotFound].
func (r *Runner) Run(ctx context.Context, id string) (events.Run, error) {
	runs, err := r.List(ctx)
	if err != nil {
		return events.Run{}, err
	}
	for _, run := range runs {
		if run.ID == id {
			return run, nil
		}
	}
	return events.Run{}, fmt.Errorf("%w: %s", ErrNotFound, id)
}

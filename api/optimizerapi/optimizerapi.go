package optimizerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/tend-dev/tend/api"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// Prefix is where the handlers live.
const Prefix = "/api/v1/optimizer"

// Runner is what the handlers drive; *runner.Runner is one.
type Runner interface {
	Tasks() []string
	Enabled(ctx context.Context) (bool, error)
	SetEnabled(ctx context.Context, on bool) error
	Level(ctx context.Context) (tasks.Level, error)
	SetLevel(ctx context.Context, l tasks.Level) error
	Running() string
	Request(ctx context.Context, req runner.RunRequest) (events.Run, error)
	Test(ctx context.Context, names []string, level string) ([]runner.TaskPlan, error)
	List(ctx context.Context) ([]events.Run, error)
	Run(ctx context.Context, id string) (events.Run, error)
}

var _ Runner = (*runner.Runner)(nil)

// State is the answer of GET and PUT /api/v1/optimizer.
type State struct {
	// Enabled says whether alerts and the schedule start runs.
	Enabled bool   `json:"enabled"`
	Level   string `json:"level"`
	// Tasks are the configured tasks, sorted.
	Tasks []string `json:"tasks"`
	// Running is the id of the run in progress on the hub that answered.
	Running string `json:"running,omitempty"`
}

// StateUpdate is the body of PUT /api/v1/optimizer; absent fields are left
// as they are.
type StateUpdate struct {
	Enabled *bool   `json:"enabled,omitempty"`
	Level   *string `json:"level,omitempty"`
}

// RunRequest is the body of POST /api/v1/optimizer/runs.
type RunRequest struct {
	// Tasks to run; empty means every configured task.
	Tasks []string `json:"tasks,omitempty"`
	// Level of the run; empty means the current level.
	Level  string `json:"level,omitempty"`
	Force  bool   `json:"force,omitempty"`
	DryRun bool   `json:"dry_run,omitempty"`
	// Wait is how long to wait for the run before answering 202, as a
	// duration ("0s", "10s"); at most, and by default, [Handler.Wait].
	Wait string `json:"wait,omitempty"`
	// By names who asked, for the run's trigger; Via is "cli" or "api"
	// (the default).
	By  string `json:"by,omitempty"`
	Via string `json:"via,omitempty"`
}

// TestRequest is the body of POST /api/v1/optimizer/test.
type TestRequest struct {
	Tasks []string `json:"tasks,omitempty"`
	Level string   `json:"level,omitempty"`
}

// TestResult is the answer of POST /api/v1/optimizer/test: what each task
// would do at Level.
type TestResult struct {
	Level string            `json:"level"`
	Plans []runner.TaskPlan `json:"plans"`
}

// Handler serves the optimizer's REST API. Runs it starts outlive their
// request and end with [Handler.Run]'s context. It is safe for concurrent
// use.
type Handler struct {
	// Wait is the longest a POST /runs waits for its run before answering
	// 202. Default 50s.
	Wait time.Duration

	r   Runner
	log *slog.Logger

	base   context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
}

// New returns the handlers for r; a nil logger discards.
func New(r Runner, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Handler{Wait: 50 * time.Second, r: r, log: log, base: base, cancel: cancel}
}

// Register adds the routes to mux.
func (h *Handler) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+Prefix, h.getState)
	mux.HandleFunc("PUT "+Prefix, h.putState)
	mux.HandleFunc("POST "+Prefix+"/runs", h.postRun)
	mux.HandleFunc("GET "+Prefix+"/runs", h.listRuns)
	mux.HandleFunc("GET "+Prefix+"/runs/{id}", h.getRun)
	mux.HandleFunc("POST "+Prefix+"/test", h.test)
}

// Run waits for ctx to end, then cancels the runs started over REST, waits
// for them to tell their end, and returns nil.
func (h *Handler) Run(ctx context.Context) error {
	<-ctx.Done()
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	h.cancel()
	h.wg.Wait()
	return nil
}

func (h *Handler) state(ctx context.Context) (State, error) {
	on, err := h.r.Enabled(ctx)
	if err != nil {
		return State{}, err
	}
	lvl, err := h.r.Level(ctx)
	if err != nil {
		return State{}, err
	}
	return State{Enabled: on, Level: lvl.String(), Tasks: h.r.Tasks(), Running: h.r.Running()}, nil
}

func (h *Handler) getState(w http.ResponseWriter, r *http.Request) {
	st, err := h.state(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}

func (h *Handler) putState(w http.ResponseWriter, r *http.Request) {
	var up StateUpdate
	if !decode(w, r, &up) {
		return
	}
	// Check everything before changing anything.
	var lvl tasks.Level
	if up.Level != nil {
		var err error
		if lvl, err = tasks.ParseLevel(*up.Level); err != nil {
			h.fail(w, err)
			return
		}
	}

	ctx := r.Context()
	if up.Level != nil {
		if err := h.r.SetLevel(ctx, lvl); err != nil {
			h.fail(w, err)
			return
		}
	}
	if up.Enabled != nil {
		if err := h.r.SetEnabled(ctx, *up.Enabled); err != nil {
			h.fail(w, err)
			return
		}
	}
	h.getState(w, r)
}

type outcome struct {
	run events.Run
	err error
}

func (h *Handler) postRun(w http.ResponseWriter, r *http.Request) {
	var req RunRequest
	if !decode(w, r, &req) {
		return
	}
	wait := h.Wait
	if req.Wait != "" {
		d, err := time.ParseDuration(req.Wait)
		if err != nil || d < 0 {
			msg := fmt.Sprintf("wait %q: want a duration such as 10s", req.Wait)
			writeError(w, http.StatusBadRequest, msg, "")
			return
		}
		wait = min(d, h.Wait)
	}
	trig := events.Trigger{Kind: "api", By: req.By}
	if req.Via == "cli" {
		trig.Kind = "cli"
	}
	rr := runner.RunRequest{
		Tasks: req.Tasks, Level: req.Level, Force: req.Force, DryRun: req.DryRun,
		Trigger: trig, ID: events.NewID(),
	}

	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		writeError(w, http.StatusServiceUnavailable, "the hub is stopping", "")
		return
	}
	h.wg.Add(1)
	h.mu.Unlock()
	done := make(chan outcome, 1)
	go func() {
		defer h.wg.Done()
		run, err := h.r.Request(h.base, rr)
		if err != nil && run.ID != "" {
			h.log.Warn("run finished with errors", "run_id", run.ID, "error", err)
		}
		done <- outcome{run, err}
	}()

	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case o := <-done:
		h.finished(w, o)
		return
	case <-timer.C:
	case <-r.Context().Done():
		return
	}
	// Answer 202 only once the run has really started: until then it may
	// still be refused (busy, cooling down).
	poll := time.NewTicker(10 * time.Millisecond)
	defer poll.Stop()
	for {
		select {
		case o := <-done:
			h.finished(w, o)
			return
		case <-r.Context().Done():
			return
		case <-poll.C:
		}
		if h.r.Running() != rr.ID {
			continue
		}
		run, err := h.r.Run(r.Context(), rr.ID)
		if err != nil {
			run = events.Run{ID: rr.ID, Status: "requested", DryRun: rr.DryRun, Trigger: trig}
		}
		writeJSON(w, http.StatusAccepted, run)
		return
	}
}

func (h *Handler) finished(w http.ResponseWriter, o outcome) {
	if o.run.ID == "" {
		h.fail(w, o.err)
		return
	}
	writeJSON(w, http.StatusOK, o.run)
}

func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) {
	runs, err := h.r.List(r.Context())
	if err != nil {
		h.fail(w, err)
		return
	}
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("limit %q: want a count", s), "")
			return
		}
		if n < len(runs) {
			runs = runs[:n]
		}
	}
	if runs == nil {
		runs = []events.Run{}
	}
	writeJSON(w, http.StatusOK, runs)
}

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := h.r.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

func (h *Handler) test(w http.ResponseWriter, r *http.Request) {
	var req TestRequest
	if !decode(w, r, &req) {
		return
	}
	ctx := r.Context()
	level := req.Level
	if level == "" {
		lvl, err := h.r.Level(ctx)
		if err != nil {
			h.fail(w, err)
			return
		}
		level = lvl.String()
	}
	plans, err := h.r.Test(ctx, req.Tasks, level)
	if err != nil {
		h.fail(w, err)
		return
	}
	if lvl, err := tasks.ParseLevel(level); err == nil {
		level = lvl.String()
	}
	writeJSON(w, http.StatusOK, TestResult{Level: level, Plans: plans})
}

// fail answers err with the status and hint its kind calls for.
func (h *Handler) fail(w http.ResponseWriter, err error) {
	code, hint := http.StatusInternalServerError, ""
	switch {
	case errors.Is(err, runner.ErrBusy):
		code, hint = http.StatusConflict, "tend runs one optimization at a time; see `tend runs`"
	case errors.Is(err, runner.ErrCoolingDown):
		code, hint = http.StatusConflict, "--force runs it anyway"
	case errors.Is(err, runner.ErrUnknownTask), errors.Is(err, tasks.ErrBadLevel):
		code = http.StatusBadRequest
	case errors.Is(err, runner.ErrNotFound):
		code, hint = http.StatusNotFound, "`tend runs` lists the kept runs"
	default:
		h.log.Warn("optimizer api", "error", err)
	}
	writeError(w, code, err.Error(), hint)
}

// decode reads an optional JSON body of at most 64 KiB into v; on a bad
// one it answers 400 and returns false.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return true
	}
	writeError(w, http.StatusBadRequest, "read body: "+err.Error(), "")
	return false
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg, hint string) {
	writeJSON(w, code, api.Problem{Error: msg, Hint: hint})
}

package runner

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrBusy: another run is in progress; tend runs one at a time.
	ErrBusy = errors.New("a run is already in progress")
	// ErrCoolingDown: every task asked for ran within its cooldown.
	ErrCoolingDown = errors.New("cooling down")
	// ErrDisabled: automatic optimization is off.
	ErrDisabled = errors.New("automatic optimization is disabled")
	// ErrUnknownTask: a task name that is not configured.
	ErrUnknownTask = errors.New("unknown task")
	// ErrNotFound: no run with that id in the history.
	ErrNotFound = errors.New("run not found")
	// ErrNothingToDo: the alert asks for no optimization (resolved, or no
	// optimize list).
	ErrNothingToDo = errors.New("nothing to do")
)

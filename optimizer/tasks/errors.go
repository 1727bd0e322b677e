package tasks

import "errors"

// Sentinel errors; match them with errors.Is.
var (
	// ErrBadLevel is returned for a level name tend does not know.
	ErrBadLevel = errors.New("unknown level")
	// ErrSource is returned when a task names a source that is missing or of
	// the wrong kind.
	ErrSource = errors.New("bad source")
	// ErrPrecondition is returned when a task cannot run here at all.
	ErrPrecondition = errors.New("precondition not met")
)

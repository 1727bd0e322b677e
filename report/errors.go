package report

import "errors"

var (
	// ErrBadPeriod is returned when a report's Until is not after Since.
	ErrBadPeriod = errors.New("report period is empty")
	// ErrFormat is returned for a format not in [Formats].
	ErrFormat = errors.New("unknown report format")
)

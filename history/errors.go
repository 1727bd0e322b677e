package history

import "errors"

var (
	// ErrBadRange is returned for a query whose step is not positive or
	// whose range is empty.
	ErrBadRange = errors.New("bad query range")
	// ErrFormat is returned for an import format tend does not read.
	ErrFormat = errors.New("unknown import format")

	errValueRequired = errors.New("value is required")
)

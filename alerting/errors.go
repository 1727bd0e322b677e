package alerting

import "errors"

// ErrNoSilence is returned for a silence id that does not exist.
var ErrNoSilence = errors.New("no such silence")

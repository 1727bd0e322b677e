package router

import (
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/tend-dev/tend/config"
)

// Delay returns how long to wait after the attempt-th failure:
// initial·multiplier^(attempt-1), capped at max_interval and spread by
// ±jitter. A larger retryAfter from the receiver wins, so a rate-limited
// receiver is not called again early; it is capped at an hour (or
// max_interval if longer) so a wild header cannot park an event for days.
func Delay(p config.Retry, attempt int, retryAfter time.Duration) time.Duration {
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.Initial.D()),
		backoff.WithMultiplier(p.Multiplier),
		backoff.WithMaxInterval(p.MaxInterval.D()),
		backoff.WithRandomizationFactor(p.Jitter),
		backoff.WithMaxElapsedTime(0),
	)
	var d time.Duration
	for range max(attempt, 1) {
		d = b.NextBackOff()
	}
	if retryAfter > d {
		d = min(retryAfter, max(p.MaxInterval.D(), time.Hour))
	}
	return max(d, 10*time.Millisecond)
}

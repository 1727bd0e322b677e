package optimizer

import (
	"context"
	"time"
)

// Sweep runs the stale-series sweep at now, for tests.
func (e *Engine) Sweep(ctx context.Context, now time.Time) { e.sweep(ctx, now) }

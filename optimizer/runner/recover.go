package runner

import (
	"context"
	"time"

	"github.com/tend-dev/tend/events"
)

// Interrupted ends the kept runs that a stopped hub left requested or
// started: it marks them failed, "interrupted", and publishes that, so a
// GitHub status or a Slack answer waiting for the run hears the end. Only
// runs older than olderThan are touched, since another hub may still be
// running a recent one. It returns how many it ended.
func (r *Runner) Interrupted(ctx context.Context, olderThan time.Duration) (int, error) {
	runs, err := r.List(ctx)
	if err != nil {
		return 0, err
	}
	now := r.cfg.Now()
	current := r.Running()
	ended := 0
	for _, run := range runs {
		if run.Status != "requested" && run.Status != "started" {
			continue
		}
		if run.ID == current || now.Sub(run.Requested) < olderThan {
			continue
		}
		run.Status = "failed"
		run.Error = "interrupted: the hub running it stopped before it ended"
		finished := now.UTC()
		run.Finished = &finished
		if err := r.announce(ctx, events.TypeOptimizationFailed, run); err != nil {
			return ended, err
		}
		r.log.Warn("optimization run interrupted", "run_id", run.ID)
		ended++
	}
	return ended, nil
}

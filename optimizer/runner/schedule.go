package runner

import (
	"context"
	"errors"

	"github.com/tend-dev/tend/events"
)

// RunSchedule starts a run at each time of the configured schedule while
// automatic optimization is enabled, until ctx ends; it then returns nil. A
// run that finds another in progress, or every task cooling down, is skipped
// until the next time. Without a schedule it only waits for ctx.
func (r *Runner) RunSchedule(ctx context.Context) error {
	sched := r.cfg.Settings.Schedule
	if sched.IsZero() {
		<-ctx.Done()
		return nil
	}
	for {
		now := r.cfg.Now()
		next := sched.Next(now)
		if next.IsZero() {
			r.log.Warn("schedule never fires", "cron", sched.Cron)
			<-ctx.Done()
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-r.cfg.After(next.Sub(now)):
		}

		on, err := r.Enabled(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			r.log.Warn("scheduled run skipped", "error", err)
			continue
		case !on:
			r.log.Debug("scheduled run skipped: disabled")
			continue
		}
		_, err = r.Request(ctx, RunRequest{Tasks: sched.Tasks, Trigger: events.Trigger{Kind: "schedule"}})
		switch {
		case err == nil, ctx.Err() != nil:
		case errors.Is(err, ErrBusy), errors.Is(err, ErrCoolingDown):
			r.log.Info("scheduled run skipped", "reason", err.Error())
		default:
			r.log.Warn("scheduled run", "error", err)
		}
	}
}

package tasks

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/tend-dev/tend/events"
)

// action is one step a task may take.
type action struct {
	name   string
	target string
	// level is the lowest level that takes the step.
	level Level
	// disrupts, when set, marks the step disruptive and says how.
	disrupts string
	// unavailable, when set, says why the step cannot run on this host.
	unavailable string
	// coveredBy, when set, names a step that does this one's work at levels
	// above coveredAbove, so this one is skipped there.
	coveredBy    string
	coveredAbove Level
	do           func(ctx context.Context) error
}

// skipReason says why env rules the step out, or "".
func (a action) skipReason(env Env) string {
	switch {
	case env.Level < a.level:
		return fmt.Sprintf("needs level %s, the run is at %s", a.level, env.Level)
	case a.coveredBy != "" && env.Level > a.coveredAbove:
		return "done by " + a.coveredBy + " at level " + env.Level.String()
	case a.unavailable != "":
		return a.unavailable
	case a.disrupts != "" && !env.AllowDisruptive:
		return "disruptive (" + a.disrupts + "): set allow_disruptive: true to allow it"
	}
	return ""
}

// plan is what a task found it would do, and what it measures.
type plan struct {
	actions []action
	meters  []meter
	// notes are steps that report a finding rather than act, already done.
	notes []events.Step
	recs  []string
}

// steps lists the plan's actions as steps, none done.
func (p plan) steps(env Env) []events.Step {
	out := make([]events.Step, 0, len(p.actions)+len(p.notes))
	for _, a := range p.actions {
		out = append(out, events.Step{Name: a.name, Target: a.target, Skipped: a.skipReason(env)})
	}
	return append(out, p.notes...)
}

// execute measures p's meters, takes its actions and measures again.
func execute(ctx context.Context, task string, env Env, s sampling, p plan) events.TaskResult {
	log := env.logger().With("task", task)
	res := events.TaskResult{Task: task, Recommendations: p.recs}

	// Before: a meter that cannot be read is dropped, and says so.
	var meters []meter
	var before [][]float64
	for _, m := range p.meters {
		xs, err := sample(ctx, m, s.forMeter(m))
		if err != nil {
			res.Steps = append(res.Steps, events.Step{Name: "measure", Target: m.name, Error: err.Error()})
			continue
		}
		meters = append(meters, m)
		before = append(before, xs)
	}

	if env.DryRun {
		for _, st := range p.steps(env) {
			if st.Skipped == "" && !st.Done {
				st.Skipped = "dry run"
			}
			res.Steps = append(res.Steps, st)
		}
		for i, m := range meters {
			res.Measures = append(res.Measures, events.Measurement{
				Name: m.name, Unit: m.unit, LowerIsBetter: m.lowerIsBetter,
				Before: Summarize(before[i]), Verdict: Skipped,
			})
		}
		res.Verdict = Skipped
		return res
	}

	var done, failed int
	var errs []error
	for _, a := range p.actions {
		st := events.Step{Name: a.name, Target: a.target, Skipped: a.skipReason(env)}
		if st.Skipped == "" && ctx.Err() != nil {
			st.Skipped = "the run was cancelled"
		}
		if st.Skipped == "" {
			if err := a.do(ctx); err != nil {
				failed++
				errs = append(errs, fmt.Errorf("%s %s: %w", a.name, a.target, err))
				st.Error = err.Error()
				log.Warn("step failed", "step", a.name, "target", a.target, "error", err)
			} else {
				done++
				st.Done = true
				log.Info("step done", "step", a.name, "target", a.target)
			}
		}
		res.Steps = append(res.Steps, st)
	}
	res.Steps = append(res.Steps, p.notes...)

	for i, m := range meters {
		xs, err := sample(ctx, m, s.forMeter(m))
		if err != nil {
			res.Steps = append(res.Steps, events.Step{Name: "measure", Target: m.name, Error: err.Error()})
			continue
		}
		b, a := Summarize(before[i]), Summarize(xs)
		if m.percentiles {
			res.Steps = append(res.Steps, events.Step{Name: "probe", Done: true, Target: fmt.Sprintf(
				"%s p50 %s → %s, p95 %s → %s (%d probes each)", m.name,
				value(Percentile(before[i], 50), m.unit), value(Percentile(xs, 50), m.unit),
				value(Percentile(before[i], 95), m.unit), value(Percentile(xs, 95), m.unit), len(xs))})
		}
		res.Measures = append(res.Measures, events.Measurement{
			Name: m.name, Unit: m.unit, LowerIsBetter: m.lowerIsBetter,
			Before: b, After: a, Verdict: compare(b, a, m.lowerIsBetter, m.minChange),
		})
	}

	if err := errors.Join(errs...); err != nil {
		res.Error = err.Error()
	}
	switch {
	case failed > 0 && done == 0:
		res.Verdict = Failed
	case done == 0:
		res.Verdict = Skipped
	case len(meters) > 0 && measured(res.Measures) == 0:
		res.Verdict = NotMeasured
	default:
		res.Verdict = overall(res.Measures)
	}
	return res
}

// measured counts the measurements that compared real samples.
func measured(ms []events.Measurement) int {
	n := 0
	for _, m := range ms {
		if m.Verdict != NotMeasured {
			n++
		}
	}
	return n
}

// overall is a task's verdict from its measurements: improved when some
// improved and none got worse, worse in the reverse case; when both happen
// the first measurement, the task's main one, decides.
func overall(ms []events.Measurement) string {
	var up, down bool
	for _, m := range ms {
		up = up || m.Verdict == Improved
		down = down || m.Verdict == Worse
	}
	switch {
	case up && !down:
		return Improved
	case down && !up:
		return Worse
	case up && down:
		return ms[0].Verdict
	}
	return NoChange
}

// failedResult is the result of a task that could not start.
func failedResult(task string, err error) events.TaskResult {
	return events.TaskResult{Task: task, Verdict: Failed, Error: err.Error()}
}

// plural returns "3 tables" from 3 and "table".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

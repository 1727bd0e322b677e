package tasks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tend-dev/tend/events"
)

// warmFactor multiplies the warm-up requests at each level.
var warmFactor = [...]int{Low: 1, Medium: 2, High: 4, Aggressive: 8}

// response probes HTTP endpoints, warms them up and probes them again.
type response struct {
	s       ResponseSettings
	names   []string
	sources []HTTPSource
	samp    sampling
}

func (r *response) Name() string { return "response" }

// Plan implements [Task].
func (r *response) Plan(_ context.Context, env Env) ([]events.Step, error) {
	return r.prepare(env).steps(env), nil
}

// Run implements [Task].
func (r *response) Run(ctx context.Context, env Env) (events.TaskResult, error) {
	return execute(ctx, r.Name(), env, r.samp, r.prepare(env)), nil
}

func (r *response) prepare(env Env) plan {
	var p plan
	n := r.s.Warmup * warmFactor[max(Low, min(Aggressive, env.Level))]
	for i, src := range r.sources {
		label := "http " + r.names[i]
		if n > 0 {
			p.actions = append(p.actions, action{name: "warm up", target: fmt.Sprintf("%s with %d requests",
				label, n), level: Low, do: func(ctx context.Context) error {
				var errs []error
				for range n {
					if _, _, err := src.Probe(ctx); err != nil {
						errs = append(errs, err)
					}
				}
				if len(errs) == n {
					return fmt.Errorf("all %d requests failed: %w", n, errs[0])
				}
				return nil
			}})
		}
		p.meters = append(p.meters, meter{name: label + " latency", unit: "ms", lowerIsBetter: true,
			n: r.s.Probes, every: time.Nanosecond, percentiles: true, // back to back
			read: func(ctx context.Context) (float64, error) {
				d, code, err := src.Probe(ctx)
				if err != nil {
					return 0, err
				}
				if code >= 500 {
					return 0, errors.New("status " + fmt.Sprint(code))
				}
				return ms(d), nil
			}})
	}
	return p
}

package optimizer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/optimizer/detect"
)

// Analyzer evaluates trend, anomaly and forecast rules against history on
// a steady beat, and raises their alerts through the [Engine], so they fire
// and resolve like threshold alerts, with their evidence attached.
type Analyzer struct {
	engine *Engine
	store  *history.Store
	rules  []*detect.Rule
	every  time.Duration
	log    *slog.Logger
}

// NewAnalyzer compiles the analysis rules among cfgs; others are skipped.
func NewAnalyzer(e *Engine, store *history.Store, cfgs []config.Rule, log *slog.Logger) (*Analyzer, error) {
	a := &Analyzer{engine: e, store: store, every: time.Minute, log: log}
	for _, c := range cfgs {
		if !detect.IsAnalysis(c.Kind) {
			continue
		}
		r, err := detect.Compile(c)
		if err != nil {
			return nil, err
		}
		a.rules = append(a.rules, r)
		_, _, step := r.Range(time.Now())
		a.every = min(a.every, max(step, 10*time.Second))
	}
	return a, nil
}

// Rules returns how many analysis rules run.
func (a *Analyzer) Rules() int { return len(a.rules) }

// Run evaluates every rule each beat until ctx ends.
func (a *Analyzer) Run(ctx context.Context) error {
	if len(a.rules) == 0 {
		<-ctx.Done()
		return nil
	}
	a.log.Info("analysis rules started", "rules", len(a.rules), "every", a.every)
	t := time.NewTicker(a.every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-t.C:
			for _, r := range a.rules {
				if err := a.evaluate(ctx, r, now); err != nil && ctx.Err() == nil {
					a.log.Warn("analysis rule", "rule", r.Config.Name, "error", err)
				}
			}
		}
	}
}

// Evaluate judges one rule at now and fires or resolves its alert.
func (a *Analyzer) evaluate(ctx context.Context, r *detect.Rule, now time.Time) error {
	since, until, step := r.Range(now)
	pts, err := a.store.Query(ctx, r.Config.Metric, since, until, step)
	if err != nil {
		return fmt.Errorf("read history of %s: %w", r.Config.Metric, err)
	}
	res := r.Evaluate(detect.Means(pts, step))
	if res.Insufficient {
		return nil
	}

	labels := map[string]string{"metric": r.Config.Metric}
	for k, v := range r.Config.Labels {
		labels[k] = v
	}
	fp := events.Fingerprint(r.Config.Name, labels)
	st, known := a.engine.State(fp)
	firing := known && st.Status == stateFiring

	switch {
	case res.Firing && !firing:
		return a.engine.PublishAlert(ctx, events.Alert{
			Fingerprint: fp, Rule: r.Config.Name, Kind: r.Config.Kind, Status: events.StatusFiring,
			Severity: r.Config.Severity, Summary: res.Summary, Metric: r.Config.Metric,
			Value: res.Value, Labels: labels, Evidence: res.Evidence, StartsAt: now.UTC(),
			Optimize: r.Config.Optimize,
		})
	case !res.Firing && firing:
		end := now.UTC()
		return a.engine.PublishAlert(ctx, events.Alert{
			Fingerprint: fp, Rule: r.Config.Name, Kind: r.Config.Kind, Status: events.StatusResolved,
			Severity: r.Config.Severity, Summary: res.Summary, Metric: r.Config.Metric,
			Value: res.Value, Labels: labels, Evidence: res.Evidence, StartsAt: st.Since, EndsAt: &end,
		})
	}
	return nil
}

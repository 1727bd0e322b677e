package main

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/tend-dev/tend/api/reportapi"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/optimizer"
	"github.com/tend-dev/tend/optimizer/detect"
	"github.com/tend-dev/tend/report"
)

func init() {
	hubHooks = append(hubHooks, mountHistory)
	configChecks = append(configChecks, checkHistory)
}

func historyConfig(cfg *config.Config) (history.Config, error) {
	if cfg.History.Node == nil {
		hc := history.DefaultConfig()
		hc.Raw = cfg.Bus.MetricsMaxAge
		return hc, nil
	}
	return history.Decode(cfg.History)
}

// checkHistory validates history:, reports: and the analysis rules.
func checkHistory(cfg *config.Config) error {
	var errs []error
	if _, err := historyConfig(cfg); err != nil {
		errs = append(errs, err)
	}
	if _, err := report.DecodeSchedules(cfg.Reports); err != nil {
		errs = append(errs, err)
	}
	for _, r := range cfg.Rules {
		if detect.IsAnalysis(r.Kind) {
			if _, err := detect.Compile(r); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// mountHistory adds rollups, analysis rules, scheduled reports, and the
// import and report endpoints to the hub.
func mountHistory(h *hub, cfg *config.Config, mounts *[]func(*http.ServeMux)) error {
	hc, err := historyConfig(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := history.EnsureStream(ctx, h.bus.JS, hc, cfg.Bus.Replicas); err != nil {
		return err
	}
	store := history.New(h.bus.JS, hc, h.log)
	agg := history.NewAggregator(h.bus.JS, hc, h.log.With("part", "history"))
	h.extras = append(h.extras, func(ctx context.Context) error { return agg.Run(ctx, 0) })

	analyzer, err := optimizer.NewAnalyzer(h.engine, store, cfg.Rules, h.log.With("part", "analysis"))
	if err != nil {
		return err
	}
	h.extras = append(h.extras, analyzer.Run)

	schedules, err := report.DecodeSchedules(cfg.Reports)
	if err != nil {
		return err
	}
	sc := &report.Scheduler{
		Schedules: schedules,
		Log:       h.log.With("part", "reports"),
		Fire: func(ctx context.Context, s report.Schedule, t time.Time) error {
			rep, err := reportapi.Build(ctx, store, h.bus, h.router, s.Input(t))
			if err != nil {
				return err
			}
			data, err := rep.Event()
			if err != nil {
				return err
			}
			ev, err := events.New(events.TypeReport, "tend://"+cfg.Hub+"/reports", s.Name, data)
			if err != nil {
				return err
			}
			// One report per schedule and run time, whichever hub sends it.
			ev.ID = "report-" + events.Token(s.Name) + "-" + t.UTC().Format("20060102T150405")
			return h.bus.Publish(ctx, ev)
		},
	}
	h.extras = append(h.extras, sc.Run)

	api := &reportapi.Handler{Store: store, Bus: h.bus, Router: h.router}
	*mounts = append(*mounts, api.Register)
	return nil
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/api"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/optimizer"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/router"
)

func newServeCmd() *cobra.Command {
	var o serveOptions
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the tend hub: collector, rules, router and API",
		Long: `Run the tend hub. Without --config it runs the built-in default: host metrics
every 10 s, CPU, memory and disk rules, and the console. NATS JetStream runs
inside the process, stored under the data directory.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd.Context(), o, cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.config, "config", "c", "", "config file (default: built-in)")
	f.StringVar(&o.dataDir, "data-dir", "", "data directory (default $XDG_DATA_HOME/tend)")
	f.StringVar(&o.listen, "listen", "", "HTTP API address (default 127.0.0.1:9740)")
	f.StringVar(&o.natsURL, "nats-url", "", "join an external NATS instead of embedding one")
	f.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
	f.StringVar(&o.logFormat, "log-format", "text", "text or json")
	return cmd
}

type serveOptions struct {
	config, dataDir, listen, natsURL, logLevel, logFormat string
}

func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		return config.Default(), nil
	}
	return config.Load(path)
}

func newLogger(level, format string, out *os.File) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(out, opts)), nil
	}
	return slog.New(slog.NewTextHandler(out, opts)), nil
}

// serve runs the hub until ctx ends. Parts stop in order: sampling first,
// then rules and deliveries (in-flight ones finish), then the API and the
// bus, which closes the store.
func serve(ctx context.Context, o serveOptions, _ any) error {
	start := time.Now()
	cfg, err := loadConfig(o.config)
	if err != nil {
		return err
	}
	if o.dataDir != "" {
		cfg.DataDir = o.dataDir
	}
	if o.listen != "" {
		cfg.Listen = o.listen
	}
	if o.natsURL != "" {
		cfg.Bus.URL = o.natsURL
	}
	log, err := newLogger(o.logLevel, o.logFormat, os.Stderr)
	if err != nil {
		return err
	}

	// Losing the bus for good ends the hub with an error, so a supervisor
	// restarts it, instead of leaving a process that answers but does
	// nothing.
	ctx, lost := context.WithCancelCause(ctx)
	defer lost(nil)
	b, err := bus.Open(ctx, bus.Options{
		URL: cfg.Bus.URL, DataDir: cfg.DataDir, Listen: cfg.Bus.Listen,
		Name: cfg.Hub, Config: cfg.Bus, Logger: log,
		OnClosed: func(err error) {
			lost(fmt.Errorf("lost the bus connection: %w", err))
		},
	})
	if err != nil {
		return err
	}
	defer b.Close()

	h, err := buildHub(cfg, b, log)
	if err != nil {
		return err
	}
	if err := h.engine.Open(ctx); err != nil {
		return err
	}
	if err := h.router.Open(ctx); err != nil {
		return err
	}
	addr, err := h.api.Listen(cfg.Listen)
	if err != nil {
		return err
	}
	return h.run(ctx, cfg, addr, start)
}

// hub is every running part of `tend serve`.
type hub struct {
	bus       *bus.Bus
	log       *slog.Logger
	stats     *collector.Stats
	collector *collector.Collector
	engine    *optimizer.Engine
	router    *router.Router
	api       *api.Server
	extras    []func(ctx context.Context) error
	// runner is set by the optimizer's hook when the optimizer is built.
	runner *runner.Runner
}

// hubHooks let other files add parts to the hub (optimizer runs, reports,
// inbound hooks) without editing buildHub.
var hubHooks []func(h *hub, cfg *config.Config, mounts *[]func(*http.ServeMux)) error

func buildHub(cfg *config.Config, b *bus.Bus, log *slog.Logger) (*hub, error) {
	h := &hub{bus: b, log: log, stats: collector.NewStats()}
	var err error
	if h.collector, err = collector.NewCollector(cfg.Collector, b, log, h.stats); err != nil {
		return nil, err
	}
	if h.engine, err = optimizer.NewEngine(b, cfg.Hub, cfg.Rules, log); err != nil {
		return nil, err
	}
	if h.router, err = router.New(cfg, b, log); err != nil {
		return nil, err
	}
	var mounts []func(*http.ServeMux)
	for _, hook := range hubHooks {
		if err := hook(h, cfg, &mounts); err != nil {
			return nil, err
		}
	}
	h.api = api.New(api.Deps{
		Config: cfg, Bus: b, Engine: h.engine, Router: h.router, Collector: h.stats,
		Logger: log, Version: version, Started: time.Now(), Mount: mounts,
		Optimizer: h.optimizerStatus,
	})
	return h, nil
}

// optimizerStatus says whether automatic optimization is on, its level and
// what runs now, for `tend status` and chat commands.
func (h *hub) optimizerStatus(ctx context.Context) string {
	if h.runner == nil {
		return "not configured"
	}
	on, err := h.runner.Enabled(ctx)
	if err != nil {
		return "unknown: " + err.Error()
	}
	level, err := h.runner.Level(ctx)
	if err != nil {
		return "unknown: " + err.Error()
	}
	state := "disabled"
	if on {
		state = "enabled"
	}
	text := fmt.Sprintf("%s, level %s", state, level)
	if id := h.runner.Running(); id != "" {
		text += ", running " + id
	}
	return text
}

func (h *hub) run(ctx context.Context, cfg *config.Config, addr string, start time.Time) error {
	sampleCtx, stopSampling := context.WithCancel(ctx)
	defer stopSampling()
	workCtx, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()

	var wg sync.WaitGroup
	errc := make(chan error, 8)
	spawn := func(name string, ctx context.Context, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	spawn("router", workCtx, h.router.Run)
	spawn("rules", workCtx, h.engine.Run)
	spawn("api", workCtx, h.api.Run)
	for i, f := range h.extras {
		spawn(fmt.Sprintf("part %d", i), workCtx, f)
	}
	collectorDone := make(chan struct{})
	go func() {
		defer close(collectorDone)
		if err := h.collector.Run(sampleCtx); err != nil {
			errc <- fmt.Errorf("collector: %w", err)
		}
	}()

	bus := "embedded"
	if cfg.Bus.URL != "" {
		bus = config.RedactURL(cfg.Bus.URL)
	}
	cfgName := cfg.File
	if cfgName == "" {
		cfgName = "built-in default"
	}
	h.log.Info("tend ready",
		"listen", "http://"+addr,
		"data_dir", cfg.DataDir,
		"bus", bus,
		"config", cfgName,
		"took", time.Since(start).Round(time.Millisecond))

	var runErr error
	select {
	case <-ctx.Done():
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			runErr = cause
			h.log.Error("stopping", "error", cause)
		}
	case runErr = <-errc:
	}
	h.log.Info("tend stopping")
	stopSampling()
	<-collectorDone
	stopWork()

	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(4 * time.Second):
		h.log.Warn("stopping took too long; closing the store anyway")
	}
	if runErr != nil && !strings.Contains(runErr.Error(), "context canceled") {
		return runErr
	}
	h.log.Info("tend stopped")
	return nil
}

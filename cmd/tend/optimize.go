package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tend-dev/tend/api/optimizerapi"
	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

func init() {
	hubHooks = append(hubHooks, optimizerHook)
	configChecks = append(configChecks, checkOptimizer)
	extraCommands = append(extraCommands,
		newEnableCmd, newDisableCmd, newLevelCmd, newOptimizeCmd, newRunsCmd)
}

// optimizerHook adds the optimizer to the hub: the runner on the bus, runs
// started by firing alerts, by GitHub and Slack triggers and by the
// schedule, and the REST API under /api/v1/optimizer.
func optimizerHook(h *hub, cfg *config.Config, mounts *[]func(*http.ServeMux)) error {
	settings, err := tasks.Decode(cfg.Optimizer)
	if err != nil {
		return err
	}
	built, err := tasks.Build(settings, h.collector.Sources())
	if err != nil {
		return fmt.Errorf("build optimizer tasks: %w", err)
	}
	log := h.log.With("part", "optimizer")
	r, err := runner.New(runner.Config{
		Tasks: built, Settings: settings, Publisher: h.bus,
		State:  runner.BusState{KV: bus.KV{Bucket: h.bus.State}},
		Logger: log, Source: "tend://" + cfg.Hub + "/optimizer",
	})
	if err != nil {
		return err
	}
	h.runner = r

	// The engine calls OnAlert from its one consumer goroutine: Alerts
	// starts the run in its own.
	alerts := runner.NewAlerts(r, log)
	alerts.Seen = bus.KV{Bucket: h.bus.Seen}
	prev := h.engine.OnAlert
	h.engine.OnAlert = func(ctx context.Context, a events.Alert) {
		if prev != nil {
			prev(ctx, a)
		}
		alerts.OnAlert(ctx, a)
	}

	// The trigger consumer exists before the API answers, so a trigger
	// stored by the first webhook is not missed.
	trig := runner.NewTriggers(h.bus, r, log)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := trig.Open(ctx); err != nil {
		return err
	}

	rest := optimizerapi.New(r, log)
	*mounts = append(*mounts, rest.Register)
	h.extras = append(h.extras, r.RunSchedule, trig.Run, alerts.Run, rest.Run,
		func(ctx context.Context) error {
			// A run a killed hub left "started" is over: say so, once no
			// task of it could still be going on another hub.
			wait := settings.TaskTimeout*time.Duration(max(len(built), 1)) + time.Minute
			if _, err := r.Interrupted(ctx, wait); err != nil && ctx.Err() == nil {
				log.Warn("end interrupted runs", "error", err)
			}
			return nil
		})
	log.Info("optimizer ready", "tasks", r.Tasks(), "schedule", !settings.Schedule.IsZero())
	return nil
}

// checkOptimizer decodes the optimizer section, builds its tasks on the
// configured sources and checks that rules ask only for configured tasks.
func checkOptimizer(cfg *config.Config) error {
	settings, err := tasks.Decode(cfg.Optimizer)
	if err != nil {
		return err
	}
	discard := slog.New(slog.DiscardHandler)
	sources := map[string]any{}
	for _, s := range cfg.Collector.Sources {
		src, err := collector.New(s, collector.Deps{Logger: discard})
		if err != nil {
			continue // reported by the source check
		}
		sources[s.Name] = src
		if c, ok := src.(collector.Closer); ok {
			defer c.Close()
		}
	}
	var errs []error
	if _, err := tasks.Build(settings, sources); err != nil {
		errs = append(errs, &config.Error{File: cfg.File, Line: cfg.Optimizer.Line(),
			Key: "optimizer.tasks", Msg: err.Error()})
	}
	names := settings.Names()
	for i, rule := range cfg.Rules {
		for j, n := range rule.Optimize {
			if !containsString(names, n) {
				errs = append(errs, &config.Error{File: cfg.File, Line: rule.Line(),
					Key: fmt.Sprintf("rules[%d].optimize[%d]", i, j),
					Msg: fmt.Sprintf("task %q is not configured under optimizer.tasks; configured: %s",
						n, strings.Join(names, ", "))})
			}
		}
	}
	return errors.Join(errs...)
}

func containsString(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func newEnableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "enable",
		Short: "Let firing alerts and the schedule start optimization runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			on := true
			return putOptimizerState(cmd, optimizerapi.StateUpdate{Enabled: &on})
		},
	}
}

func newDisableCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "disable",
		Short: "Stop alerts and the schedule from starting optimization runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			off := false
			return putOptimizerState(cmd, optimizerapi.StateUpdate{Enabled: &off})
		},
	}
}

func newLevelCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "level [LEVEL]",
		Short: "Show or set the optimization level: low, medium, high or aggressive",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if _, err := tasks.ParseLevel(args[0]); err != nil {
					return err
				}
				return putOptimizerState(cmd, optimizerapi.StateUpdate{Level: &args[0]})
			}
			f, err := format(cmd)
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			var st optimizerapi.State
			if err := c.do(cmd.Context(), "GET", optimizerapi.Prefix, nil, &st); err != nil {
				return err
			}
			return printOptimizerState(cmd.OutOrStdout(), f, st)
		},
	}
}

func putOptimizerState(cmd *cobra.Command, up optimizerapi.StateUpdate) error {
	f, err := format(cmd)
	if err != nil {
		return err
	}
	c, err := newClient(cmd)
	if err != nil {
		return err
	}
	var st optimizerapi.State
	if err := c.do(cmd.Context(), "PUT", optimizerapi.Prefix, up, &st); err != nil {
		return err
	}
	return printOptimizerState(cmd.OutOrStdout(), f, st)
}

func printOptimizerState(out io.Writer, f string, st optimizerapi.State) error {
	switch f {
	case "json":
		return printJSON(out, st)
	case "summary":
		fmt.Fprintf(out, "automatic optimization %s, level %s, tasks: %s\n",
			onOff(st.Enabled), st.Level, strings.Join(st.Tasks, ", "))
		return nil
	}
	running := st.Running
	if running == "" {
		running = "-"
	}
	return table(out, []string{"FIELD", "VALUE"}, [][]string{
		{"automatic", onOff(st.Enabled)}, {"level", st.Level},
		{"tasks", strings.Join(st.Tasks, ", ")}, {"running", running},
	})
}

func onOff(on bool) string {
	if on {
		return "enabled"
	}
	return "disabled"
}

type optimizeOptions struct {
	level         string
	force, dryRun bool
	poll          time.Duration
}

func newOptimizeCmd() *cobra.Command {
	o := optimizeOptions{poll: 500 * time.Millisecond}
	cmd := &cobra.Command{
		Use:   "optimize [TASK...]",
		Short: "Run optimization tasks now and show what they changed, measured before and after",
		Long: `Run the named tasks (all configured tasks without names) at the current level
or --level, and wait for the result: per task its steps and each measurement
before → after, with the number of samples and their spread. Tasks inside
their cooldown are skipped unless --force. --dry-run measures and plans but
changes nothing and sets no cooldown.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return optimize(cmd, args, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.level, "level", "",
		"level of this run: low, medium, high or aggressive (default: current)")
	fl.BoolVar(&o.force, "force", false, "ignore the tasks' cooldowns")
	fl.BoolVar(&o.dryRun, "dry-run", false, "measure and plan only; change nothing")
	return cmd
}

func optimize(cmd *cobra.Command, names []string, o optimizeOptions) error {
	f, err := format(cmd)
	if err != nil {
		return err
	}
	if o.level != "" {
		if _, err := tasks.ParseLevel(o.level); err != nil {
			return err
		}
	}
	c, err := newClient(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	progress := terminal(cmd.ErrOrStderr())

	req := optimizerapi.RunRequest{Tasks: names, Level: o.level, Force: o.force, DryRun: o.dryRun,
		Via: "cli", By: os.Getenv("USER")}
	if progress {
		// Answer soon, so the wait can show how far the run got.
		req.Wait = "1s"
	}
	var run events.Run
	if err := c.do(ctx, "POST", optimizerapi.Prefix+"/runs", req, &run); err != nil {
		return err
	}
	start := time.Now()
	for !finished(run) {
		if progress {
			fmt.Fprintf(cmd.ErrOrStderr(), "\r%s", progressLine(run, len(names), time.Since(start)))
		}
		select {
		case <-ctx.Done():
			if progress {
				fmt.Fprintln(cmd.ErrOrStderr())
			}
			return fmt.Errorf("stopped waiting; run %s goes on at the hub: `tend runs %s`",
				run.ID, run.ID)
		case <-time.After(o.poll):
		}
		if err := c.do(ctx, "GET", runPath(run.ID), nil, &run); err != nil {
			if ctx.Err() != nil {
				continue
			}
			return err
		}
	}
	if progress {
		fmt.Fprint(cmd.ErrOrStderr(), "\r\033[K")
	}
	if err := printRun(cmd.OutOrStdout(), f, run); err != nil {
		return err
	}
	if run.Status == "failed" {
		return exitError{fmt.Errorf("run %s failed: %s", run.ID, run.Error)}
	}
	return nil
}

func finished(run events.Run) bool {
	return run.Status == "completed" || run.Status == "failed"
}

// progressLine tells how far a run got: "run 3f… started: 1 of 2 tasks
// done (exec improved), 4s".
func progressLine(run events.Run, asked int, took time.Duration) string {
	done := make([]string, 0, len(run.Tasks))
	for _, t := range run.Tasks {
		done = append(done, t.Task+" "+t.Verdict)
	}
	of := ""
	if asked > 0 {
		of = fmt.Sprintf(" of %d", asked)
	}
	s := fmt.Sprintf("run %s %s: %d%s tasks done", short(run.ID), run.Status, len(run.Tasks), of)
	if len(done) > 0 {
		s += " (" + strings.Join(done, ", ") + ")"
	}
	return s + ", " + took.Round(time.Second).String() + "\033[K"
}

// terminal reports whether w is a terminal, where progress may be drawn.
func terminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// printRun shows one run: a header line, a row per measurement with
// before → after, samples and spread, then the steps.
func printRun(out io.Writer, f string, run events.Run) error {
	switch f {
	case "json":
		return printJSON(out, run)
	case "summary":
		fmt.Fprintln(out, runHeader(run))
		for _, s := range run.Summary {
			fmt.Fprintln(out, "  "+s)
		}
		return nil
	}
	fmt.Fprintln(out, runHeader(run))
	if len(run.Tasks) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	var rows [][]string
	for _, t := range run.Tasks {
		if len(t.Measures) == 0 {
			rows = append(rows, []string{t.Task, t.Verdict, "-", "-", "-", "-"})
			continue
		}
		for i, m := range t.Measures {
			task, verdict := t.Task, m.Verdict
			if i > 0 {
				task = ""
			}
			rows = append(rows, []string{task, verdict, measureName(m), beforeAfter(m),
				samples(m), spread(m)})
		}
	}
	header := []string{"TASK", "VERDICT", "MEASURE", "BEFORE → AFTER", "N", "SPREAD"}
	if err := table(out, header, rows); err != nil {
		return err
	}

	var steps [][]string
	for _, t := range run.Tasks {
		for _, s := range t.Steps {
			what := "done"
			switch {
			case s.Error != "":
				what = "error: " + s.Error
			case s.Skipped != "":
				what = "skipped: " + s.Skipped
			case !s.Done:
				what = "not done"
			}
			target := s.Target
			if target == "" {
				target = "-"
			}
			steps = append(steps, []string{t.Task, s.Name, target, what})
		}
		if t.Error != "" {
			steps = append(steps, []string{t.Task, "-", "-", "error: " + t.Error})
		}
		for _, rec := range t.Recommendations {
			steps = append(steps, []string{t.Task, "recommendation", "-", rec})
		}
	}
	if len(steps) > 0 {
		fmt.Fprintln(out)
		return table(out, []string{"TASK", "STEP", "TARGET", "OUTCOME"}, steps)
	}
	return nil
}

// runHeader is one line on a run: "run 3f2a… completed at level low, dry
// run, asked by cli (ana), took 2.1s".
func runHeader(run events.Run) string {
	parts := []string{fmt.Sprintf("run %s %s at level %s", run.ID, run.Status, run.Level)}
	if run.DryRun {
		parts = append(parts, "dry run")
	}
	parts = append(parts, "asked by "+triggerText(run.Trigger))
	if run.Started != nil && run.Finished != nil {
		took := run.Finished.Sub(*run.Started).Round(time.Millisecond)
		parts = append(parts, "took "+took.String())
	}
	if run.Error != "" {
		parts = append(parts, "error: "+run.Error)
	}
	return strings.Join(parts, ", ")
}

func triggerText(t events.Trigger) string {
	s := t.Kind
	if s == "" {
		s = "?"
	}
	var who []string
	if t.By != "" {
		who = append(who, t.By)
	}
	if t.Repo != "" {
		ref := t.Repo
		if t.Issue > 0 {
			ref += "#" + strconv.Itoa(t.Issue)
		} else if t.SHA != "" {
			ref += "@" + short(t.SHA)
		}
		who = append(who, ref)
	}
	if t.Fingerprint != "" {
		who = append(who, "alert "+t.Fingerprint)
	}
	if len(who) > 0 {
		s += " (" + strings.Join(who, ", ") + ")"
	}
	return s
}

func measureName(m events.Measurement) string {
	if m.Unit != "" {
		return m.Name + " (" + m.Unit + ")"
	}
	return m.Name
}

func beforeAfter(m events.Measurement) string {
	if m.After.N == 0 {
		return num(m.Before.Median, m.Unit) + " → -"
	}
	return num(m.Before.Median, m.Unit) + " → " + num(m.After.Median, m.Unit)
}

func samples(m events.Measurement) string {
	return fmt.Sprintf("%d/%d", m.Before.N, m.After.N)
}

func spread(m events.Measurement) string {
	if m.After.N == 0 {
		return "±" + num(m.Before.Spread, m.Unit)
	}
	return "±" + num(m.Before.Spread, m.Unit) + " / ±" + num(m.After.Spread, m.Unit)
}

// num writes a figure for people: whole numbers with thousands separators,
// others with two decimals at most, bytes in binary units.
func num(v float64, unit string) string {
	if unit == "bytes" && math.Abs(v) >= 1024 {
		const units = "KMGTPE"
		i := -1
		for math.Abs(v) >= 1024 && i < len(units)-1 {
			v /= 1024
			i++
		}
		return strconv.FormatFloat(v, 'f', 1, 64) + " " + string(units[i]) + "iB"
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	if v != math.Trunc(v) || math.Abs(v) >= 1e15 {
		s := strconv.FormatFloat(v, 'f', 2, 64)
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		return s
	}
	digits := strconv.FormatInt(int64(math.Abs(v)), 10)
	var b strings.Builder
	if v < 0 {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// testTasks is `tend test [TASK...]`: what each task would do, touching
// nothing. It exits 1 when a task cannot run here.
func testTasks(cmd *cobra.Command, names []string, level string) error {
	f, err := format(cmd)
	if err != nil {
		return err
	}
	if level != "" {
		if _, err := tasks.ParseLevel(level); err != nil {
			return err
		}
	}
	c, err := newClient(cmd)
	if err != nil {
		return err
	}
	var res optimizerapi.TestResult
	req := optimizerapi.TestRequest{Tasks: names, Level: level}
	if err := c.do(cmd.Context(), "POST", optimizerapi.Prefix+"/test", req, &res); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	var failed []string
	for _, p := range res.Plans {
		if p.Error != "" {
			failed = append(failed, p.Task)
		}
	}
	switch f {
	case "json":
		if err := printJSON(out, res); err != nil {
			return err
		}
	case "summary":
		var parts []string
		for _, p := range res.Plans {
			parts = append(parts, planSummary(p))
		}
		fmt.Fprintf(out, "at level %s: %s\n", res.Level, strings.Join(parts, "; "))
	default:
		fmt.Fprintf(out, "at level %s, nothing touched:\n\n", res.Level)
		var rows [][]string
		for _, p := range res.Plans {
			if p.Error != "" {
				rows = append(rows, []string{p.Task, "-", "-", "cannot run: " + p.Error})
			}
			for _, s := range p.Steps {
				would := "would run"
				if s.Skipped != "" {
					would = "would skip: " + s.Skipped
				}
				target := s.Target
				if target == "" {
					target = "-"
				}
				rows = append(rows, []string{p.Task, s.Name, target, would})
			}
			if p.Error == "" && len(p.Steps) == 0 {
				rows = append(rows, []string{p.Task, "-", "-", "nothing to do"})
			}
		}
		if err := table(out, []string{"TASK", "STEP", "TARGET", "PLAN"}, rows); err != nil {
			return err
		}
	}
	if len(failed) > 0 {
		return exitError{fmt.Errorf("cannot run here: %s", strings.Join(failed, ", "))}
	}
	return nil
}

func planSummary(p runner.TaskPlan) string {
	if p.Error != "" {
		return p.Task + " cannot run (" + p.Error + ")"
	}
	var run, skip int
	for _, s := range p.Steps {
		if s.Skipped != "" {
			skip++
			continue
		}
		run++
	}
	return fmt.Sprintf("%s %d step(s) would run, %d skipped", p.Task, run, skip)
}

func newRunsCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "runs [ID]",
		Short: "List recent optimization runs, or show one with its measurements",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := format(cmd)
			if err != nil {
				return err
			}
			c, err := newClient(cmd)
			if err != nil {
				return err
			}
			ctx, out := cmd.Context(), cmd.OutOrStdout()
			if len(args) == 1 {
				var run events.Run
				if err := c.do(ctx, "GET", runPath(args[0]), nil, &run); err != nil {
					return err
				}
				return printRun(out, f, run)
			}
			var runs []events.Run
			path := optimizerapi.Prefix + "/runs?limit=" + strconv.Itoa(limit)
			if err := c.do(ctx, "GET", path, nil, &runs); err != nil {
				return err
			}
			return printRuns(out, f, runs)
		},
	}
	cmd.Flags().IntVarP(&limit, "limit", "n", 20, "show at most this many runs")
	return cmd
}

func printRuns(out io.Writer, f string, runs []events.Run) error {
	switch f {
	case "json":
		return printJSON(out, runs)
	case "summary":
		if len(runs) == 0 {
			fmt.Fprintln(out, "no runs yet")
			return nil
		}
		for _, r := range runs {
			fmt.Fprintf(out, "%s %s %s: %s\n", short(r.ID), r.Status, ago(r.Requested),
				strings.Join(r.Summary, "; "))
		}
		return nil
	}
	rows := make([][]string, 0, len(runs))
	for _, r := range runs {
		var names []string
		for _, t := range r.Tasks {
			names = append(names, t.Task)
		}
		took := "-"
		if r.Started != nil && r.Finished != nil {
			took = r.Finished.Sub(*r.Started).Round(time.Millisecond).String()
		}
		status := r.Status
		if r.DryRun {
			status += " (dry)"
		}
		tasksText := strings.Join(names, ",")
		if tasksText == "" {
			tasksText = "-"
		}
		rows = append(rows, []string{r.ID, status, r.Level, triggerText(r.Trigger), tasksText,
			ago(r.Requested), took})
	}
	return table(out, []string{"ID", "STATUS", "LEVEL", "ASKED BY", "TASKS", "REQUESTED", "TOOK"},
		rows)
}

func runPath(id string) string {
	return optimizerapi.Prefix + "/runs/" + url.PathEscape(id)
}

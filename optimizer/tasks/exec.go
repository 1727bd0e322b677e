package tasks

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/tend-dev/tend/events"
	userproc "github.com/tend-dev/tend/internal/proc"
)

// execTask runs a user's command, measured by a user's measure command.
type execTask struct {
	s     ExecSettings
	level Level
	samp  sampling
}

func (e *execTask) Name() string { return "exec" }

// Plan implements [Task].
func (e *execTask) Plan(_ context.Context, env Env) ([]events.Step, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	return e.prepare(env).steps(env), nil
}

// Run implements [Task].
func (e *execTask) Run(ctx context.Context, env Env) (events.TaskResult, error) {
	if err := e.check(); err != nil {
		return failedResult(e.Name(), err), err
	}
	return execute(ctx, e.Name(), env, e.samp, e.prepare(env)), nil
}

// check finds both programs.
func (e *execTask) check() error {
	for _, argv := range [][]string{e.s.Command, e.s.Measure} {
		if _, err := exec.LookPath(argv[0]); err != nil {
			return fmt.Errorf("%w: exec: %w", ErrPrecondition, err)
		}
	}
	return nil
}

func (e *execTask) prepare(env Env) plan {
	a := action{name: "run", target: "command " + filepath.Base(e.s.Command[0]), level: e.level,
		do: func(ctx context.Context) error {
			_, err := e.run(ctx, e.s.Command, env.Level)
			return err
		}}
	if e.s.Disruptive {
		a.disrupts = "declared disruptive in its config"
	}
	return plan{
		actions: []action{a},
		meters: []meter{{name: cmp.Or(e.s.Metric, "measure"), unit: e.s.Unit, lowerIsBetter: e.s.LowerIsBetter,
			read: func(ctx context.Context) (float64, error) {
				out, err := e.run(ctx, e.s.Measure, env.Level)
				if err != nil {
					return 0, err
				}
				f := strings.Fields(out)
				if len(f) == 0 {
					return 0, fmt.Errorf("measure printed nothing")
				}
				v, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					return 0, fmt.Errorf("measure printed %q, not a number", clip(f[0], 40))
				}
				return v, nil
			}}},
	}
}

// run runs argv (no shell) with TEND_LEVEL set and returns its output. A
// failure carries the end of its error output.
func (e *execTask) run(ctx context.Context, argv []string, level Level) (string, error) {
	if t := e.s.Timeout.D(); t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	cmd := userproc.Command(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "TEND_LEVEL="+level.String())
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		tail := strings.TrimSpace(stderr.String())
		if len(tail) > 200 {
			tail = "…" + tail[len(tail)-200:]
		}
		if tail != "" {
			return "", fmt.Errorf("%s: %w: %s", argv[0], err, tail)
		}
		return "", fmt.Errorf("%s: %w", argv[0], err)
	}
	return stdout.String(), nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

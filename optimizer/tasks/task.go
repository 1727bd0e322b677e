package tasks

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tend-dev/tend/events"
)

// Verdicts of a measurement and of a task.
const (
	Improved = "improved"
	Worse    = "worse"
	NoChange = "no measurable change"
	// Skipped: the task did nothing (dry run, level too low, not allowed).
	Skipped = "skipped"
	// Failed: every step the task tried failed.
	Failed = "failed"
	// NotMeasured: the steps ran but no figure could be taken before or
	// after, so nothing can be said of their effect.
	NotMeasured = "not measured"
)

// Env is what one run asks of a task.
type Env struct {
	// Level bounds the steps taken; each level includes those below it.
	Level Level
	// AllowDisruptive permits steps that can disturb service (locks, dropped
	// caches, reniced processes). Without it they are skipped with a reason.
	AllowDisruptive bool
	// DryRun measures and plans but changes nothing.
	DryRun bool
	// Logger receives the task's log lines; nil discards them.
	Logger *slog.Logger
}

func (e Env) logger() *slog.Logger {
	if e.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Logger
}

// Task is one optimization: what it would do at a level, and doing it with
// measurements before and after. Implementations are safe for concurrent
// use, though the runner calls one task at a time.
type Task interface {
	// Name is the task's name as written in config and on the CLI.
	Name() string
	// Plan checks the task's preconditions and returns the steps it would
	// take at env.Level, touching nothing. A step that would be skipped says
	// why in Skipped. It returns an error wrapping [ErrPrecondition] or
	// [ErrSource] when the task cannot run at all.
	Plan(ctx context.Context, env Env) ([]events.Step, error)
	// Run measures, acts and measures again. With env.DryRun it only
	// measures before and acts on nothing. The error is for a task that could
	// not start; a step that fails is recorded in the result.
	Run(ctx context.Context, env Env) (events.TaskResult, error)
}

// PostgresSource is what the database task needs from a postgres source.
type PostgresSource interface {
	DB(ctx context.Context) (*pgxpool.Pool, error)
}

// RedisSource is what the memory and cache tasks need from a redis source.
type RedisSource interface {
	Client() *redis.Client
}

// SQLiteSource is what the database task needs from a sqlite source.
type SQLiteSource interface {
	Path() string
	ProbeQuery() string
}

// HTTPSource is what the response task needs from an http source: one probe
// returning its latency and status code.
type HTTPSource interface {
	Probe(ctx context.Context) (time.Duration, int, error)
}

// queryProber is implemented by a postgres source that has a probe query.
type queryProber interface {
	ProbeQuery() string
}

package tasks_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// pgSource adapts a pool to tasks.PostgresSource.
type pgSource struct{ pool *pgxpool.Pool }

func (s pgSource) DB(context.Context) (*pgxpool.Pool, error) { return s.pool, nil }

// redisSource adapts a client to tasks.RedisSource.
type redisSource struct{ c *redis.Client }

func (s redisSource) Client() *redis.Client { return s.c }

// sqliteSource adapts a path and query to tasks.SQLiteSource.
type sqliteSource struct{ path, probe string }

func (s sqliteSource) Path() string       { return s.path }
func (s sqliteSource) ProbeQuery() string { return s.probe }

func postgres(t *testing.T) *pgxpool.Pool {
	t.Helper()
	url := os.Getenv("TEND_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("TEND_TEST_POSTGRES_URL is not set; set it to a PostgreSQL URL to run this test")
	}
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		t.Fatalf("connect postgres: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	addr := os.Getenv("TEND_TEST_REDIS_ADDR")
	if addr == "" {
		t.Skip("TEND_TEST_REDIS_ADDR is not set; set it to a Redis host:port to run this test")
	}
	c := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c.Close() })
	if err := c.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("ping redis: %v", err)
	}
	return c
}

// unique returns prefix with random hex appended, for names shared runs
// must not collide on.
func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// quick are settings that sample fast.
func quick() tasks.Settings {
	return tasks.Settings{Samples: 3, SampleInterval: 5 * time.Millisecond}
}

func build(t *testing.T, s tasks.Settings, sources map[string]any, name string) tasks.Task {
	t.Helper()
	all, err := tasks.Build(s, sources)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	task, ok := all[name]
	if !ok {
		t.Fatalf("Build made no %s task; got %v", name, all)
	}
	return task
}

func step(t *testing.T, steps []events.Step, name, target string) events.Step {
	t.Helper()
	for _, s := range steps {
		if s.Name == name && strings.Contains(s.Target, target) {
			return s
		}
	}
	t.Fatalf("no step %q on %q in %+v", name, target, steps)
	return events.Step{}
}

func measure(t *testing.T, ms []events.Measurement, suffix string) events.Measurement {
	t.Helper()
	for _, m := range ms {
		if strings.HasSuffix(m.Name, suffix) {
			return m
		}
	}
	t.Fatalf("no measurement ending %q in %+v", suffix, ms)
	return events.Measurement{}
}

func noneDone(t *testing.T, steps []events.Step) {
	t.Helper()
	for _, s := range steps {
		if s.Done {
			t.Errorf("step %s %s is done, want nothing done", s.Name, s.Target)
		}
	}
}

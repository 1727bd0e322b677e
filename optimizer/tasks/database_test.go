package tasks_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tend-dev/tend/optimizer/tasks"
)

// deadTable makes a table with autovacuum off, 20,000 rows and an index,
// deletes 18,000 of them and waits until the statistics show the dead rows.
func deadTable(t *testing.T, pool *pgxpool.Pool) string {
	t.Helper()
	ctx := context.Background()
	name := unique("tend_opt_")
	ident := pgx.Identifier{name}.Sanitize()
	t.Cleanup(func() { _, _ = pool.Exec(context.Background(), "DROP TABLE IF EXISTS "+ident) })

	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, sql := range []string{
		"CREATE TABLE " + ident + " (id int PRIMARY KEY, v text) WITH (autovacuum_enabled = false)",
		"INSERT INTO " + ident + " SELECT g, md5(g::text) FROM generate_series(1, 20000) g",
		"DELETE FROM " + ident + " WHERE id > 2000",
		// Statistics reach shared memory when a backend flushes them.
		"SELECT pg_stat_force_next_flush()",
		"ANALYZE " + ident,
	} {
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	if _, err := conn.Exec(ctx, "SELECT pg_stat_force_next_flush()"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return deadTuples(t, pool, name) > 0 })
	return name
}

func deadTuples(t *testing.T, pool *pgxpool.Pool, table string) int64 {
	t.Helper()
	var n int64
	err := pool.QueryRow(context.Background(),
		"SELECT coalesce(n_dead_tup, 0) FROM pg_stat_user_tables WHERE relname = $1", table).Scan(&n)
	if err != nil {
		t.Fatalf("read dead tuples of %s: %v", table, err)
	}
	return n
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func pgTask(t *testing.T, pool *pgxpool.Pool, table string) tasks.Task {
	s := quick()
	s.Database = &tasks.DatabaseSettings{
		Source: "db", Tables: []string{table},
		AnalyzeRatio: 0.1, MinChanges: 1000, DeadTupleRatio: 0.1, MinDeadTuples: 100,
		IndexBloatRatio: 0.3, MinIndexBytes: 8192, SlowQueryMs: 100,
		ProbeQuery: "SELECT count(*) FROM " + pgx.Identifier{table}.Sanitize(),
	}
	return build(t, s, map[string]any{"db": pgSource{pool}}, "database")
}

func TestDatabase_PostgresVacuum(t *testing.T) {
	pool := postgres(t)
	ctx := context.Background()
	table := deadTable(t, pool)
	task := pgTask(t, pool, table)
	dead := deadTuples(t, pool, table)

	// Plan and dry run touch nothing: the dead rows are all still there.
	steps, err := task.Plan(ctx, tasks.Env{Level: tasks.High})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if s := step(t, steps, "VACUUM (ANALYZE)", table); s.Skipped != "" || s.Done {
		t.Errorf("planned VACUUM = %+v, want to be taken", s)
	}
	reindex := step(t, steps, "REINDEX INDEX CONCURRENTLY", table)
	if !strings.Contains(reindex.Skipped, "allow_disruptive") {
		t.Errorf("REINDEX without opt-in: Skipped = %q, want the allow_disruptive reason", reindex.Skipped)
	}
	dry, err := task.Run(ctx, tasks.Env{Level: tasks.Medium, DryRun: true})
	if err != nil {
		t.Fatalf("dry Run: %v", err)
	}
	noneDone(t, dry.Steps)
	if dry.Verdict != tasks.Skipped {
		t.Errorf("dry run verdict = %q, want %q", dry.Verdict, tasks.Skipped)
	}
	if m := measure(t, dry.Measures, "dead tuples"); m.Before.Median != float64(dead) {
		t.Errorf("dry run measured %v dead tuples, the table has %d", m.Before.Median, dead)
	}
	if got := deadTuples(t, pool, table); got != dead {
		t.Fatalf("after Plan and dry run the table has %d dead tuples, want %d untouched", got, dead)
	}

	// At medium the table is vacuumed; the disruptive REINDEX, a level up,
	// is not.
	res, err := task.Run(ctx, tasks.Env{Level: tasks.Medium})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := step(t, res.Steps, "VACUUM (ANALYZE)", table); !s.Done {
		t.Fatalf("VACUUM step = %+v, want done", s)
	}
	if s := step(t, res.Steps, "REINDEX INDEX CONCURRENTLY", table); s.Done || s.Skipped == "" {
		t.Errorf("REINDEX at medium = %+v, want skipped", s)
	}
	m := measure(t, res.Measures, "dead tuples")
	if m.Before.N < 3 || m.After.N < 3 {
		t.Errorf("samples before %d, after %d; want at least 3 each", m.Before.N, m.After.N)
	}
	if m.Before.Median != float64(dead) || m.After.Median != 0 || m.Verdict != tasks.Improved {
		t.Errorf("dead tuples %v → %v (%s), want %d → 0 (improved)", m.Before.Median, m.After.Median,
			m.Verdict, dead)
	}
	if got := deadTuples(t, pool, table); got != 0 {
		t.Errorf("table has %d dead tuples after the run, want 0", got)
	}
	if res.Verdict != tasks.Improved {
		t.Errorf("task verdict = %q, want improved", res.Verdict)
	}
	sum := tasks.Summary(res)
	if !strings.Contains(sum, "VACUUM (ANALYZE) on table public."+table) || !strings.Contains(sum, "→ 0 rows") {
		t.Errorf("Summary = %q", sum)
	}
	t.Logf("summary: %s", sum)
}

func TestDatabase_PostgresLowLevelSkipsVacuum(t *testing.T) {
	pool := postgres(t)
	table := deadTable(t, pool)
	steps, err := pgTask(t, pool, table).Plan(context.Background(), tasks.Env{Level: tasks.Low})
	if err != nil {
		t.Fatal(err)
	}
	if s := step(t, steps, "VACUUM (ANALYZE)", table); !strings.Contains(s.Skipped, "needs level medium") {
		t.Errorf("VACUUM at low: Skipped = %q, want it to need medium", s.Skipped)
	}
}

func indexSize(t *testing.T, pool *pgxpool.Pool, index string) int64 {
	t.Helper()
	var n int64
	if err := pool.QueryRow(context.Background(), "SELECT pg_relation_size($1::regclass)", index).Scan(&n); err != nil {
		t.Fatalf("size of %s: %v", index, err)
	}
	return n
}

func TestDatabase_PostgresReindexWithOptIn(t *testing.T) {
	pool := postgres(t)
	table := deadTable(t, pool)
	index := table + "_pkey"
	before := indexSize(t, pool, index)

	res, err := pgTask(t, pool, table).Run(context.Background(), tasks.Env{Level: tasks.High, AllowDisruptive: true})
	if err != nil {
		t.Fatal(err)
	}
	if s := step(t, res.Steps, "REINDEX INDEX CONCURRENTLY", index); !s.Done {
		t.Fatalf("REINDEX with opt-in = %+v", s)
	}
	after := indexSize(t, pool, index)
	if after >= before/2 {
		t.Errorf("index is %d bytes after REINDEX, was %d; want it much smaller", after, before)
	}
	t.Logf("index %d → %d bytes; summary: %s", before, after, tasks.Summary(res))
}

func TestDatabase_PostgresUnknownTable(t *testing.T) {
	pool := postgres(t)
	steps, err := pgTask(t, pool, unique("tend_absent_")).Plan(context.Background(), tasks.Env{Level: tasks.High})
	if err != nil {
		t.Fatal(err)
	}
	if s := step(t, steps, "find table", "tend_absent_"); !strings.Contains(s.Skipped, "not among") {
		t.Errorf("missing table = %+v", s)
	}
}

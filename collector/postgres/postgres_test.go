package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/collector/internal/srctest"
)

func pgURL(tb testing.TB) string {
	u := os.Getenv("TEND_TEST_POSTGRES_URL")
	if u == "" {
		tb.Skip("TEND_TEST_POSTGRES_URL is not set; set it to e.g. " +
			"postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run against a real server")
	}
	return u
}

// testDB creates a database for this test alone, so other tests' traffic
// cannot move its statistics, and returns its URL and name.
func testDB(tb testing.TB) (dsn, name string) {
	tb.Helper()
	base := pgURL(tb)
	ctx := context.Background()
	name = fmt.Sprintf("tend_pg_%d", rand.Uint64()%1e12)

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database: %v", err)
	}
	tb.Cleanup(func() {
		admin, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("connect to drop %s: %v", name, err)
			return
		}
		defer admin.Close(ctx)
		if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("drop database: %v", err)
		}
	})

	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("TEND_TEST_POSTGRES_URL must be a URL: %v", err)
	}
	u.Path = "/" + name
	return u.String(), name
}

func connect(tb testing.TB, dsn string) *pgx.Conn {
	tb.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func exec(tb testing.TB, c *pgx.Conn, sql string, args ...any) {
	tb.Helper()
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func newSource(tb testing.TB, dsn string, settings ...string) *Source {
	tb.Helper()
	spec := srctest.Spec(tb, Kind, append([]string{"dsn: " + strconv.Quote(dsn)}, settings...)...)
	src, err := collector.New(spec, collector.Deps{})
	if err != nil {
		tb.Fatalf("new source: %v", err)
	}
	s := src.(*Source)
	tb.Cleanup(func() { s.Close() })
	return s
}

func collect(tb testing.TB, s *Source) []collector.Sample {
	tb.Helper()
	out, err := s.Collect(context.Background())
	if err != nil {
		tb.Fatalf("collect: %v", err)
	}
	return out
}

func value(tb testing.TB, samples []collector.Sample, name, labels string) float64 {
	tb.Helper()
	v, ok := srctest.Value(samples, name, labels)
	if !ok {
		tb.Fatalf("no sample %s{%s}; have %v", name, labels, srctest.Values(samples, name))
	}
	return v
}

type dbStats struct{ commits, rollbacks, read, hit, deadlocks, temp int64 }

// watcher connects to the server's own database, outside the test's, to
// read statistics without adding to them.
func watcher(t *testing.T) *pgx.Conn {
	t.Helper()
	return connect(t, pgURL(t))
}

func readStats(t *testing.T, watch *pgx.Conn, db string) dbStats {
	t.Helper()
	const q = `SELECT xact_commit, xact_rollback, blks_read, blks_hit, deadlocks, temp_bytes
FROM pg_stat_database WHERE datname = $1`
	var st dbStats
	err := watch.QueryRow(context.Background(), q, db).
		Scan(&st.commits, &st.rollbacks, &st.read, &st.hit, &st.deadlocks, &st.temp)
	if err != nil {
		t.Fatalf("read stats: %v", err)
	}
	return st
}

// closeAndWait closes conns and waits until their backends have exited. A
// backend hands its statistics over as it exits, so after this returns
// pg_stat_database holds all the conns did.
func closeAndWait(t *testing.T, watch *pgx.Conn, conns ...*pgx.Conn) {
	t.Helper()
	pids := make([]uint32, len(conns))
	for i, c := range conns {
		pids[i] = c.PgConn().PID()
		c.Close(context.Background())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := watch.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)`, pids).Scan(&n)
		if err != nil {
			t.Fatalf("read activity: %v", err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d backends still running 10s after their connections closed", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCollect_Load(t *testing.T) {
	dsn, db := testDB(t)
	ctx := context.Background()
	watch := watcher(t)
	setup := connect(t, dsn)
	exec(t, setup, `CREATE TABLE small (id int PRIMARY KEY, v int) WITH (autovacuum_enabled = false)`)
	exec(t, setup, `INSERT INTO small SELECT g, 0 FROM generate_series(1, 1000) g`)
	// Larger than a quarter of shared_buffers, so a scan reads it through
	// a small ring and misses the cache every time.
	exec(t, setup, `CREATE UNLOGGED TABLE big AS
SELECT g, repeat('x', 400) AS pad FROM generate_series(1, 90000) g`)

	closeAndWait(t, watch, setup)

	s := newSource(t, dsn, "databases: ["+db+"]")
	before := readStats(t, watch, db)
	start := time.Now()
	collect(t, s)

	// Commits, rollbacks, cache hits, temp files and dead tuples.
	load := connect(t, dsn)
	for i := 1; i <= 100; i++ {
		exec(t, load, `SELECT v FROM small WHERE id = $1`, i)
		exec(t, load, `UPDATE small SET v = v + 1 WHERE id = $1`, i)
	}
	for range 20 {
		tx, err := load.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `UPDATE small SET v = v + 1 WHERE id = 500`); err != nil {
			t.Fatal(err)
		}
		tx.Rollback(ctx)
	}
	exec(t, load, `UPDATE small SET v = v + 1 WHERE id > 100`)
	exec(t, load, `SET work_mem = '64kB'`)
	exec(t, load, `SELECT count(*) FROM (SELECT g FROM generate_series(1, 200000) g ORDER BY g DESC) s`)
	deadlock(t, watch, dsn)
	closeAndWait(t, watch, load)
	after := readStats(t, watch, db)
	if after.commits < before.commits+100 || after.rollbacks < before.rollbacks+20 ||
		after.deadlocks == before.deadlocks || after.temp == before.temp {
		t.Fatalf("the load did not reach the statistics: before %+v, after %+v", before, after)
	}

	hits := collect(t, s)
	elapsed := time.Since(start).Seconds()
	dbl := "database=" + db
	small := dbl + ",table=public.small"
	checks := []struct {
		name, labels string
		scale        float64 // rates are scaled by the time between samples
		ok           func(float64) bool
	}{
		{"commits_per_second", dbl, elapsed, func(v float64) bool { return v >= 100 }},
		{"rollbacks_per_second", dbl, elapsed, func(v float64) bool { return v >= 20 }},
		{"deadlocks_per_second", dbl, elapsed, func(v float64) bool { return v >= 1 }},
		{"temp_bytes_per_second", dbl, elapsed, func(v float64) bool { return v > 0 }},
		{"cache_hit_ratio", dbl, 1, func(v float64) bool { return v > 0.9 }},
		{"database_size_bytes", dbl, 1, func(v float64) bool { return v > 30<<20 }},
		{"dead_tuple_ratio", small, 1, func(v float64) bool { return v >= 0.3 && v < 1 }},
		{"dead_tuples", small, 1, func(v float64) bool { return v >= 500 }},
		{"connections_percent", "", 1, func(v float64) bool { return v > 0 && v <= 100 }},
		{"max_connections", "", 1, func(v float64) bool { return v > 0 }},
		{"replica", "", 1, func(v float64) bool { return v == 0 }},
	}
	for _, c := range checks {
		if v := value(t, hits, c.name, c.labels) * c.scale; !c.ok(v) {
			t.Errorf("%s{%s} (times %.2f): got %v", c.name, c.labels, c.scale, v)
		}
	}
	for _, st := range states {
		value(t, hits, "connections", "state="+st)
	}
	if _, ok := srctest.Value(hits, "replication_lag_seconds", ""); ok {
		t.Errorf("replication_lag_seconds reported on a primary")
	}

	// Misses: scans of the big table read it from outside shared buffers.
	before = readStats(t, watch, db)
	scan := connect(t, dsn)
	for range 3 {
		exec(t, scan, `SELECT count(*) FROM big`)
	}
	closeAndWait(t, watch, scan)
	if after := readStats(t, watch, db); after.read < before.read+3000 {
		t.Fatalf("scans read %d blocks, want 3000 or more", after.read-before.read)
	}
	misses := collect(t, s)
	hitRatio := value(t, hits, "cache_hit_ratio", dbl)
	missRatio := value(t, misses, "cache_hit_ratio", dbl)
	if missRatio >= hitRatio || missRatio > 0.7 {
		t.Errorf("cache_hit_ratio after misses = %.3f, want below %.3f and 0.7", missRatio, hitRatio)
	}
}

// deadlock makes two transactions wait on each other until the server
// cancels one of them.
func deadlock(t *testing.T, watch *pgx.Conn, dsn string) {
	t.Helper()
	ctx := context.Background()
	a, b := connect(t, dsn), connect(t, dsn)
	for _, c := range []*pgx.Conn{a, b} {
		exec(t, c, `SET deadlock_timeout = '50ms'`)
		exec(t, c, `BEGIN`)
	}
	exec(t, a, `UPDATE small SET v = v WHERE id = 1`)
	exec(t, b, `UPDATE small SET v = v WHERE id = 2`)

	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, step := range []struct {
		c  *pgx.Conn
		id int
	}{{a, 2}, {b, 1}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = step.c.Exec(ctx, `UPDATE small SET v = v WHERE id = $1`, step.id)
		}()
	}
	wg.Wait()
	var pgErr *pgconn.PgError
	if !errors.As(errors.Join(errs...), &pgErr) || pgErr.Code != "40P01" {
		t.Fatalf("want one deadlock error, got %v", errs)
	}
	exec(t, a, `ROLLBACK`)
	exec(t, b, `ROLLBACK`)
	closeAndWait(t, watch, a, b)
}

func TestCollect_Activity(t *testing.T) {
	dsn, db := testDB(t)
	ctx := context.Background()
	setup := connect(t, dsn)
	exec(t, setup, `CREATE TABLE locked (id int)`)
	s := newSource(t, dsn, "databases: ["+db+"]")

	// Before: nothing waits, nothing runs, no transaction is open.
	quiet := collect(t, s)
	for _, name := range []string{"waiting_locks", "oldest_transaction_seconds", "longest_query_seconds"} {
		if v := value(t, quiet, name, ""); v > 0.5 {
			t.Errorf("%s = %v before any load", name, v)
		}
	}

	// One session holds a lock in an open transaction; another queries
	// the table and waits for it.
	holder := connect(t, dsn)
	exec(t, holder, `BEGIN`)
	exec(t, holder, `LOCK TABLE locked IN ACCESS EXCLUSIVE MODE`)
	waiter := connect(t, dsn)
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := waiter.Exec(wctx, `SELECT count(*) FROM locked`)
		done <- err
	}()
	defer func() {
		cancel()
		<-done
	}()

	deadline := time.Now().Add(10 * time.Second)
	for {
		got := collect(t, s)
		ok := value(t, got, "waiting_locks", "") >= 1 &&
			value(t, got, "oldest_transaction_seconds", "") >= 0.3 &&
			value(t, got, "longest_query_seconds", "") >= 0.3 &&
			value(t, got, "connections", "state=idle_in_transaction") >= 1 &&
			value(t, got, "connections", "state=active") >= 1
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("activity never showed the lock, the open transaction and the query: %v",
				got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCollect_Recovery(t *testing.T) {
	dsn, _ := testDB(t)
	u, _ := url.Parse(dsn)
	proxy := srctest.Start(t, u.Host)
	const secret = "hunter2-not-logged"
	u.Host = proxy.Addr()
	u.User = url.UserPassword(u.User.Username(), secret)
	s := newSource(t, u.String(), "timeout: 2s")

	collect(t, s)
	proxy.Stop()
	_, err := s.Collect(context.Background())
	if err == nil {
		t.Fatal("collect through a stopped proxy succeeded")
	}
	t.Logf("server gone: %v", err)
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error shows the password: %v", err)
	}
	if !strings.Contains(err.Error(), proxy.Port()) {
		t.Errorf("error does not name the server: %v", err)
	}

	// A dropped connection fails at most the one sample that finds it.
	proxy.Restart()
	if _, err := s.Collect(context.Background()); err != nil {
		if _, err := s.Collect(context.Background()); err != nil {
			t.Fatalf("collect after the server came back: %v", err)
		}
	}
}

// TestCollect_Stalled checks a server that accepts and never answers cannot
// hold a sample past its timeout.
func TestCollect_Stalled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	s := newSource(t, "postgres://tend@"+ln.Addr().String()+"/x?sslmode=disable", "timeout: 200ms")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	_, err = s.Collect(ctx)
	if err == nil {
		t.Fatal("collect from a silent server succeeded")
	}
	t.Logf("silent server: %v", err)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("collect took %v with a 200ms timeout", d)
	}
}

func TestCollect_StatementsNotLoaded(t *testing.T) {
	dsn, _ := testDB(t)
	setup := connect(t, dsn)
	if _, err := setup.Exec(context.Background(), `CREATE EXTENSION pg_stat_statements`); err != nil {
		t.Skipf("pg_stat_statements is not available: %v", err)
	}
	s := newSource(t, dsn)

	// Installed but not in shared_preload_libraries: reading it fails, and
	// the source goes on without statement times.
	var preloaded bool
	err := setup.QueryRow(context.Background(),
		`SELECT current_setting('shared_preload_libraries') LIKE '%pg_stat_statements%'`).Scan(&preloaded)
	if err != nil {
		t.Fatal(err)
	}
	got := collect(t, s)
	n := len(srctest.Values(got, "statement_mean_seconds"))
	if !preloaded && n != 0 {
		t.Errorf("statement times reported without the library loaded: %d", n)
	}
	if preloaded && n == 0 {
		t.Errorf("no statement times with pg_stat_statements loaded")
	}
}

// TestCollect_MissingDatabase checks a misspelt database name is logged
// once, not every sample.
func TestCollect_MissingDatabase(t *testing.T) {
	dsn, _ := testDB(t)
	var logs strings.Builder
	spec := srctest.Spec(t, Kind, "dsn: "+strconv.Quote(dsn), "databases: [no_such_db]")
	src, err := collector.New(spec, collector.Deps{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	s := src.(*Source)
	defer s.Close()
	collect(t, s)
	collect(t, s)
	if n := strings.Count(logs.String(), "no_such_db"); n != 1 {
		t.Errorf("logged the missing database %d times, want once:\n%s", n, logs.String())
	}
}

func TestCollect_Probe(t *testing.T) {
	dsn, _ := testDB(t)
	s := newSource(t, dsn, "probe_query: SELECT pg_sleep(0.05) FROM generate_series(1, 2)")
	if v := value(t, collect(t, s), "probe_seconds", ""); v < 0.1 || v > 2 {
		t.Errorf("probe_seconds = %v, want 0.1 or a little more", v)
	}
	if s.ProbeQuery() == "" {
		t.Errorf("ProbeQuery() is empty")
	}

	bad := newSource(t, dsn, "probe_query: SELECT * FROM no_such_table")
	if _, err := bad.Collect(context.Background()); err == nil {
		t.Errorf("a failing probe query gave no error")
	}
}

func TestNew_Settings(t *testing.T) {
	tests := []struct {
		name     string
		settings []string
		wantErr  string
	}{
		{"valid, server down", []string{`dsn: "postgres://tend:pw@127.0.0.1:1/app"`}, ""},
		{"key=value form", []string{`dsn: "host=127.0.0.1 port=1 dbname=app"`}, ""},
		{"missing dsn", []string{`databases: [app]`}, "dsn: required"},
		{"bad port", []string{`dsn: "postgres://tend:s3cret@127.0.0.1:notaport/app"`}, "dsn: cannot parse"},
		{"negative top", []string{`dsn: "postgres://127.0.0.1/app"`, `top_tables: -1`}, "top_tables"},
		{"zero timeout", []string{`dsn: "postgres://127.0.0.1/app"`, `timeout: 0s`}, "timeout"},
		{"unknown key", []string{`dsn: "postgres://127.0.0.1/app"`, `tables: 3`}, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := srctest.Spec(t, Kind, tt.settings...)
			src, err := collector.New(spec, collector.Deps{})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("new: %v", err)
				}
				if s := src.(*Source); s.pool != nil {
					t.Errorf("new opened a pool")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
}

func TestStateLabel(t *testing.T) {
	for in, want := range map[string]string{
		"active":                        "active",
		"idle in transaction":           "idle_in_transaction",
		"idle in transaction (aborted)": "idle_in_transaction_aborted",
		"fastpath function call":        "fastpath_function_call",
	} {
		if got := stateLabel(in); got != want {
			t.Errorf("stateLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkCollect(b *testing.B) {
	dsn, db := testDB(b)
	setup := connect(b, dsn)
	exec(b, setup, `CREATE TABLE t (id int, v int)`)
	exec(b, setup, `INSERT INTO t SELECT g, 0 FROM generate_series(1, 1000) g`)
	exec(b, setup, `UPDATE t SET v = 1 WHERE id <= 100`)
	s := newSource(b, dsn, "databases: ["+db+"]")
	collect(b, s)

	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

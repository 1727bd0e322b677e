package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

// Kind is the source kind key in the config file.
const Kind = "postgres"

func init() {
	collector.Register(Kind, func(spec config.Source, deps collector.Deps) (collector.Source, error) {
		return New(spec.Settings, deps.Logger)
	})
}

// Source samples one PostgreSQL server. It implements [collector.Source]
// and [collector.Closer]. Collect is meant for one goroutine at a time;
// [Source.DB] and [Source.Close] are safe for concurrent use.
type Source struct {
	set    Settings
	pc     *pgxpool.Config
	target string
	log    *slog.Logger
	rates  *collector.Rates
	now    func() time.Time

	mu     sync.Mutex
	pool   *pgxpool.Pool
	closed bool

	// missing holds configured databases already logged as not found.
	missing map[string]bool

	// noStatements remembers why pg_stat_statements could not be read, so
	// the reason is logged once rather than every sample.
	noStatements string
}

// New checks the settings under node and returns a source that has not
// connected yet. A nil logger discards.
func New(node config.Node, log *slog.Logger) (*Source, error) {
	set, pc, err := parse(node)
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Source{
		set:     set,
		pc:      pc,
		target:  target(pc),
		log:     log,
		rates:   collector.NewRates(),
		now:     time.Now,
		missing: map[string]bool{},
	}, nil
}

// ErrClosed is returned by [Source.DB] and Collect after [Source.Close].
var ErrClosed = errors.New("postgres source closed")

// DB returns the source's connection pool, creating it on first use. The
// pool dials lazily: a server that is down shows as an error from the
// first query, not from DB. Callers must not close the pool; it lives
// until [Source.Close]. Safe for concurrent use.
func (s *Source) DB(ctx context.Context) (*pgxpool.Pool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.pool != nil {
		return s.pool, nil
	}
	pool, err := pgxpool.NewWithConfig(ctx, s.pc.Copy())
	if err != nil {
		return nil, fmt.Errorf("open pool for postgres %s: %w", s.target, err)
	}
	s.pool = pool
	return pool, nil
}

// Close closes the pool, waiting for connections in use to come back.
func (s *Source) Close() error {
	s.mu.Lock()
	pool := s.pool
	s.pool, s.closed = nil, true
	s.mu.Unlock()
	if pool != nil {
		pool.Close()
	}
	return nil
}

// Collect takes one sample of the server. It returns an error, naming the
// server but never its credentials, when the server cannot be reached or a
// statistics query fails; pg_stat_statements missing is not an error.
func (s *Source) Collect(ctx context.Context) ([]collector.Sample, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, s.set.Timeout.D(),
		fmt.Errorf("sample took longer than %s", s.set.Timeout))
	defer cancel()

	pool, err := s.DB(ctx)
	if err != nil {
		return nil, err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %s: %w", s.target, cause(ctx, err))
	}
	defer conn.Release()

	c := &sampler{s: s, conn: conn.Conn(), now: s.now()}
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"connections", c.connections},
		{"activity", c.activity},
		{"databases", c.databases},
		{"tables", c.tables},
		{"locks", c.locks},
		{"replication", c.replication},
	}
	for _, st := range steps {
		if err := st.run(ctx); err != nil {
			return nil, fmt.Errorf("read %s of postgres %s: %w", st.name, s.target, cause(ctx, err))
		}
	}
	if err := c.statements(ctx); err != nil {
		return nil, fmt.Errorf("read statements of postgres %s: %w", s.target, cause(ctx, err))
	}
	if err := c.probe(ctx); err != nil {
		return nil, fmt.Errorf("run probe query on postgres %s: %w", s.target, cause(ctx, err))
	}
	return c.out, nil
}

// ProbeQuery returns the query each sample times, or "" when none is set.
func (s *Source) ProbeQuery() string { return s.set.ProbeQuery }

// cause prefers the timeout's cause to pgx's "context deadline exceeded".
func cause(ctx context.Context, err error) error {
	if c := context.Cause(ctx); c != nil && ctx.Err() != nil && !errors.Is(err, c) {
		return fmt.Errorf("%w (%w)", c, err)
	}
	return err
}

// sampler gathers one sample's values on one connection.
type sampler struct {
	s    *Source
	conn *pgx.Conn
	now  time.Time
	out  []collector.Sample
}

func (c *sampler) add(name string, v float64, unit string, labels ...string) {
	var l map[string]string
	if len(labels) > 0 {
		l = make(map[string]string, len(labels)/2)
		for i := 0; i+1 < len(labels); i += 2 {
			l[labels[i]] = labels[i+1]
		}
	}
	c.out = append(c.out, collector.Sample{Name: name, Value: v, Unit: unit, Labels: l})
}

// rate adds name as the per-second rate of counter v, once a previous value
// is known and the counter did not go back (a stats reset).
func (c *sampler) rate(name string, v float64, unit string, labels ...string) (float64, bool) {
	r, ok := c.s.rates.Rate(name+"\x00"+strings.Join(labels, "\x00"), v, c.now)
	if ok {
		c.add(name, r, unit, labels...)
	}
	return r, ok
}

// dbFilter is the databases setting as a query argument: NULL means all.
func (c *sampler) dbFilter() []string {
	if len(c.s.set.Databases) == 0 {
		return nil
	}
	return c.s.set.Databases
}

// states are always reported, at 0 when no connection is in them, so a
// rule on idle_in_transaction sees a value rather than a gap.
var states = []string{"active", "idle", "idle_in_transaction", "idle_in_transaction_aborted"}

func (c *sampler) connections(ctx context.Context) error {
	const q = `SELECT coalesce(state, 'unknown'), count(*)
FROM pg_stat_activity WHERE backend_type = 'client backend' GROUP BY 1`
	rows, err := c.conn.Query(ctx, q)
	if err != nil {
		return err
	}
	byState := map[string]float64{}
	var total float64
	var state string
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		byState[stateLabel(state)] += float64(n)
		total += float64(n)
		return nil
	})
	if err != nil {
		return err
	}
	for _, st := range states {
		c.add("connections", byState[st], "connections", "state", st)
		delete(byState, st)
	}
	for st, v := range byState {
		c.add("connections", v, "connections", "state", st)
	}

	var limit float64
	err = c.conn.QueryRow(ctx, `SELECT current_setting('max_connections')::float8`).Scan(&limit)
	if err != nil {
		return err
	}
	c.add("max_connections", limit, "connections")
	if limit > 0 {
		c.add("connections_percent", 100*total/limit, "percent")
	}
	return nil
}

// stateLabel turns "idle in transaction (aborted)" into
// "idle_in_transaction_aborted".
func stateLabel(s string) string {
	s = strings.NewReplacer("(", "", ")", "").Replace(s)
	return strings.Join(strings.Fields(s), "_")
}

func (c *sampler) activity(ctx context.Context) error {
	const q = `SELECT
  coalesce(extract(epoch FROM max(now() - xact_start)), 0)::float8,
  coalesce(extract(epoch FROM max(now() - query_start) FILTER (WHERE state = 'active')), 0)::float8
FROM pg_stat_activity
WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
  AND ($1::text[] IS NULL OR datname = ANY($1))`
	var oldest, longest float64
	if err := c.conn.QueryRow(ctx, q, c.dbFilter()).Scan(&oldest, &longest); err != nil {
		return err
	}
	c.add("oldest_transaction_seconds", max(oldest, 0), "seconds")
	c.add("longest_query_seconds", max(longest, 0), "seconds")
	return nil
}

func (c *sampler) databases(ctx context.Context) error {
	const q = `SELECT d.datname, s.xact_commit, s.xact_rollback, s.blks_read, s.blks_hit,
  s.deadlocks, s.temp_bytes, pg_database_size(d.oid)
FROM pg_database d JOIN pg_stat_database s ON s.datid = d.oid
WHERE d.datallowconn AND NOT d.datistemplate
  AND ($1::text[] IS NULL OR d.datname = ANY($1))
ORDER BY 1`
	rows, err := c.conn.Query(ctx, q, c.dbFilter())
	if err != nil {
		return err
	}
	var (
		db                                           string
		commits, rollbacks, read, hit, dl, tmp, size int64
	)
	seen := map[string]bool{}
	_, err = pgx.ForEachRow(rows, []any{&db, &commits, &rollbacks, &read, &hit, &dl, &tmp, &size},
		func() error {
			seen[db] = true
			c.rate("commits_per_second", float64(commits), "commits/s", "database", db)
			c.rate("rollbacks_per_second", float64(rollbacks), "rollbacks/s", "database", db)
			c.rate("deadlocks_per_second", float64(dl), "deadlocks/s", "database", db)
			c.rate("temp_bytes_per_second", float64(tmp), "bytes/s", "database", db)
			c.add("database_size_bytes", float64(size), "bytes", "database", db)

			// The ratio over the last interval, not since the stats were
			// reset: a cache going cold must show within one sample.
			hr, ok1 := c.s.rates.Rate("blks_hit\x00"+db, float64(hit), c.now)
			rr, ok2 := c.s.rates.Rate("blks_read\x00"+db, float64(read), c.now)
			if ok1 && ok2 && hr+rr > 0 {
				c.add("cache_hit_ratio", hr/(hr+rr), "ratio", "database", db)
			}
			return nil
		})
	if err != nil {
		return err
	}

	// A misspelt name would otherwise just report nothing.
	for _, name := range c.s.set.Databases {
		if !seen[name] && !c.s.missing[name] {
			c.s.log.Warn("database not found or not accepting connections", "database", name)
		}
		c.s.missing[name] = !seen[name]
	}
	return nil
}

func (c *sampler) tables(ctx context.Context) error {
	if c.s.set.TopTables == 0 {
		return nil
	}
	const q = `SELECT current_database(), schemaname || '.' || relname, n_live_tup, n_dead_tup
FROM pg_stat_user_tables
WHERE n_dead_tup > 0
ORDER BY n_dead_tup::float8 / (n_live_tup + n_dead_tup) DESC, n_dead_tup DESC
LIMIT $1`
	rows, err := c.conn.Query(ctx, q, c.s.set.TopTables)
	if err != nil {
		return err
	}
	var db, table string
	var live, dead int64
	_, err = pgx.ForEachRow(rows, []any{&db, &table, &live, &dead}, func() error {
		c.add("dead_tuple_ratio", float64(dead)/float64(live+dead), "ratio",
			"database", db, "table", table)
		c.add("dead_tuples", float64(dead), "rows", "database", db, "table", table)
		return nil
	})
	return err
}

func (c *sampler) locks(ctx context.Context) error {
	var n int64
	if err := c.conn.QueryRow(ctx, `SELECT count(*) FROM pg_locks WHERE NOT granted`).Scan(&n); err != nil {
		return err
	}
	c.add("waiting_locks", float64(n), "locks")
	return nil
}

func (c *sampler) replication(ctx context.Context) error {
	// A replica that has replayed all it received is not behind, however
	// long ago the primary last wrote.
	const q = `SELECT pg_is_in_recovery(),
  CASE WHEN NOT pg_is_in_recovery() THEN NULL
       WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
       ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp()) END::float8`
	var replica bool
	var lag *float64
	if err := c.conn.QueryRow(ctx, q).Scan(&replica, &lag); err != nil {
		return err
	}
	c.add("replica", b2f(replica), "bool")
	if lag != nil {
		c.add("replication_lag_seconds", max(*lag, 0), "seconds")
	}
	return nil
}

func (c *sampler) probe(ctx context.Context) error {
	if c.s.set.ProbeQuery == "" {
		return nil
	}
	start := time.Now()
	rows, err := c.conn.Query(ctx, c.s.set.ProbeQuery)
	if err != nil {
		return err
	}
	for rows.Next() { // only the time to read every row matters
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	c.add("probe_seconds", time.Since(start).Seconds(), "seconds")
	return nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// statements reports the mean time of the statements with the highest
// total time. The extension may be absent, installed but not preloaded, or
// too old for these columns: each is logged once at debug and skipped.
func (c *sampler) statements(ctx context.Context) error {
	if c.s.set.TopStatements == 0 {
		return nil
	}
	var schema string
	err := c.conn.QueryRow(ctx, `SELECT n.nspname FROM pg_extension e
JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_stat_statements'`).Scan(&schema)
	if errors.Is(err, pgx.ErrNoRows) {
		c.skipStatements("pg_stat_statements is not installed")
		return nil
	}
	if err != nil {
		return err
	}

	q := `SELECT queryid::text, left(regexp_replace(query, '\s+', ' ', 'g'), 80),
  mean_exec_time / 1000
FROM ` + pgx.Identifier{schema, "pg_stat_statements"}.Sanitize() + `
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND queryid IS NOT NULL
ORDER BY total_exec_time DESC
LIMIT $1`
	rows, err := c.conn.Query(ctx, q, c.s.set.TopStatements)
	if err != nil {
		return c.statementsFailed(ctx, err)
	}
	var id, text string
	var mean float64
	_, err = pgx.ForEachRow(rows, []any{&id, &text, &mean}, func() error {
		c.add("statement_mean_seconds", mean, "seconds", "queryid", id, "query", text)
		return nil
	})
	if err != nil {
		return c.statementsFailed(ctx, err)
	}
	c.s.noStatements = ""
	return nil
}

// statementsFailed skips a failed read of pg_stat_statements unless the
// sample's time ran out or the connection broke, which the caller reports.
func (c *sampler) statementsFailed(ctx context.Context, err error) error {
	if ctx.Err() != nil || c.conn.IsClosed() {
		return err
	}
	c.skipStatements(err.Error())
	return nil
}

func (c *sampler) skipStatements(reason string) {
	if c.s.noStatements == reason {
		return
	}
	c.s.noStatements = reason
	c.s.log.Debug("skip statement times", "reason", reason)
}

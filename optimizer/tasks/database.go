package tasks

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tend-dev/tend/events"
)

// database tends PostgreSQL and SQLite through their sources.
type database struct {
	s        DatabaseSettings
	pgName   string
	pg       PostgresSource
	liteName string
	lite     SQLiteSource
	samp     sampling
}

func (d *database) Name() string { return "database" }

// Plan implements [Task].
func (d *database) Plan(ctx context.Context, env Env) ([]events.Step, error) {
	p, cleanup, err := d.prepare(ctx, env)
	defer cleanup()
	if err != nil {
		return nil, err
	}
	return p.steps(env), nil
}

// Run implements [Task].
func (d *database) Run(ctx context.Context, env Env) (events.TaskResult, error) {
	p, cleanup, err := d.prepare(ctx, env)
	defer cleanup()
	if err != nil {
		return failedResult(d.Name(), err), err
	}
	return execute(ctx, d.Name(), env, d.samp, p), nil
}

// prepare plans both backends. A backend that cannot be reached becomes a
// failed step; the task fails only when no backend can be reached.
func (d *database) prepare(ctx context.Context, env Env) (plan, func(), error) {
	var p plan
	var cleanups []func()
	cleanup := func() {
		for _, c := range cleanups {
			c()
		}
	}
	var errs []error
	if d.pg != nil {
		pp, err := d.planPostgres(ctx)
		if err != nil {
			errs = append(errs, err)
			p.notes = append(p.notes, events.Step{Name: "connect", Target: "postgres " + d.pgName,
				Error: err.Error()})
		} else {
			p = merge(p, pp)
		}
	}
	if d.lite != nil {
		lp, c, err := d.planSQLite(ctx)
		cleanups = append(cleanups, c)
		if err != nil {
			errs = append(errs, err)
			p.notes = append(p.notes, events.Step{Name: "open", Target: "sqlite " + d.liteName,
				Error: err.Error()})
		} else {
			p = merge(p, lp)
		}
	}
	if len(p.actions) == 0 && len(p.meters) == 0 && len(errs) > 0 {
		return p, cleanup, errors.Join(errs...)
	}
	return p, cleanup, nil
}

func merge(a, b plan) plan {
	a.actions = append(a.actions, b.actions...)
	a.meters = append(a.meters, b.meters...)
	a.notes = append(a.notes, b.notes...)
	a.recs = append(a.recs, b.recs...)
	return a
}

// pgTable is one row of pg_stat_user_tables.
type pgTable struct {
	relid      uint32
	schema     string
	name       string
	live, dead int64
	modified   int64
	seqScan    int64
	seqRead    int64
	idxScan    int64
}

func (t pgTable) ident() string { return pgx.Identifier{t.schema, t.name}.Sanitize() }
func (t pgTable) label() string { return t.schema + "." + t.name }

// wanted reports whether the table is in the configured list (or the list
// is empty).
func (d *database) wanted(t pgTable) bool {
	if len(d.s.Tables) == 0 {
		return true
	}
	return slices.ContainsFunc(d.s.Tables, func(w string) bool {
		return w == t.name || w == t.label()
	})
}

func (d *database) planPostgres(ctx context.Context) (plan, error) {
	var p plan
	pool, err := d.pg.DB(ctx)
	if err != nil {
		return p, fmt.Errorf("connect postgres %s: %w", d.pgName, err)
	}
	rows, err := pool.Query(ctx, `SELECT relid, schemaname, relname,
		coalesce(n_live_tup, 0), coalesce(n_dead_tup, 0), coalesce(n_mod_since_analyze, 0),
		coalesce(seq_scan, 0), coalesce(seq_tup_read, 0), coalesce(idx_scan, 0)
		FROM pg_stat_user_tables ORDER BY schemaname, relname`)
	if err != nil {
		return p, fmt.Errorf("list tables of postgres %s: %w", d.pgName, err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgTable, error) {
		var t pgTable
		err := r.Scan(&t.relid, &t.schema, &t.name, &t.live, &t.dead, &t.modified,
			&t.seqScan, &t.seqRead, &t.idxScan)
		return t, err
	})
	if err != nil {
		return p, fmt.Errorf("list tables of postgres %s: %w", d.pgName, err)
	}
	var tables []pgTable
	var relids []uint32
	for _, t := range all {
		if d.wanted(t) {
			tables = append(tables, t)
			relids = append(relids, t.relid)
		}
	}

	for _, w := range d.s.Tables {
		if !slices.ContainsFunc(tables, func(t pgTable) bool { return w == t.name || w == t.label() }) {
			p.notes = append(p.notes, events.Step{Name: "find table", Target: "table " + w,
				Skipped: "not among postgres " + d.pgName + "'s user tables"})
		}
	}

	// A table due for VACUUM (ANALYZE) at medium needs no separate ANALYZE
	// there; at low it still gets one.
	vacuum := map[uint32]bool{}
	for _, t := range tables {
		total := t.live + t.dead
		if t.dead >= d.s.MinDeadTuples && total > 0 &&
			float64(t.dead)/float64(total) >= d.s.DeadTupleRatio {
			vacuum[t.relid] = true
		}
	}
	for _, t := range tables {
		if t.modified < d.s.MinChanges || float64(t.modified) < d.s.AnalyzeRatio*float64(t.live) {
			continue
		}
		a := action{name: "ANALYZE", target: "table " + t.label(), level: Low,
			do: pgExec(pool, "ANALYZE "+t.ident())}
		if vacuum[t.relid] {
			a.coveredAbove, a.coveredBy = Low, "VACUUM (ANALYZE)"
		}
		p.actions = append(p.actions, a)
	}
	for _, t := range tables {
		if vacuum[t.relid] {
			p.actions = append(p.actions, action{name: "VACUUM (ANALYZE)", target: "table " + t.label(),
				level: Medium, do: pgExec(pool, "VACUUM (ANALYZE) "+t.ident())})
		}
	}

	bloated, err := d.bloatedIndexes(ctx, pool, relids)
	if err != nil {
		p.notes = append(p.notes, events.Step{Name: "estimate index bloat", Target: "postgres " + d.pgName,
			Error: err.Error()})
	}
	for _, ix := range bloated {
		p.actions = append(p.actions, action{
			name: "REINDEX INDEX CONCURRENTLY",
			target: fmt.Sprintf("index %s (%s, about %.0f%% wasted)",
				ix.label, bytesText(ix.bytes), ix.bloat*100),
			level: High,
			disrupts: "builds a second copy of the index, adding disk use and I/O," +
				" and waits for running transactions",
			do: pgExec(pool, "REINDEX INDEX CONCURRENTLY "+ix.ident),
		})
	}

	p.recs = append(p.recs, d.pgRecommendations(ctx, pool, tables)...)

	// VACUUM and ANALYZE write their counts to the shared statistics at
	// once, and each query here is its own transaction, so no snapshot is
	// stale. Changes made by other sessions reach the statistics when those
	// sessions flush (within about a second on PostgreSQL 15): noise the
	// samples' spread shows.
	label := "postgres " + d.pgName
	p.meters = append(p.meters,
		meter{name: label + " dead tuples", unit: "rows", lowerIsBetter: true,
			read: pgSum(pool, `SELECT coalesce(sum(n_dead_tup), 0)::float8
				FROM pg_stat_user_tables WHERE relid = ANY($1)`, relids)},
		meter{name: label + " table size", unit: "bytes", lowerIsBetter: true,
			read: pgSum(pool, `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::float8
				FROM pg_class c WHERE c.oid = ANY($1)`, relids)},
	)
	probe := d.s.ProbeQuery
	if qp, ok := d.pg.(queryProber); ok && probe == "" {
		probe = qp.ProbeQuery()
	}
	if probe != "" {
		p.meters = append(p.meters, meter{name: label + " probe query", unit: "ms", lowerIsBetter: true,
			read: func(ctx context.Context) (float64, error) {
				start := time.Now()
				rows, err := pool.Query(ctx, probe)
				if err != nil {
					return 0, err
				}
				for rows.Next() {
				}
				rows.Close()
				if err := rows.Err(); err != nil {
					return 0, err
				}
				return ms(time.Since(start)), nil
			}})
	}
	return p, nil
}

func pgExec(pool *pgxpool.Pool, sql string) func(context.Context) error {
	return func(ctx context.Context) error {
		_, err := pool.Exec(ctx, sql)
		return err
	}
}

func pgSum(pool *pgxpool.Pool, sql string, relids []uint32) func(context.Context) (float64, error) {
	return func(ctx context.Context) (float64, error) {
		var v float64
		if err := pool.QueryRow(ctx, sql, relids).Scan(&v); err != nil {
			return 0, err
		}
		return v, nil
	}
}

type pgIndex struct {
	ident string
	label string
	bytes int64
	bloat float64
}

// bloatedIndexes estimates each btree index's wasted share from its size and
// the size its rows should need: reltuples times (8-byte tuple header + the
// columns' average width, 8-aligned, + a 4-byte line pointer), at 90% leaf
// fill on pages less their headers. Expression indexes and indexes whose
// columns have no statistics yet are left out, since their width is unknown.
func (d *database) bloatedIndexes(ctx context.Context, pool *pgxpool.Pool, relids []uint32) ([]pgIndex, error) {
	rows, err := pool.Query(ctx, `SELECT n.nspname, ci.relname, pg_relation_size(ci.oid),
		ci.reltuples::float8, current_setting('block_size')::int,
		(SELECT coalesce(sum(s.avg_width), 0)::int FROM pg_attribute a
			JOIN pg_stats s ON s.schemaname = n.nspname AND s.tablename = ct.relname
				AND s.attname = a.attname
			WHERE a.attrelid = ct.oid AND a.attnum = ANY(i.indkey::int2[])),
		(SELECT count(*) FROM pg_attribute a
			WHERE a.attrelid = ct.oid AND a.attnum = ANY(i.indkey::int2[]))::int,
		(SELECT count(*) FROM pg_stats s
			JOIN pg_attribute a ON s.attname = a.attname
			WHERE s.schemaname = n.nspname AND s.tablename = ct.relname
				AND a.attrelid = ct.oid AND a.attnum = ANY(i.indkey::int2[]))::int
		FROM pg_index i
		JOIN pg_class ci ON ci.oid = i.indexrelid
		JOIN pg_class ct ON ct.oid = i.indrelid
		JOIN pg_namespace n ON n.oid = ci.relnamespace
		JOIN pg_am am ON am.oid = ci.relam
		WHERE am.amname = 'btree' AND i.indexprs IS NULL AND i.indisvalid
			AND ct.oid = ANY($1) AND pg_relation_size(ci.oid) >= $2`, relids, d.s.MinIndexBytes)
	if err != nil {
		return nil, fmt.Errorf("estimate index bloat: %w", err)
	}
	defer rows.Close()
	var out []pgIndex
	for rows.Next() {
		var schema, name string
		var size int64
		var tuples float64
		var block, width, cols, withStats int
		if err := rows.Scan(&schema, &name, &size, &tuples, &block, &width, &cols, &withStats); err != nil {
			return nil, fmt.Errorf("estimate index bloat: %w", err)
		}
		if tuples <= 0 || cols == 0 || withStats < cols || block <= 0 {
			continue
		}
		tuple := 8 + align8(width) + 4
		usable := float64(block-24-16) * 0.9
		expected := (math.Ceil(tuples*float64(tuple)/usable) + 1) * float64(block)
		bloat := 1 - expected/float64(size)
		if bloat >= d.s.IndexBloatRatio {
			out = append(out, pgIndex{
				ident: pgx.Identifier{schema, name}.Sanitize(),
				label: schema + "." + name, bytes: size, bloat: bloat,
			})
		}
	}
	return out, rows.Err()
}

func align8(n int) int { return (n + 7) &^ 7 }

// pgRecommendations reports slow statements (when pg_stat_statements is
// installed) and tables read mostly by sequential scans, with the figures.
func (d *database) pgRecommendations(ctx context.Context, pool *pgxpool.Pool, tables []pgTable) []string {
	var out []string
	for _, t := range tables {
		if t.seqScan >= 100 && t.live >= 10000 && t.seqScan > 10*t.idxScan {
			out = append(out, fmt.Sprintf("table %s: %s sequential scans read %s rows, against %s index scans;"+
				" an index on its filtered columns may help", t.label(), thousands(float64(t.seqScan)),
				thousands(float64(t.seqRead)), thousands(float64(t.idxScan))))
		}
	}

	var present bool
	err := pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_extension
		WHERE extname = 'pg_stat_statements')`).Scan(&present)
	if err != nil || !present {
		return out
	}
	rows, err := pool.Query(ctx, `SELECT left(regexp_replace(query, '\s+', ' ', 'g'), 120), calls,
		mean_exec_time FROM pg_stat_statements
		WHERE calls >= 5 AND mean_exec_time >= $1
		ORDER BY mean_exec_time * calls DESC LIMIT 5`, d.s.SlowQueryMs)
	if err != nil {
		// The extension exists but is not preloaded: nothing to read.
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var q string
		var calls int64
		var mean float64
		if rows.Scan(&q, &calls, &mean) != nil {
			break
		}
		out = append(out, fmt.Sprintf("slow statement, mean %.1f ms over %s calls: %s; check its plan with"+
			" EXPLAIN (ANALYZE, BUFFERS)", mean, thousands(float64(calls)), q))
	}
	return out
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// bytesText formats a byte count with a binary unit.
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// thousands formats v rounded to a whole number with comma separators, or
// with up to two decimals when it is small and not whole.
func thousands(v float64) string {
	if math.Abs(v) < 100 && v != math.Trunc(v) {
		return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	}
	s := fmt.Sprintf("%.0f", math.Abs(v))
	var b strings.Builder
	if v < 0 && s != "0" {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

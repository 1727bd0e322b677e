package tasks

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver
)

// sqliteDSN returns a URI for the database file at path; readOnly opens it
// so that nothing, not even a missing file, is created or written.
func sqliteDSN(path string, readOnly bool) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", path, err)
	}
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	if readOnly {
		q.Set("mode", "ro")
	}
	u := url.URL{Scheme: "file", Path: abs, RawQuery: q.Encode()}
	return u.String(), nil
}

func (d *database) planSQLite(ctx context.Context) (plan, func(), error) {
	var p plan
	none := func() {}
	path := d.lite.Path()
	label := "sqlite " + d.liteName
	if _, err := os.Stat(path); err != nil {
		return p, none, fmt.Errorf("%w: sqlite %s: %w", ErrPrecondition, d.liteName, err)
	}
	roDSN, err := sqliteDSN(path, true)
	if err != nil {
		return p, none, err
	}
	ro, err := sql.Open("sqlite", roDSN)
	if err != nil {
		return p, none, fmt.Errorf("open sqlite %s: %w", d.liteName, err)
	}
	ro.SetMaxOpenConns(1)

	var mode string
	if err := ro.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		ro.Close()
		return p, none, fmt.Errorf("read journal mode of sqlite %s: %w", d.liteName, err)
	}

	// Writes go through their own connection, opened only when a step runs,
	// so that planning and dry runs cannot write.
	var rw *sql.DB
	cleanup := func() {
		ro.Close()
		if rw != nil {
			rw.Close()
		}
	}
	write := func(stmt string) func(context.Context) error {
		return func(ctx context.Context) error {
			if rw == nil {
				dsn, err := sqliteDSN(path, false)
				if err != nil {
					return err
				}
				if rw, err = sql.Open("sqlite", dsn); err != nil {
					return fmt.Errorf("open sqlite %s: %w", d.liteName, err)
				}
				rw.SetMaxOpenConns(1)
			}
			rows, err := rw.QueryContext(ctx, stmt)
			if err != nil {
				return err
			}
			for rows.Next() {
			}
			rows.Close()
			return rows.Err()
		}
	}

	file := "file " + path
	checkpoint := action{name: "PRAGMA wal_checkpoint(TRUNCATE)", target: file, level: Medium,
		do: write("PRAGMA wal_checkpoint(TRUNCATE)")}
	if !strings.EqualFold(mode, "wal") {
		checkpoint.unavailable = "journal mode is " + mode + ", not wal: no log to checkpoint"
	}
	p.actions = []action{
		{name: "PRAGMA optimize", target: file, level: Low, do: write("PRAGMA optimize")},
		{name: "ANALYZE", target: file, level: Medium, do: write("ANALYZE")},
		checkpoint,
		{name: "VACUUM", target: file, level: High,
			disrupts: "rewrites the whole file, blocking writers until it ends",
			do:       write("VACUUM")},
	}

	p.meters = []meter{
		{name: label + " file size", unit: "bytes", lowerIsBetter: true,
			read: func(context.Context) (float64, error) {
				var total int64
				for _, f := range []string{path, path + "-wal"} {
					fi, err := os.Stat(f)
					if err != nil {
						if os.IsNotExist(err) && f != path {
							continue
						}
						return 0, err
					}
					total += fi.Size()
				}
				return float64(total), nil
			}},
		{name: label + " free pages", unit: "pages", lowerIsBetter: true,
			read: func(ctx context.Context) (float64, error) {
				var n float64
				err := ro.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&n)
				return n, err
			}},
	}
	if q := d.lite.ProbeQuery(); q != "" {
		p.meters = append(p.meters, meter{name: label + " probe query", unit: "ms", lowerIsBetter: true,
			read: func(ctx context.Context) (float64, error) {
				start := time.Now()
				rows, err := ro.QueryContext(ctx, q)
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
	var free, pages int64
	if ro.QueryRowContext(ctx, "PRAGMA freelist_count").Scan(&free) == nil &&
		ro.QueryRowContext(ctx, "PRAGMA page_count").Scan(&pages) == nil && pages > 0 &&
		float64(free)/float64(pages) >= 0.25 {
		p.recs = append(p.recs, fmt.Sprintf("%s: %s of %s pages are free (%.0f%%); VACUUM at level high"+
			" returns them to the file system", label, thousands(float64(free)), thousands(float64(pages)),
			100*float64(free)/float64(pages)))
	}
	return p, cleanup, nil
}

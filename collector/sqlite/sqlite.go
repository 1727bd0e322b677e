package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

// Kind is the source kind key in the config file.
const Kind = "sqlite"

// DefaultProbeQuery reads the schema, which touches the file's first page.
const DefaultProbeQuery = "SELECT count(*) FROM sqlite_master"

// Settings are the keys under a source's `sqlite:`.
type Settings struct {
	// Path of the database file. Required.
	Path string `yaml:"path"`
	// ProbeQuery is timed each sample, all rows read. The connection is
	// read-only, so a statement that writes fails. Default: a count of the
	// schema's objects.
	ProbeQuery string `yaml:"probe_query"`
	// BusyTimeout is how long a read waits on a writer's lock. Default 1s.
	BusyTimeout config.Duration `yaml:"busy_timeout" default:"1s"`
}

func init() {
	collector.Register(Kind, func(spec config.Source, _ collector.Deps) (collector.Source, error) {
		return New(spec.Settings)
	})
}

// Source samples one SQLite file. It implements [collector.Source] and
// [collector.Closer]. Collect is meant for one goroutine at a time; Path
// and ProbeQuery are safe for concurrent use.
type Source struct {
	set Settings
	dsn string
	db  *sql.DB
}

// New checks the settings under node and returns a source that has not
// opened the file yet.
func New(node config.Node) (*Source, error) {
	var set Settings
	if err := node.Decode(&set); err != nil {
		return nil, err
	}
	if set.Path == "" {
		return nil, node.Errorf("path", "required: the database file, such as /var/lib/app/app.db")
	}
	if set.BusyTimeout < 0 {
		return nil, node.Errorf("busy_timeout", "must not be negative")
	}
	set.ProbeQuery = strings.TrimSpace(set.ProbeQuery)
	if set.ProbeQuery == "" {
		set.ProbeQuery = DefaultProbeQuery
	}
	abs, err := filepath.Abs(set.Path)
	if err != nil {
		return nil, node.Errorf("path", "%v", err)
	}
	set.Path = abs

	// mode=ro: never create or write the file; query_only: refuse writes
	// even where SQLite would allow them on a read-only handle.
	q := url.Values{}
	q.Set("mode", "ro")
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", set.BusyTimeout.D().Milliseconds()))
	q.Add("_pragma", "query_only(1)")
	dsn := "file:" + (&url.URL{Path: abs}).EscapedPath() + "?" + q.Encode()
	return &Source{set: set, dsn: dsn}, nil
}

// Path returns the database file's absolute path.
func (s *Source) Path() string { return s.set.Path }

// ProbeQuery returns the query each sample times.
func (s *Source) ProbeQuery() string { return s.set.ProbeQuery }

// Close closes the read-only connection, if open.
func (s *Source) Close() error {
	if s.db == nil {
		return nil
	}
	return s.db.Close()
}

// Collect takes one sample of the file. It returns an error when the file
// is missing or unreadable, or the probe query fails.
func (s *Source) Collect(ctx context.Context) ([]collector.Sample, error) {
	fi, err := os.Stat(s.set.Path)
	if err != nil {
		// The file may come back as a new one: do not keep reading the
		// old one through an open handle.
		s.reset()
		return nil, fmt.Errorf("stat sqlite database: %w", err)
	}
	var wal int64
	switch wi, err := os.Stat(s.set.Path + "-wal"); {
	case err == nil:
		wal = wi.Size()
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("stat sqlite wal: %w", err)
	}

	db := s.open()
	var pages, free, pageSize int64
	err = db.QueryRowContext(ctx,
		`SELECT p.page_count, f.freelist_count, s.page_size
FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s`).
		Scan(&pages, &free, &pageSize)
	if err != nil {
		s.reset()
		return nil, fmt.Errorf("read pages of %s: %w", s.set.Path, err)
	}
	probe, err := s.probe(ctx, db)
	if err != nil {
		s.reset()
		return nil, fmt.Errorf("run probe query on %s: %w", s.set.Path, err)
	}

	ratio := 0.0
	if pages > 0 {
		ratio = float64(free) / float64(pages)
	}
	return []collector.Sample{
		{Name: "file_size_bytes", Value: float64(fi.Size()), Unit: "bytes"},
		{Name: "wal_size_bytes", Value: float64(wal), Unit: "bytes"},
		{Name: "page_count", Value: float64(pages), Unit: "pages"},
		{Name: "page_size_bytes", Value: float64(pageSize), Unit: "bytes"},
		{Name: "freelist_pages", Value: float64(free), Unit: "pages"},
		{Name: "freelist_ratio", Value: ratio, Unit: "ratio"},
		{Name: "probe_seconds", Value: probe.Seconds(), Unit: "seconds"},
	}, nil
}

// open returns the connection pool, made on first use. sql.Open does not
// touch the file; the first query does.
func (s *Source) open() *sql.DB {
	if s.db == nil {
		s.db, _ = sql.Open("sqlite", s.dsn) // fails only for an unknown driver
		s.db.SetMaxOpenConns(1)
		// A file replaced on disk (a restore) is picked up within a minute.
		s.db.SetConnMaxLifetime(time.Minute)
	}
	return s.db
}

// reset closes the connection so the next sample opens the file afresh.
func (s *Source) reset() {
	if s.db != nil {
		s.db.Close()
		s.db = nil
	}
}

// probe runs the probe query and reads every row.
func (s *Source) probe(ctx context.Context, db *sql.DB) (time.Duration, error) {
	start := time.Now()
	rows, err := db.QueryContext(ctx, s.set.ProbeQuery)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	for rows.Next() { // only the time to read every row matters
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

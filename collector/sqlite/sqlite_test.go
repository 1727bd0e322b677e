package sqlite

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/collector/internal/srctest"
)

func newSource(tb testing.TB, settings ...string) *Source {
	tb.Helper()
	src, err := collector.New(srctest.Spec(tb, Kind, settings...), collector.Deps{})
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

func value(tb testing.TB, samples []collector.Sample, name string) float64 {
	tb.Helper()
	v, ok := srctest.Value(samples, name, "")
	if !ok {
		tb.Fatalf("no sample %s in %v", name, samples)
	}
	return v
}

// writer opens path read-write, as the application owning it would.
func writer(tb testing.TB, path string, stmts ...string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("sqlite", path)
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	for _, st := range stmts {
		if _, err := db.Exec(st); err != nil {
			tb.Fatalf("%s: %v", st, err)
		}
	}
	return db
}

func TestCollect_Load(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	w := writer(t, path,
		`PRAGMA journal_mode = WAL`,
		`CREATE TABLE items (id INTEGER PRIMARY KEY, pad TEXT)`,
		`PRAGMA wal_checkpoint(TRUNCATE)`,
	)
	s := newSource(t, "path: "+path, "probe_query: SELECT count(*) FROM items")
	before := collect(t, s)
	if v := value(t, before, "wal_size_bytes"); v != 0 {
		t.Errorf("wal_size_bytes after a truncating checkpoint = %v", v)
	}

	// Grow the file, then free most of it: deleted pages go to the free
	// list (auto_vacuum is off), and the writes sit in the WAL until a
	// checkpoint.
	pad := strings.Repeat("x", 1000)
	tx, err := w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2000 {
		if _, err := tx.Exec(`INSERT INTO items (pad) VALUES (?)`, pad+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`PRAGMA wal_checkpoint(PASSIVE)`); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Exec(`DELETE FROM items WHERE id > 100`); err != nil {
		t.Fatal(err)
	}

	after := collect(t, s)
	checks := []struct {
		name string
		ok   func(before, after float64) bool
	}{
		{"file_size_bytes", func(b, a float64) bool { return a > b && a >= 2e6 }},
		{"wal_size_bytes", func(b, a float64) bool { return a > 0 }},
		{"page_count", func(b, a float64) bool { return a > b }},
		{"freelist_pages", func(b, a float64) bool { return a > b }},
		{"freelist_ratio", func(b, a float64) bool { return b == 0 && a > 0.5 && a < 1 }},
		{"page_size_bytes", func(b, a float64) bool { return a == b && a >= 512 }},
		{"probe_seconds", func(b, a float64) bool { return a > 0 && a < 1 }},
	}
	for _, c := range checks {
		b, a := value(t, before, c.name), value(t, after, c.name)
		if !c.ok(b, a) {
			t.Errorf("%s: before %v, after %v", c.name, b, a)
		}
	}
}

func TestCollect_Recovery(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	s := newSource(t, "path: "+path)

	// Missing: an error, and the file is not created by the check.
	if _, err := s.Collect(context.Background()); err == nil {
		t.Fatal("collect of a missing file succeeded")
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("collect created the database file")
	}

	w := writer(t, path, `CREATE TABLE a (x)`)
	got := collect(t, s)
	if v := value(t, got, "page_count"); v < 2 {
		t.Errorf("page_count = %v", v)
	}

	// Replaced by another file: the next sample reads the new one.
	w.Close()
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Collect(context.Background()); err == nil {
		t.Fatal("collect of a removed file succeeded")
	}
	writer(t, path, `CREATE TABLE a (x)`, `CREATE TABLE b (x)`, `CREATE TABLE c (x)`)
	if v := value(t, collect(t, s), "page_count"); v < 4 {
		t.Errorf("page_count of the new file = %v, want 4 or more", v)
	}
}

func TestCollect_ProbeCannotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	w := writer(t, path, `CREATE TABLE a (x)`, `INSERT INTO a VALUES (1)`)
	s := newSource(t, "path: "+path, "probe_query: DELETE FROM a")

	if _, err := s.Collect(context.Background()); err == nil {
		t.Error("a writing probe query succeeded")
	}
	var n int
	if err := w.QueryRow(`SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows after the probe = %d, %v; want 1", n, err)
	}
}

func TestCollect_Canceled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "app.db")
	writer(t, path, `CREATE TABLE a (x)`)
	// A query that runs for minutes unless interrupted.
	s := newSource(t, "path: "+path, "probe_query: "+
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n")

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := s.Collect(ctx); err == nil {
		t.Fatal("an endless probe succeeded")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("collect took %v with a 200ms deadline", d)
	}
}

func TestNew_Settings(t *testing.T) {
	s := newSource(t, "path: app.db")
	if !filepath.IsAbs(s.Path()) || s.ProbeQuery() != DefaultProbeQuery {
		t.Errorf("Path() = %q, ProbeQuery() = %q", s.Path(), s.ProbeQuery())
	}
	for _, tt := range []struct {
		settings []string
		wantErr  string
	}{
		{[]string{"probe_query: SELECT 1"}, "path: required"},
		{[]string{"path: a.db", "busy: 1s"}, "unknown key"},
		{[]string{"path: a.db", "busy_timeout: soon"}, "busy_timeout"},
	} {
		_, err := collector.New(srctest.Spec(t, Kind, tt.settings...), collector.Deps{})
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%v: error = %v, want one containing %q", tt.settings, err, tt.wantErr)
		}
	}
}

func BenchmarkCollect(b *testing.B) {
	path := filepath.Join(b.TempDir(), "app.db")
	writer(b, path, `PRAGMA journal_mode = WAL`, `CREATE TABLE a (x)`, `INSERT INTO a VALUES (1)`)
	s := newSource(b, "path: "+path)

	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Collect(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

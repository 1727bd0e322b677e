package tasks_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	_ "modernc.org/sqlite"

	"github.com/tend-dev/tend/optimizer/tasks"
)

// bloatedSQLite writes a database of about 4 MiB and deletes most of it,
// leaving the pages free inside the file.
func bloatedSQLite(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "app data.db") // a space, to test the URI
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		"CREATE TABLE blobs (id INTEGER PRIMARY KEY, b BLOB)",
		"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)" +
			" INSERT INTO blobs SELECT i, randomblob(4000) FROM n",
		"DELETE FROM blobs WHERE id > 100",
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return path
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestDatabase_SQLiteVacuum(t *testing.T) {
	ctx := context.Background()
	path := bloatedSQLite(t)
	s := quick()
	s.Database = &tasks.DatabaseSettings{SQLite: "lite"}
	src := sqliteSource{path: path, probe: "SELECT count(*) FROM blobs"}
	task := build(t, s, map[string]any{"lite": src}, "database")
	size := fileSize(t, path)
	mtime, _ := os.Stat(path)

	// Without the opt-in VACUUM is skipped, saying why; Plan and a dry run
	// leave the file as it was.
	steps, err := task.Plan(ctx, tasks.Env{Level: tasks.High})
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	if s := step(t, steps, "VACUUM", "file"); !strings.Contains(s.Skipped, "allow_disruptive") {
		t.Errorf("VACUUM without opt-in: Skipped = %q, want the allow_disruptive reason", s.Skipped)
	}
	dry, err := task.Run(ctx, tasks.Env{Level: tasks.High, AllowDisruptive: true, DryRun: true})
	if err != nil {
		t.Fatalf("dry Run: %v", err)
	}
	noneDone(t, dry.Steps)
	after, _ := os.Stat(path)
	if after.Size() != size || !after.ModTime().Equal(mtime.ModTime()) {
		t.Fatalf("Plan and dry run changed the file: %d bytes at %v, was %d at %v",
			after.Size(), after.ModTime(), size, mtime.ModTime())
	}
	if len(dry.Recommendations) == 0 || !strings.Contains(dry.Recommendations[0], "pages are free") {
		t.Errorf("recommendations = %q, want the free pages reported", dry.Recommendations)
	}

	res, err := task.Run(ctx, tasks.Env{Level: tasks.High, AllowDisruptive: true})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if s := step(t, res.Steps, "VACUUM", "file"); !s.Done {
		t.Fatalf("VACUUM = %+v, want done", s)
	}
	shrunk := fileSize(t, path)
	if shrunk >= size/2 {
		t.Errorf("file is %d bytes after VACUUM, was %d; want it to shrink by more than half", shrunk, size)
	}
	m := measure(t, res.Measures, "file size")
	if m.Before.Median != float64(size) || m.After.Median != float64(shrunk) || m.Verdict != tasks.Improved {
		t.Errorf("file size %v → %v (%s), want %d → %d (improved)", m.Before.Median, m.After.Median,
			m.Verdict, size, shrunk)
	}
	if fp := measure(t, res.Measures, "free pages"); fp.After.Median != 0 {
		t.Errorf("free pages after VACUUM = %v, want 0", fp.After.Median)
	}
	if s := step(t, res.Steps, "PRAGMA wal_checkpoint(TRUNCATE)", "file"); !strings.Contains(s.Skipped, "not wal") {
		t.Errorf("checkpoint on a rollback-journal file: %+v, want skipped as not wal", s)
	}
	t.Logf("summary: %s", tasks.Summary(res))
}

func TestDatabase_SQLiteMissingFile(t *testing.T) {
	s := quick()
	s.Database = &tasks.DatabaseSettings{SQLite: "lite"}
	path := filepath.Join(t.TempDir(), "absent.db")
	task := build(t, s, map[string]any{"lite": sqliteSource{path: path}}, "database")
	if _, err := task.Plan(context.Background(), tasks.Env{}); err == nil {
		t.Fatal("Plan of a missing file: want an error")
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("Plan created %s", path)
	}
}

package jira_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/internal/fake/jirafake"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixedAlert is an alert event with nothing random or time-dependent.
func fixedAlert(t testing.TB, typ, status string) events.Event {
	t.Helper()
	threshold := 90.0
	start := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	data, err := json.Marshal(events.Alert{
		Fingerprint: "9f86d081884c7d65", Rule: "disk_full", Status: status, Severity: "critical",
		Summary: "Disk / on web-1 is 97.5% full\nand [growing] *fast*", Host: "web-1",
		Metric: "disk.used_pct", Value: 97.5, Threshold: &threshold, StartsAt: start,
		Labels: map[string]string{"host": "web-1", "mount": "/"},
		Links:  map[string]string{"runbook": "https://runbooks.example/disk|full"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return events.Event{
		SpecVersion: events.SpecVersion, ID: "0123456789abcdef0123456789abcdef", Source: "tend/test",
		Type: typ, Time: start.Add(time.Minute), DataContentType: "application/json", Data: data,
	}
}

// golden compares got, indented, with testdata/name, or rewrites it with
// -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, []byte(got), "", "  "); err != nil {
		t.Fatalf("%s: body is not JSON: %v", name, err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file:\n%s", name, buf.String())
	}
}

func TestDeliver_GoldenRequests(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	in := newJira(t, srv, integrations.NewMemRefs(), "labels: [tend]\ncomponents: [Storage]\n")

	deliver(t, in, fixedAlert(t, events.TypeAlertFiring, events.StatusFiring))
	deliver(t, in, fixedAlert(t, events.TypeAlertResolved, events.StatusResolved))
	files := map[string]string{
		"POST /rest/api/2/issue":                   "create_issue.json",
		"POST /rest/api/2/issue/OPS-1/comment":     "resolved_comment.json",
		"POST /rest/api/2/issue/OPS-1/transitions": "done_transition.json",
	}
	seen := 0
	for _, r := range srv.Received() {
		if name, ok := files[r.Method+" "+r.Path]; ok {
			golden(t, name, r.Body)
			seen++
		}
	}
	if seen != len(files) {
		t.Fatalf("saw %d of the %d requests", seen, len(files))
	}
}

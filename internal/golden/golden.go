// Package golden helps integration tests compare the requests they make
// with files under testdata/, and gives them an event with nothing random or
// time-dependent in it. Run a package's tests with -update to rewrite its
// files.
package golden

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// FixedAlert is an alert event with fixed ids, times and figures, whose
// summary holds a newline and markup that renderers must escape.
func FixedAlert(t testing.TB, typ, status string) events.Event {
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

// JSON compares got, indented, with testdata/name, or rewrites the file
// with -update.
func JSON(t *testing.T, name, got string) {
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

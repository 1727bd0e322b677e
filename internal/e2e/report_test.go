package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"
	"time"
)

// TestReport_ImportThenReport imports two hours of a ramp and a flat line
// through `tend import`, then checks the report's figures against values
// worked out here.
func TestReport_ImportThenReport(t *testing.T) {
	h := NewHub(t, "integrations:\n  - {name: out, type: file, path: '{{DIR}}/out.jsonl'}\n")
	h.Start()

	var csv strings.Builder
	csv.WriteString("time,name,value,host\n")
	start := time.Now().Add(-2 * time.Hour).Truncate(time.Minute)
	n := 0
	for ts := start; ts.Before(time.Now().Add(-time.Minute)); ts = ts.Add(10 * time.Second) {
		fmt.Fprintf(&csv, "%s,ramp.value,%d,web-1\n", ts.UTC().Format(time.RFC3339), n)
		fmt.Fprintf(&csv, "%s,flat.value,42,web-1\n", ts.UTC().Format(time.RFC3339))
		n++
	}
	csv.WriteString("not,a,valid,line,at,all\n")
	h.WriteFile("history.csv", csv.String())

	out := h.MustRun("import", h.Path("history.csv"), "--format", "json")
	var res struct{ Imported, Skipped int }
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if res.Imported != 2*n || res.Skipped != 1 {
		t.Fatalf("imported %d (want %d), skipped %d (want 1)", res.Imported, 2*n, res.Skipped)
	}

	out = h.MustRun("report", "--since", "3h", "--format", "json")
	var rep struct {
		Metrics []struct {
			Name     string
			NoData   bool `json:"no_data"`
			Count    uint64
			Avg, Min *float64
			Max      *float64
			Trend    *struct{ Verdict string }
		}
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v: %.500s", err, out)
	}
	found := 0
	for _, m := range rep.Metrics {
		switch m.Name {
		case "ramp.value":
			found++
			wantAvg := float64(n-1) / 2
			if m.Count != uint64(n) || *m.Min != 0 || *m.Max != float64(n-1) || math.Abs(*m.Avg-wantAvg) > 0.01 {
				t.Errorf("ramp: count %d min %v max %v avg %v, want %d 0 %d %.1f", m.Count, *m.Min, *m.Max, *m.Avg, n, n-1, wantAvg)
			}
			if m.Trend == nil || m.Trend.Verdict != "rising" {
				t.Errorf("ramp trend %+v, want rising", m.Trend)
			}
		case "flat.value":
			found++
			if *m.Avg != 42 || m.Trend == nil || m.Trend.Verdict != "stable" {
				t.Errorf("flat: avg %v trend %+v", *m.Avg, m.Trend)
			}
		}
	}
	if found != 2 {
		t.Fatalf("report lacks the imported metrics:\n%.2000s", out)
	}

	h.MustRun("report", "--since", "3h", "--format", "html", "--out", h.Path("report.html"))
	html, err := os.ReadFile(h.Path("report.html"))
	if err != nil || !strings.Contains(string(html), "<svg") || strings.Contains(string(html), "src=\"http") {
		t.Fatalf("html report: %v, %d bytes, svg %v", err, len(html), strings.Contains(string(html), "<svg"))
	}
}

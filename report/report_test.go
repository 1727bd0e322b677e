package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/report"
)

func newStore(t *testing.T) *history.Store {
	t.Helper()
	srv, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(srv.Shutdown)
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{
		Name: history.StreamMetrics, Subjects: []string{"tend.metric.>"},
		Storage: jetstream.FileStorage, Duplicates: time.Minute,
	}); err != nil {
		t.Fatal(err)
	}
	if err := history.EnsureStream(ctx, js, history.DefaultConfig(), 1); err != nil {
		t.Fatal(err)
	}
	return history.New(js, history.DefaultConfig(), nil)
}

// synthetic writes 24 hours at one sample a minute from t0:
//   - test.ramp is the sample's index i, 0 to 1439;
//   - test.flat is 5;
//   - test.spike is 10 + 0.01·(k mod 5) in ten-minute step k, except
//     100 at i = 1005 (step 100).
func synthetic(t0 time.Time) string {
	var b strings.Builder
	for i := 0; i < 1440; i++ {
		ts := t0.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)
		k := i / 10
		spike := 10 + 0.01*float64(k%5)
		if i == 1005 {
			spike = 100
		}
		fmt.Fprintf(&b, `{"name":"test.ramp","value":%d,"time":%q,"host":"web-1"}`+"\n", i, ts)
		fmt.Fprintf(&b, `{"name":"test.flat","value":5,"time":%q,"host":"web-1"}`+"\n", ts)
		fmt.Fprintf(&b, `{"name":"test.spike","value":%v,"time":%q,"host":"web-2"}`+"\n", spike, ts)
	}
	return b.String()
}

func build(t *testing.T) (*report.Report, time.Time) {
	t.Helper()
	st := newStore(t)
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-25 * time.Hour)
	until := t0.Add(24 * time.Hour)

	res, err := st.Import(ctx, strings.NewReader(synthetic(t0)), history.FormatJSONLines)
	if err != nil || res.Imported != 3*1440 {
		t.Fatalf("import: %+v, %v", res, err)
	}

	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ptr := func(t time.Time) *time.Time { return &t }
	alerts := []events.Alert{
		{Fingerprint: "f1", Rule: "disk_full", Status: "firing", StartsAt: at(time.Hour)},
		{Fingerprint: "f1", Rule: "disk_full", Status: "resolved", StartsAt: at(time.Hour),
			EndsAt: ptr(at(90 * time.Minute))},
		{Fingerprint: "f2", Rule: "disk_full", Status: "firing", StartsAt: at(5 * time.Hour)},
		// Began an hour before the period, resolved an hour into it.
		{Rule: "group", Alerts: []events.Alert{
			{Fingerprint: "f3", Rule: "cpu_high", Status: "resolved", StartsAt: at(-time.Hour),
				EndsAt: ptr(at(time.Hour))},
		}},
	}
	started, finished := at(2*time.Hour), at(2*time.Hour+42*time.Second)
	runs := []events.Run{
		{ID: "run-0001-abcdef", Status: "started", Level: "medium", Requested: started},
		{ID: "run-0001-abcdef", Status: "completed", Level: "medium", Requested: started,
			Started: &started, Finished: &finished, Trigger: events.Trigger{Kind: "alert"},
			Tasks: []events.TaskResult{{Task: "database.vacuum", Verdict: "improved",
				Measures: []events.Measurement{{Name: "dead tuples", Before: events.Stats{N: 3, Median: 120412},
					After: events.Stats{N: 3, Median: 0}, LowerIsBetter: true, Verdict: "improved"}}}}},
	}
	in := report.Input{
		Name: "daily", Title: "Daily <report>", Since: t0, Until: until,
		Metrics: []string{"test.flat", "test.none", "test.ramp", "test.spike"},
		Limits:  map[string]float64{"test.ramp": 2000},
		Alerts:  alerts, Runs: runs,
		Integrations: []report.IntegrationHealth{
			{Name: "slack", Delivered: 90, Failed: 10, DeadLettered: 1, LastError: "rate limited"},
			{Name: "email", Delivered: 24},
		},
		Now: func() time.Time { return until },
	}
	var progress []int
	in.Progress = func(done, total int) { progress = append(progress, done, total) }
	r, err := report.Build(ctx, st, in)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(progress) != "[4 4]" {
		t.Errorf("progress = %v", progress)
	}
	return r, t0
}

func near(t *testing.T, name string, got *float64, want, tol float64) {
	t.Helper()
	if got == nil {
		t.Errorf("%s = nil, want %g", name, want)
		return
	}
	if math.Abs(*got-want) > tol {
		t.Errorf("%s = %.9g, want %.9g (±%g)", name, *got, want, tol)
	}
}

func metric(t *testing.T, r *report.Report, name string) report.MetricReport {
	t.Helper()
	for _, m := range r.Metrics {
		if m.Name == name {
			return m
		}
	}
	t.Fatalf("no metric %s", name)
	return report.MetricReport{}
}

func TestBuild(t *testing.T) {
	r, t0 := build(t)
	if time.Duration(r.Step) != 10*time.Minute {
		t.Fatalf("step = %v, want 10m for 24h", time.Duration(r.Step))
	}

	// Ramp: 0..1439, so avg 1439/2, p95 near rank 0.95·1439 → 1367 (1%).
	ramp := metric(t, r, "test.ramp")
	if ramp.Count != 1440 || ramp.NoData {
		t.Fatalf("ramp count = %d", ramp.Count)
	}
	near(t, "ramp avg", ramp.Avg, 719.5, 1e-9)
	near(t, "ramp min", ramp.Min, 0, 0)
	near(t, "ramp max", ramp.Max, 1439, 0)
	near(t, "ramp p95", ramp.P95, 1367, 0.01*1367+1)
	// Step k averages 10k+4.5 at its middle, k·600+300 s: slope 10 per
	// 600 s, 60 per hour, a perfect line.
	if ramp.Trend.Verdict != "rising" || math.Abs(ramp.Trend.SlopePerHour-60) > 1e-9 ||
		math.Abs(ramp.Trend.R2-1) > 1e-12 {
		t.Errorf("ramp trend = %s %g/h r² %g", ramp.Trend.Verdict, ramp.Trend.SlopePerHour, ramp.Trend.R2)
	}
	// The newest step (k=143) sits at 1434.5; 2000 is 565.5 away at 1/60
	// per second: 33,930 s.
	if fc := ramp.Forecast; fc == nil || !fc.Will || math.Abs(fc.SecondsUntil-33930) > 1e-6 ||
		math.Abs(fc.Fitted-1434.5) > 1e-9 {
		t.Errorf("ramp forecast = %+v", fc)
	}

	flat := metric(t, r, "test.flat")
	near(t, "flat avg", flat.Avg, 5, 0)
	near(t, "flat p95", flat.P95, 5, 0)
	if flat.Trend.Verdict != "stable" || flat.Trend.Slope != 0 {
		t.Errorf("flat trend = %s slope %g", flat.Trend.Verdict, flat.Trend.Slope)
	}

	spike := metric(t, r, "test.spike")
	near(t, "spike max", spike.Max, 100, 0)
	if spike.Trend.Verdict != "stable" {
		t.Errorf("spike trend = %s (t %g)", spike.Trend.Verdict, spike.Trend.T)
	}

	none := metric(t, r, "test.none")
	if !none.NoData || none.Avg != nil || none.P95 != nil || none.Trend != nil {
		t.Errorf("test.none = %+v, want no data", none)
	}

	// One anomaly: step 100's max, 100, against the other 143 maxima:
	// 28×10.00, 29×10.01, 29×10.02, 29×10.03, 28×10.04; median 10.02,
	// |deviations| 29×0, 58×0.01, 56×0.02 → MAD 0.01;
	// z = 0.6745·(100−10.02)/0.01 = 6069.1505.
	if len(r.Anomalies) != 1 {
		t.Fatalf("anomalies = %+v", r.Anomalies)
	}
	a := r.Anomalies[0]
	if a.Metric != "test.spike" || a.Of != "max" || !a.At.Equal(t0.Add(1000*time.Minute)) {
		t.Errorf("anomaly = %s %s at %v", a.Metric, a.Of, a.At)
	}
	near(t, "median", &a.Result.Median, 10.02, 1e-9)
	near(t, "mad", &a.Result.MAD, 0.01, 1e-9)
	near(t, "z", &a.Result.Z, 0.6745*(100-10.02)/0.01, 1e-6)

	// Alerts: f1 30m resolved, f2 firing from 5h to the end (19h), f3 1h
	// inside the period after 1h before it (resolved after 2h).
	al := r.Alerts
	if al.Incidents != 3 || al.Started != 2 || al.Resolved != 2 || al.StillFiring != 1 {
		t.Errorf("alerts = %+v", al)
	}
	if time.Duration(al.TimeFiring) != 20*time.Hour+30*time.Minute {
		t.Errorf("time firing = %v", time.Duration(al.TimeFiring))
	}
	if al.MTTR == nil || time.Duration(*al.MTTR) != 75*time.Minute {
		t.Errorf("mttr = %v", al.MTTR)
	}
	if al.ByRule[0].Rule != "disk_full" || al.ByRule[0].Incidents != 2 {
		t.Errorf("by rule = %+v", al.ByRule)
	}

	if len(r.Runs) != 1 || r.Runs[0].Status != "completed" || r.Runs[0].Took == nil ||
		time.Duration(*r.Runs[0].Took) != 42*time.Second {
		t.Fatalf("runs = %+v", r.Runs)
	}
	if e := r.Runs[0].Tasks[0].Effects[0]; e.Change == nil || *e.Change != -1 {
		t.Errorf("effect = %+v", e)
	}

	// Recommendations, most urgent first, each with its figures.
	var subjects []string
	for _, rec := range r.Recommendations {
		subjects = append(subjects, fmt.Sprintf("P%d %s", rec.Priority, rec.Subject))
		if len(rec.Evidence) == 0 {
			t.Errorf("recommendation without evidence: %s", rec.Text)
		}
	}
	// cpu_high's one resolved incident took 2h: slow to resolve.
	want := "[P1 test.ramp P1 slack P2 test.spike P2 cpu_high P3 test.none]"
	if fmt.Sprint(subjects) != want {
		t.Errorf("recommendations = %v, want %v", subjects, want)
	}
	if rec := r.Recommendations[0]; rec.Evidence["seconds_until"] != 33930 ||
		!strings.Contains(rec.Text, "9h25m") {
		t.Errorf("forecast recommendation = %s %v", rec.Text, rec.Evidence)
	}
}

func TestRender(t *testing.T) {
	r, _ := build(t)
	for _, format := range report.Formats {
		t.Run(format, func(t *testing.T) {
			var b bytes.Buffer
			if err := r.Render(&b, format); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			// TEND_REPORT_OUT=/dir keeps the renderings for a look.
			if dir := os.Getenv("TEND_REPORT_OUT"); dir != "" {
				_ = os.WriteFile(filepath.Join(dir, "report."+format), b.Bytes(), 0o644)
			}
			switch format {
			case report.FormatJSON:
				var back map[string]any
				if err := json.Unmarshal(b.Bytes(), &back); err != nil {
					t.Fatalf("json does not decode: %v", err)
				}
				if !strings.Contains(out, `"name": "test.none",
      "no_data": true,
      "count": 0,
      "avg": null`) {
					t.Errorf("test.none not null in json")
				}
			case report.FormatHTML:
				for _, want := range []string{"<svg", "<polyline", "Daily &lt;report&gt;", "no data"} {
					if !strings.Contains(out, want) {
						t.Errorf("html lacks %q", want)
					}
				}
				for _, bad := range []string{"<script", "http://", "https://", "<link", "src="} {
					if strings.Contains(out, bad) {
						t.Errorf("html has external or active content %q", bad)
					}
				}
			default:
				if !strings.Contains(out, "no data") && format != report.FormatSummary {
					t.Errorf("%s does not say no data", format)
				}
			}
			// A missing figure is never shown as a zero average.
			if strings.Contains(out, "test.none | 0 ") || strings.Contains(out, "test.none  0") {
				t.Errorf("%s shows test.none as 0", format)
			}
		})
	}
	if err := r.Render(&bytes.Buffer{}, "pdf"); err == nil {
		t.Error("pdf did not fail")
	}
	ev, err := r.Event()
	if err != nil || ev.Name != "daily" || !strings.Contains(ev.Markdown, "## Metrics") ||
		!strings.Contains(ev.Text, "Metrics: 4") || !strings.HasPrefix(ev.HTML, "<!DOCTYPE html>") {
		t.Errorf("event = %+v, %v", ev.Name, err)
	}
}

func TestBuildWithoutHistory(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := report.Build(context.Background(), nil, report.Input{
		Since: now.Add(-time.Hour), Until: now, Metrics: []string{"a.b"},
	})
	if err != nil || len(r.Metrics) != 1 || !r.Metrics[0].NoData || r.Alerts.MTTR != nil {
		t.Fatalf("report = %+v, %v", r, err)
	}
	if _, err := report.Build(context.Background(), nil, report.Input{Since: now, Until: now}); err == nil {
		t.Error("empty period built")
	}
}

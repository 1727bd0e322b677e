package history

import (
	"bytes"
	"context"
	"io"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/history"
	"github.com/tend-dev/tend/report"
)

func newJS(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: tb.TempDir(), DontListen: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		tb.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("server not ready")
	}
	tb.Cleanup(srv.Shutdown)
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(32768))
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	// METRICS as the bus creates it; TEND_BENCH_ASYNC_PERSIST=1 lets the
	// store batch its writes (PersistMode async), as ROLLUPS does.
	metrics := jetstream.StreamConfig{
		Name: history.StreamMetrics, Subjects: []string{"tend.metric.>"},
		Storage: jetstream.FileStorage, MaxAge: 7 * 24 * time.Hour, Duplicates: time.Minute,
	}
	if os.Getenv("TEND_BENCH_ASYNC_PERSIST") == "1" {
		metrics.PersistMode = jetstream.AsyncPersistMode
	}
	if _, err := js.CreateStream(ctx, metrics); err != nil {
		tb.Fatal(err)
	}
	if err := history.EnsureStream(ctx, js, history.DefaultConfig(), 1); err != nil {
		tb.Fatal(err)
	}
	return js
}

// week returns 7 days of 50 metrics at 10 s ending now; TEND_BENCH_DAYS
// shortens it for quick runs.
func week() Week {
	days := 7
	if d, err := strconv.Atoi(os.Getenv("TEND_BENCH_DAYS")); err == nil && d > 0 {
		days = d
	}
	span := time.Duration(days) * 24 * time.Hour
	now := time.Now().UTC().Truncate(time.Minute)
	return Week{Start: now.Add(-span).Add(time.Minute), Span: span, Step: 10 * time.Second, Metrics: 50}
}

// BenchmarkGenerate measures the CSV generator alone, to subtract it.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		n, _ := io.Copy(io.Discard, week().CSV())
		b.SetBytes(n)
	}
}

// BenchmarkImportWeek imports the week as CSV, or as JSON Lines (with a
// label on every sample) when TEND_BENCH_FORMAT=jsonl, then builds the
// week's report.
func BenchmarkImportWeek(b *testing.B) {
	w := week()
	format := history.FormatCSV
	if os.Getenv("TEND_BENCH_FORMAT") == history.FormatJSONLines {
		format = history.FormatJSONLines
	}
	b.Logf("GOMAXPROCS=%d, %d samples as %s", runtime.GOMAXPROCS(0), w.Samples(), format)
	for b.Loop() {
		b.StopTimer()
		js := newJS(b)
		st := history.New(js, history.DefaultConfig(), nil)
		b.StartTimer()

		began := time.Now()
		src := w.CSV()
		if format == history.FormatJSONLines {
			src = w.JSONLines()
		}
		res, err := st.Import(context.Background(), src, format)
		if err != nil {
			b.Fatal(err)
		}
		imp := time.Since(began)
		if res.Imported != w.Samples() || res.Skipped != 0 {
			b.Fatalf("import = %+v", res)
		}
		b.ReportMetric(float64(res.Imported)/imp.Seconds(), "samples/s")

		// The report a user asks for after the import: the whole week, every
		// metric the store knows, rendered to HTML (the largest form).
		began = time.Now()
		until := w.Start.Add(w.Span)
		limits := map[string]float64{}
		for i := 0; i < w.Metrics; i += 5 {
			limits[w.Name(i)] = 100
		}
		rep, err := report.Build(context.Background(), st, report.Input{
			Title: "week", Since: until.Add(-w.Span), Until: until, Limits: limits,
		})
		if err != nil {
			b.Fatal(err)
		}
		var html bytes.Buffer
		if err := rep.Render(&html, report.FormatHTML); err != nil {
			b.Fatal(err)
		}
		took := time.Since(began)
		b.ReportMetric(took.Seconds(), "report_s")
		if len(rep.Metrics) != w.Metrics || rep.Metrics[0].NoData {
			b.Fatalf("report has %d metrics", len(rep.Metrics))
		}
		b.Logf("import %v (%d rollups); report %v: %d metrics, %d anomalies, %d recommendations, %d KiB html",
			imp, res.Rollups, took, len(rep.Metrics), len(rep.Anomalies), len(rep.Recommendations), html.Len()>>10)
		if out := os.Getenv("TEND_BENCH_HTML"); out != "" {
			_ = os.WriteFile(out, html.Bytes(), 0o644)
		}
	}
}

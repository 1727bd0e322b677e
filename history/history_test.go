package history_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/history"
)

// base is a whole hour three hours ago: every sample is within retention.
func base() time.Time { return time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour) }

func TestImportQuery(t *testing.T) {
	js := newJS(t)
	st := history.New(js, history.DefaultConfig(), nil)
	ctx := context.Background()
	t0 := base()

	// Two hours at 10 s: test.ramp is i (0..719), test.flat 5, and
	// test.spike 10 except 100 at sample 400 (hour 2, minute 6, 40 s).
	var b strings.Builder
	for i := 0; i < 720; i++ {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		spike := 10.0
		if i == 400 {
			spike = 100
		}
		fmt.Fprintf(&b, `{"name":"test.ramp","value":%d,"time":%q,"host":"a"}`+"\n", i, ts.Format(time.RFC3339))
		fmt.Fprintf(&b, `{"name":"test.flat","value":5,"time":%d,"host":"a"}`+"\n", ts.Unix())
		fmt.Fprintf(&b, `{"name":"test.spike","value":%g,"time":%d,"host":"b"}`+"\n", spike, ts.UnixMilli())
	}
	b.WriteString("{not json\n")
	b.WriteString(`{"name":"test.flat","time":"2026-01-01T00:00:00Z"}` + "\n")

	res, err := st.Import(ctx, strings.NewReader(b.String()), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2160 || res.Skipped != 2 || res.Lines != 2162 {
		t.Fatalf("import = %+v", res)
	}
	if res.Errors[0].Line != 2161 || res.Errors[1].Line != 2162 ||
		!strings.Contains(res.Errors[1].Err, "value is required") {
		t.Errorf("errors = %v", res.Errors)
	}
	// 3 series × 2 hours × (1h + 1m).
	if res.Rollups != 3*2*2 {
		t.Errorf("rollups = %d, want %d", res.Rollups, 3*2*2)
	}

	until := t0.Add(2 * time.Hour)
	hours, err := st.QueryAll(ctx, []string{"test.ramp", "test.flat", "test.spike", "test.none"},
		t0, until, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ramp := hours["test.ramp"]
	if len(ramp) != 2 {
		t.Fatalf("ramp points = %d, want 2", len(ramp))
	}
	// Hour 1 holds 0..359: sum 359·360/2 = 64620; hour 2 holds 360..719.
	checkPoint(t, "ramp h1", ramp[0], t0, 360, 0, 359, 64620)
	checkPoint(t, "ramp h2", ramp[1], t0.Add(time.Hour), 360, 360, 719, 64620+360*360)
	if p95 := ramp[0].Quantile(0.95); math.Abs(p95-341) > 0.01*341+1 {
		t.Errorf("ramp h1 p95 = %g, want about 341", p95)
	}
	checkPoint(t, "flat h1", hours["test.flat"][0], t0, 360, 5, 5, 1800)
	checkPoint(t, "spike h2", hours["test.spike"][1], t0.Add(time.Hour), 360, 10, 100, 3690)
	if len(hours["test.none"]) != 0 {
		t.Errorf("test.none has %d points", len(hours["test.none"]))
	}

	// Ten-second steps over two minutes read raw samples.
	from := t0.Add(66*time.Minute + 30*time.Second)
	raw, err := st.Query(ctx, "test.spike", from, from.Add(20*time.Second), 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) != 2 || raw[0].Max != 10 || raw[1].Max != 100 || raw[1].Count != 1 {
		t.Errorf("raw points = %+v", raw)
	}

	// One-minute steps read one-minute rollups.
	mins, err := st.Query(ctx, "test.ramp", t0, until, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(mins) != 120 {
		t.Fatalf("minute points = %d", len(mins))
	}
	checkPoint(t, "ramp m7", mins[7], t0.Add(7*time.Minute), 6, 42, 47, 42+43+44+45+46+47)

	names, err := st.Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "test.flat,test.ramp,test.spike" {
		t.Errorf("metrics = %v", names)
	}

}

func TestImportCSV(t *testing.T) {
	js := newJS(t)
	st := history.New(js, history.DefaultConfig(), nil)
	t0 := base()
	csv := "time,name,value,host\n" +
		fmt.Sprintf("%d,disk.used,10,web\n", t0.Unix()) +
		fmt.Sprintf("%s,disk.used,20\n", t0.Add(time.Minute).Format(time.RFC3339)) +
		"yesterday,disk.used,1\n" +
		fmt.Sprintf("%d,disk.used,NaN\n", t0.Unix()) +
		fmt.Sprintf("%d,disk.used\n", t0.Unix())
	res, err := st.Import(context.Background(), strings.NewReader(csv), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.Imported != 2 || res.Skipped != 3 {
		t.Fatalf("import = %+v", res)
	}
	for i, want := range []int{4, 5, 6} {
		if res.Errors[i].Line != want {
			t.Errorf("error %d on line %d, want %d: %s", i, res.Errors[i].Line, want, res.Errors[i].Err)
		}
	}
	pts, err := st.Query(context.Background(), "disk.used", t0, t0.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	checkPoint(t, "disk", pts[0], t0, 2, 10, 20, 30)

	_, err = st.Import(context.Background(), strings.NewReader(""), "xml")
	if !errors.Is(err, history.ErrFormat) {
		t.Errorf("xml import: %v", err)
	}

	// A sample of an hour already left behind is late for the rollups.
	late := fmt.Sprintf("%d,disk.used,1\n%d,disk.used,2\n", t0.Add(2*time.Hour).Unix(), t0.Unix())
	res, err = st.Import(context.Background(), strings.NewReader(late), history.FormatCSV)
	if err != nil || res.Late != 1 || res.Imported != 2 {
		t.Errorf("late import = %+v, %v", res, err)
	}
}

// TestAggregatorLive follows the collector's path: samples are published
// to METRICS and folded by a running aggregator; a query joins hourly
// rollups, minute rollups and the raw samples not rolled up yet.
func TestAggregatorLive(t *testing.T) {
	js := newJS(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := history.DefaultConfig()
	st := history.New(js, cfg, nil)
	agg := history.NewAggregator(js, cfg, nil)

	// 10:00 to 11:29:50 at 10 s, the value being the minute of the hour.
	t0 := base()
	n := 540
	for i := 0; i < n; i++ {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		m := events.Metric{Host: "web", Source: "app", Name: "app.latency",
			Value: float64(ts.Minute()), Time: ts}
		publishSample(t, js, m)
	}
	done := make(chan error, 1)
	go func() { done <- agg.Run(ctx, 10*time.Millisecond) }()
	waitFor(t, func() bool { return agg.Stats().Samples == uint64(n) })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// On stop every bucket ending before now-15s is stored: both hours.
	ctx = context.Background()
	pts, err := st.Query(ctx, "app.latency", t0, t0.Add(90*time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 {
		t.Fatalf("points = %d", len(pts))
	}
	// Hour 1: each minute m holds six samples of value m: sum 6·(0+…+59).
	checkPoint(t, "h1", pts[0], t0, 360, 0, 59, 6*59*60/2)
	checkPoint(t, "h2", pts[1], t0.Add(time.Hour), 180, 0, 29, 6*29*30/2)
}

// TestQueryJoinsLevels reads hour 1 from an hourly rollup, and hour 2, still
// open, from raw samples; with ten-minute steps, from one-minute rollups and
// raw samples.
func TestQueryJoinsLevels(t *testing.T) {
	js := newJS(t)
	ctx := context.Background()
	cfg := history.DefaultConfig()
	st := history.New(js, cfg, nil)
	agg := history.NewAggregator(js, cfg, nil)

	t0 := base()
	for i := 0; i < 540; i++ {
		ts := t0.Add(time.Duration(i) * 10 * time.Second)
		m := events.Metric{Host: "web", Source: "app", Name: "app.q", Value: float64(i), Time: ts}
		publishSample(t, js, m)
		if err := agg.Add(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := agg.Flush(ctx, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if s := agg.Stats(); s.Flushed != 2 {
		t.Fatalf("flushed = %d, want hour 1 at 1h and 1m", s.Flushed)
	}
	pts, err := st.Query(ctx, "app.q", t0, t0.Add(90*time.Minute), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 2 {
		t.Fatalf("points = %d", len(pts))
	}
	checkPoint(t, "h1", pts[0], t0, 360, 0, 359, 359*360/2)
	checkPoint(t, "h2", pts[1], t0.Add(time.Hour), 180, 360, 539, (360+539)*180/2)

	tens, err := st.Query(ctx, "app.q", t0, t0.Add(90*time.Minute), 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if len(tens) != 9 {
		t.Fatalf("ten-minute points = %d", len(tens))
	}
	// 10:50 from minute rollups: samples 300..359; 11:20 raw: 480..539.
	checkPoint(t, "10:50", tens[5], t0.Add(50*time.Minute), 60, 300, 359, (300+359)*60/2)
	checkPoint(t, "11:20", tens[8], t0.Add(80*time.Minute), 60, 480, 539, (480+539)*60/2)
}

func TestDuplicateRollupCountsOnce(t *testing.T) {
	js := newJS(t)
	st := history.New(js, history.DefaultConfig(), nil)
	ctx := context.Background()
	t0 := base()
	for _, count := range []uint64{3, 5, 4} {
		r := history.Rollup{Res: "1h", Host: "h", Name: "x.y", Start: t0, Count: count,
			Min: 1, Max: 2, Sum: float64(count)}
		data, _ := json.Marshal(r)
		if _, err := js.Publish(ctx, history.RollupSubject(history.Hour, "h", "x.y"), data); err != nil {
			t.Fatal(err)
		}
	}
	pts, err := st.Query(ctx, "x.y", t0, t0.Add(time.Hour), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 1 || pts[0].Count != 5 {
		t.Errorf("points = %+v, want one with count 5", pts)
	}
	if _, err := st.Query(ctx, "x.y", t0, t0, time.Hour); err == nil {
		t.Error("empty range did not fail")
	}
}

func publishSample(t *testing.T, js jetstream.JetStream, m events.Metric) {
	t.Helper()
	ev, err := events.New(events.TypeMetric, "tend://"+m.Host+"/collector", m.Name, m)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := ev.Marshal()
	msg := &nats.Msg{Subject: events.MetricSubject(m.Host, m.Name), Data: data}
	if _, err := js.PublishMsg(context.Background(), msg, jetstream.WithMsgID(ev.ID)); err != nil {
		t.Fatal(err)
	}
}

func checkPoint(t *testing.T, name string, p history.Point, at time.Time, count uint64, lo, hi, sum float64) {
	t.Helper()
	if !p.Time.Equal(at) || p.Count != count || p.Min != lo || p.Max != hi || p.Sum != sum {
		t.Errorf("%s = {%v n=%d min=%g max=%g sum=%g}, want {%v n=%d min=%g max=%g sum=%g}",
			name, p.Time, p.Count, p.Min, p.Max, p.Sum, at, count, lo, hi, sum)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestDecodeConfig(t *testing.T) {
	cfg, err := config.Parse("tend.yaml", []byte("history: {raw: 2d, \"1m\": 10d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	hc, err := history.Decode(cfg.History)
	if err != nil {
		t.Fatal(err)
	}
	if hc.Raw.D() != 48*time.Hour || hc.Minute.D() != 240*time.Hour || hc.Hour.D() != 400*24*time.Hour {
		t.Errorf("config = %+v", hc)
	}
	cfg, err = config.Parse("tend.yaml", []byte("history: {raw: 2d, \"5m\": 10d}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := history.Decode(cfg.History); err == nil || !strings.Contains(err.Error(), "5m") {
		t.Errorf("unknown key: %v", err)
	}
	if hc, err := history.Decode(config.Node{}); err != nil || hc != history.DefaultConfig() {
		t.Errorf("absent section = %+v, %v", hc, err)
	}
}

package collector_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

func TestParseText(t *testing.T) {
	out := []byte(`# HELP queue_depth jobs waiting
# TYPE queue_depth gauge
value 73
queue_depth{queue="mail",prio="high"} 12 1700000000000
http_requests_total{code="200"} 1.5e3
temperature -4.5
42
garbage line here
bad{unterminated="x} 1
nan_value NaN
`)
	samples, bad := collector.ParseText(out, "auto")
	want := map[string]float64{"value": 42, "queue_depth": 12, "http_requests_total": 1500, "temperature": -4.5}
	got := map[string]float64{}
	for _, s := range samples {
		got[s.Name] = s.Value
		if s.Name == "queue_depth" && (s.Labels["queue"] != "mail" || s.Labels["prio"] != "high" || s.Time.IsZero()) {
			t.Fatalf("labels or time lost: %+v", s)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if len(samples) != 5 || len(bad) != 3 {
		t.Fatalf("got %d samples and %d bad lines, want 5 and 3: %+v", len(samples), len(bad), bad)
	}
	if bad[0].Line != 8 {
		t.Fatalf("first bad line reported as %d, want 8", bad[0].Line)
	}
}

func TestExec_ProbeValueAndMalformedCounted(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "value.txt")
	if err := os.WriteFile(path, []byte("value 73\nnot a metric line\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.yaml", []byte("collector:\n  sources:\n    - name: probe\n      exec:\n        command: [cat, "+path+"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	stats := collector.NewStats()
	src, err := collector.New(cfg.Collector.Sources[0], collector.Deps{Stats: stats})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		samples, err := src.Collect(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(samples) != 1 || samples[0].Name != "value" || samples[0].Value != 73 {
			t.Fatalf("samples %+v", samples)
		}
	}
	if _, pe, _ := stats.Snapshot(); pe["probe"] != 2 {
		t.Fatalf("parse errors counted %d, want 2", pe["probe"])
	}
}

func TestExec_FailingCommandIsAnError(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("collector:\n  sources:\n    - name: x\n      exec:\n        command: [sh, -c, 'echo oops >&2; exit 3']\n"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := collector.New(cfg.Collector.Sources[0], collector.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Collect(context.Background()); err == nil {
		t.Fatal("want an error from a failing command")
	}
}

func FuzzParseText(f *testing.F) {
	f.Add([]byte("value 1\n"), "auto")
	f.Add([]byte(`m{a="b\"c",d="e"} 1 2`), "prometheus")
	f.Add([]byte("a b c d\n{}\n"), "lines")
	f.Fuzz(func(t *testing.T, data []byte, format string) {
		samples, _ := collector.ParseText(data, format)
		for _, s := range samples {
			if s.Name == "" {
				t.Fatalf("sample without a name from %q", data)
			}
		}
	})
}

package collector_test

import (
	"context"
	"testing"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

func hostSource(t testing.TB) collector.Source {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte("collector:\n  sources:\n    - name: host\n      host: {}\n"))
	if err != nil {
		t.Fatal(err)
	}
	src, err := collector.New(cfg.Collector.Sources[0], collector.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestHost_ReportsRatesNotTotals(t *testing.T) {
	src := hostSource(t)
	first, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, s := range first {
		names[s.Name] = true
		if s.Name == "disk.used_percent" && (s.Labels["mount"] == "" || s.Value < 0 || s.Value > 100) {
			t.Fatalf("bad disk sample %+v", s)
		}
	}
	for _, want := range []string{"cpu.percent", "load.1", "load.5", "load.15", "memory.used_percent",
		"memory.used_bytes", "swap.used_percent", "disk.used_percent"} {
		if !names[want] {
			t.Errorf("missing %s", want)
		}
	}
	if names["net.rx_bytes_per_second"] {
		t.Fatal("a rate on the first sample can only be a total")
	}
	second, err := src.Collect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rates := 0
	for _, s := range second {
		if s.Name == "net.rx_bytes_per_second" || s.Name == "disk.read_bytes_per_second" {
			rates++
			if s.Value < 0 {
				t.Fatalf("negative rate %+v", s)
			}
		}
	}
	if rates == 0 {
		t.Fatal("no rates on the second sample")
	}
}

func BenchmarkHostCollect(b *testing.B) {
	src := hostSource(b)
	ctx := context.Background()
	for range b.N {
		if _, err := src.Collect(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

package srctest

import (
	"sort"
	"strings"
	"testing"

	"github.com/tend-dev/tend/collector"
	"github.com/tend-dev/tend/config"
)

// Spec parses one source of kind with the given settings, written as YAML
// lines, the way the config loader would, and returns its spec.
func Spec(t testing.TB, kind string, settings ...string) config.Source {
	t.Helper()
	var b strings.Builder
	b.WriteString("collector:\n  sources:\n    - name: src\n      " + kind + ":\n")
	if len(settings) == 0 {
		b.WriteString("        {}\n")
	}
	for _, l := range settings {
		b.WriteString("        " + l + "\n")
	}
	cfg, err := config.Parse("test.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("parse source spec: %v\n%s", err, b.String())
	}
	return cfg.Collector.Sources[0]
}

// Values returns the values of the samples named name, keyed by their
// labels as sorted k=v pairs joined by commas; "" for no labels.
func Values(samples []collector.Sample, name string) map[string]float64 {
	out := map[string]float64{}
	for _, s := range samples {
		if s.Name == name {
			out[labelKey(s.Labels)] = s.Value
		}
	}
	return out
}

// Value returns the value of the one sample named name with the given
// labels (k=v pairs joined by commas), and whether there is one.
func Value(samples []collector.Sample, name, labels string) (float64, bool) {
	v, ok := Values(samples, name)[labels]
	return v, ok
}

func labelKey(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + labels[k]
	}
	return strings.Join(parts, ",")
}

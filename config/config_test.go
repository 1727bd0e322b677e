package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
)

func TestParse_ErrorsNameFileLineAndKey(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		want string
	}{
		{"unknown top key", "colector: {}\n", "t.yaml:1: colector: unknown key"},
		{"bad duration", "collector:\n  interval: 5x\n", "t.yaml:2: collector.interval: bad duration \"5x\""},
		{"wrong type", "rules:\n  - name: r\n    metric: m\n    above: high\n", "t.yaml:4: rules[0].above: want a number"},
		{"two thresholds", "rules:\n  - name: r\n    metric: m\n    above: 1\n    below: 0\n", "t.yaml:2: rules[0]: a threshold rule needs exactly one of above or below"},
		{"unknown integration in route", "integrations:\n  - {name: a, type: file}\nroutes:\n  - to: [b]\n", "t.yaml:4: routes[0].to[0]: unknown integration \"b\""},
		{"source without kind", "collector:\n  sources:\n    - name: x\n", "t.yaml:3: collector.sources[0]: source needs one kind key"},
		{"bad rate", "integrations:\n  - {name: a, type: file, rate: fast}\n", "t.yaml:2: integrations[0].rate: bad rate \"fast\""},
		{"not yaml", "a: [\n", "not valid YAML"},
		{"duplicate key", "hub: a\nhub: b\n", "t.yaml"},
		{"route type typo", "integrations:\n  - {name: a, type: file}\nroutes:\n  - match: {type: alrt}\n    to: [a]\n",
			"t.yaml:4: routes[0].match.type[0]: unknown event type \"alrt\""},
		{"route severity typo", "integrations:\n  - {name: a, type: file}\nroutes:\n  - match: {severity: [bogus]}\n    to: [a]\n",
			"routes[0].match.severity[0]: unknown severity \"bogus\""},
		{"rule twice", "rules:\n  - {name: r, metric: m, above: 1}\n  - {name: r, metric: n, above: 1}\n",
			"t.yaml:3: rules[1].name: rule \"r\" is defined twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := config.Parse("t.yaml", []byte(c.yaml))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
		})
	}
}

func TestParse_EnvExpansion(t *testing.T) {
	t.Setenv("TEND_T_INTERVAL", "3s")
	cfg, err := config.Parse("t.yaml", []byte("collector:\n  interval: ${TEND_T_INTERVAL}\n  host: ${TEND_T_NONE:-fallback}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Collector.Interval.D() != 3*time.Second || cfg.Collector.Host != "fallback" {
		t.Fatalf("got interval %s host %q", cfg.Collector.Interval, cfg.Collector.Host)
	}
	_, err = config.Parse("t.yaml", []byte("hub: ${TEND_T_UNSET_VAR}\n"))
	if err == nil || !strings.Contains(err.Error(), "t.yaml:1: hub: environment variable TEND_T_UNSET_VAR is not set") {
		t.Fatalf("got %v", err)
	}
}

func TestParse_DefaultsAndDays(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("bus: {metrics_max_age: 14d}\nintegrations:\n  - {name: a, type: file}\n"))
	if err != nil {
		t.Fatal(err)
	}
	in := cfg.Integrations[0]
	if in.Retry.Initial.D() != time.Second || in.Retry.Multiplier != 2 || in.Retry.MaxInterval.D() != 5*time.Minute ||
		in.Retry.MaxElapsed.D() != 24*time.Hour || in.MaxInFlight != 4 {
		t.Fatalf("retry defaults: %+v, max_in_flight %d", in.Retry, in.MaxInFlight)
	}
	if cfg.Bus.MetricsMaxAge.D() != 14*24*time.Hour || cfg.Bus.EventsMaxAge.D() != 30*24*time.Hour {
		t.Fatalf("bus ages: %+v", cfg.Bus)
	}
	if cfg.Listen != "127.0.0.1:9740" {
		t.Fatalf("listen default %q", cfg.Listen)
	}
}

func TestDefault_IsValid(t *testing.T) {
	cfg := config.Default()
	if len(cfg.Rules) != 3 || cfg.Collector.Sources[0].Type != "host" || cfg.Collector.Interval.D() != 10*time.Second {
		t.Fatalf("default config: %+v", cfg)
	}
}

func TestShow_MasksSecrets(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.yaml")
	t.Setenv("TEND_T_TOKEN", "xoxb-123-secret")
	yaml := `integrations:
  - name: s
    type: slack
    token: ${TEND_T_TOKEN}
    webhook_url: https://hooks.example.test/services/T0/B0/abc
  - name: pg
    type: api
    url: postgres://tend:hunter2@db:5432/x
    headers: {Authorization: Bearer abc, X-Api-Key: APIKEYSECRET}
  - name: q
    type: webhook
    url: http://127.0.0.1:9/x?token=QUERYTOKEN&page=2
`
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := config.Show(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"xoxb-123-secret", "services/T0", "hunter2", "Bearer abc",
		"APIKEYSECRET", "QUERYTOKEN"} {
		if strings.Contains(string(out), secret) {
			t.Fatalf("config show leaks %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(string(out), "page=2") {
		t.Fatalf("a harmless query parameter was masked:\n%s", out)
	}
	if !strings.Contains(string(out), "postgres://tend:***@db:5432/x") {
		t.Fatalf("want the URL's password masked:\n%s", out)
	}
}

func TestNode_DecodeOwnKeys(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - name: a\n    type: x\n    path: /tmp/a\n    extra: 1\n"))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Path string `yaml:"path"`
		Mode string `yaml:"mode" default:"append"`
	}
	err = cfg.Integrations[0].Settings.Decode(&s)
	if err == nil || !strings.Contains(err.Error(), "t.yaml:5: integrations[0].extra: unknown key") {
		t.Fatalf("got %v", err)
	}
	if s.Path != "/tmp/a" || s.Mode != "append" {
		t.Fatalf("decoded %+v", s)
	}
}

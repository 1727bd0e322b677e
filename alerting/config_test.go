package alerting

import (
	"strings"
	"testing"

	"github.com/tend-dev/tend/config"
)

func TestLoad_ReportsEveryMistakeWithLine(t *testing.T) {
	cfg, _ := config.Parse("t.yaml", []byte(`
integrations:
  - name: out
    type: console
routes:
  - to: [out]
    mute: [nope]
alerting:
  windows:
    - name: w
      start: "2am"
      end: "04:00"
  inhibit:
    - target: [a=b]
  flapping: {changes: 2, windw: 1m}
`))
	_, err := Load(cfg)
	if err == nil {
		t.Fatal("bad alerting section accepted")
	}
	for _, want := range []string{
		"t.yaml:15: alerting.flapping.windw: unknown key",
		"t.yaml:11: alerting.windows[0].start: bad time",
		"t.yaml:14: alerting.inhibit[0].source: an inhibition rule needs source matchers",
		`routes[0].mute[0]: unknown window "nope"; defined under alerting.windows: w`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%s", want, err)
		}
	}
}

func TestSettings_RouteWindows(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte(`
integrations:
  - {name: a, type: console}
routes:
  - to: [a]
  - to: [a]
    mute: [deploys]
alerting:
  windows:
    - {name: nightly, start: "01:00", end: "02:00"}
    - {name: deploys, start: "10:00", end: "11:00"}
`))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ws := s.routeWindows(cfg.Routes)
	names := func(i int) string {
		var out []string
		for _, w := range ws[i] {
			out = append(out, w.Name)
		}
		return strings.Join(out, ",")
	}
	if names(0) != "nightly" || names(1) != "nightly,deploys" {
		t.Fatalf("route 0: %q, route 1: %q; want the global window on both, deploys on route 1 only",
			names(0), names(1))
	}
}

func TestKeyToken(t *testing.T) {
	if got := keyToken("a1b2-c_3"); got != "a1b2-c_3" {
		t.Fatalf("safe token changed: %q", got)
	}
	a, b := keyToken("am:x.y"), keyToken("am;x.y")
	if a == b || strings.ContainsAny(a, ".:;") || !strings.HasPrefix(a, "h") {
		t.Fatalf("unsafe fingerprints: %q and %q", a, b)
	}
}

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

// probeConfig is the config of the serve issue, as written, with its two
// paths moved into the test's directory.
const probeConfig = `
collector:
  interval: 1s
  sources:
    - name: probe
      exec:
        command: ["cat", "{{DIR}}/value.txt"]
rules:
  - name: probe_high
    metric: probe.value
    above: 50
    for: 0s
    severity: warning
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
`

func alerts(t *testing.T, h *Hub) []events.Alert {
	var out []events.Alert
	for _, ev := range ReadEvents(t, h.Path("out.jsonl")) {
		var a events.Alert
		if err := ev.Decode(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestServe_ProbeFiresResolvesAndSurvivesRestart(t *testing.T) {
	h := NewHub(t, probeConfig)
	h.WriteFile("value.txt", "10\n")
	h.Start()

	Eventually(t, 10*time.Second, "probe.value in tend metrics", func() bool {
		out, err := h.Run("metrics", "--format", "json")
		if err != nil {
			return false
		}
		var ms []events.Metric
		if json.Unmarshal([]byte(out), &ms) != nil {
			return false
		}
		for _, m := range ms {
			if m.Name == "probe.value" && m.Value == 10 {
				return true
			}
		}
		return false
	})

	h.WriteFile("value.txt", "90\n")
	Eventually(t, 10*time.Second, "a firing line", func() bool { return len(alerts(t, h)) >= 1 })
	h.WriteFile("value.txt", "10\n")
	Eventually(t, 10*time.Second, "a resolved line", func() bool { return len(alerts(t, h)) >= 2 })

	got := alerts(t, h)
	if len(got) != 2 {
		t.Fatalf("want 2 alert lines, got %d: %+v", len(got), got)
	}
	if got[0].Status != "firing" || got[1].Status != "resolved" {
		t.Fatalf("want firing then resolved, got %s then %s", got[0].Status, got[1].Status)
	}
	if got[0].Fingerprint == "" || got[0].Fingerprint != got[1].Fingerprint {
		t.Fatalf("fingerprints differ: %q vs %q", got[0].Fingerprint, got[1].Fingerprint)
	}

	// Fire again, then restart with the value still high: the firing alert
	// survives in state and nothing new is sent.
	h.WriteFile("value.txt", "90\n")
	Eventually(t, 10*time.Second, "a second firing line", func() bool { return len(alerts(t, h)) >= 3 })
	h.Stop()
	if code := h.ExitCode(); code != 0 {
		t.Fatalf("tend serve exited %d on SIGTERM:\n%s", code, h.Logs())
	}
	h.Start()
	Eventually(t, 10*time.Second, "samples after restart", func() bool {
		out, err := h.Run("status", "--format", "json")
		return err == nil && strings.Contains(out, `"alerts_firing": 1`)
	})
	time.Sleep(3 * time.Second) // three more samples at 90
	if n := len(alerts(t, h)); n != 3 {
		t.Fatalf("restart with the value still high sent %d new lines", n-3)
	}
	out := h.MustRun("alerts", "--format", "json")
	if !strings.Contains(out, `"status": "firing"`) {
		t.Fatalf("tend alerts lost the firing alert:\n%s", out)
	}
}

func TestCLI_NoServerIsOneClearLine(t *testing.T) {
	bin := Binary(t)
	h := &Hub{t: t, Addr: FreeAddr(t)}
	_ = bin
	out, err := h.Run("status")
	if err == nil {
		t.Fatal("want exit 1 with no server")
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.Contains(out, "no tend server at") {
		t.Fatalf("want one clear line, got:\n%s", out)
	}
}

func TestConfigCheck_NamesFileLineAndKey(t *testing.T) {
	h := NewHub(t, `
collector:
  interval: 5x
rules:
  - name: r
    metric: m
    above: 1
    severity: warning
    frobnicate: true
integrations:
  - name: out
    type: file
    path: /tmp/x.jsonl
    token: abc
routes:
  - to: [nope]
`)
	out, err := h.Run("config", "check", h.Config)
	if err == nil {
		t.Fatalf("config check accepted a bad file:\n%s", out)
	}
	for _, want := range []string{
		"tend.yaml:3: collector.interval: bad duration",
		"tend.yaml:9: rules[0].frobnicate: unknown key",
		"tend.yaml:16: routes[0].to[0]: unknown integration \"nope\"",
		"tend.yaml:14: integrations[0].token: unknown key",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
}

func TestConfigShow_MasksSecrets(t *testing.T) {
	h := NewHub(t, "integrations:\n  - name: hook\n    type: webhook\n    url: https://u:pw@example.test/x\n    secret: ${HOOK_SECRET}\n")
	cmd := h.Config
	t.Setenv("HOOK_SECRET", "whsec_dG9wc2VjcmV0")
	out := h.MustRun("config", "show", cmd)
	if strings.Contains(out, "dG9wc2VjcmV0") || strings.Contains(out, ":pw@") {
		t.Fatalf("secret shown:\n%s", out)
	}
	if !strings.Contains(out, "secret: '***'") && !strings.Contains(out, "secret: \"***\"") {
		t.Fatalf("want masked secret:\n%s", out)
	}
}

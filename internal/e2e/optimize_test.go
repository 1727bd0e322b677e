package e2e

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/api/inbound"
	"github.com/tend-dev/tend/events"
)

// optimizeConfig is probeConfig with the rule asking for the exec task,
// whose command brings the probe's value down and whose measure reads it,
// and a route sending alerts and runs to the file sink.
const optimizeConfig = `
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
    optimize: [exec]
optimizer:
  samples: 3
  sample_interval: 50ms
  tasks:
    exec:
      command: ["sh", "-c", "echo 10 > {{DIR}}/value.txt"]
      measure: ["cat", "{{DIR}}/value.txt"]
      metric: probe value
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: [alert, optimization]}
    to: [out]
`

// outEvents returns the file sink's events of a kind such as
// "optimization.completed".
func outEvents(t *testing.T, h *Hub, kind string) []events.Event {
	t.Helper()
	var out []events.Event
	for _, ev := range ReadEvents(t, h.Path("out.jsonl")) {
		if ev.Kind() == kind {
			out = append(out, ev)
		}
	}
	return out
}

func decodeRun(t *testing.T, ev events.Event) events.Run {
	t.Helper()
	var run events.Run
	if err := ev.Decode(&run); err != nil {
		t.Fatal(err)
	}
	return run
}

func readValue(t *testing.T, h *Hub) string {
	t.Helper()
	b, err := os.ReadFile(h.Path("value.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

func TestOptimize_ProbeRuleStartsOneRunPerCooldown(t *testing.T) {
	h := NewHub(t, optimizeConfig)
	h.WriteFile("value.txt", "10\n")
	h.Start()
	if out := h.MustRun("enable", "--format", "summary"); !strings.Contains(out, "optimization enabled") {
		t.Fatalf("tend enable:\n%s", out)
	}

	h.WriteFile("value.txt", "90\n")
	Eventually(t, 15*time.Second, "a completed run in the file sink", func() bool {
		return len(outEvents(t, h, "optimization.completed")) >= 1
	})
	firing := outEvents(t, h, "alert.firing")
	if len(firing) != 1 {
		t.Fatalf("want 1 firing alert, got %d", len(firing))
	}
	var alert events.Alert
	if err := firing[0].Decode(&alert); err != nil {
		t.Fatal(err)
	}
	run := decodeRun(t, outEvents(t, h, "optimization.completed")[0])
	if run.Trigger.Kind != "alert" || run.Trigger.Fingerprint != alert.Fingerprint {
		t.Errorf("trigger = %+v, want the alert %s", run.Trigger, alert.Fingerprint)
	}
	if len(run.Tasks) != 1 || len(run.Tasks[0].Measures) != 1 {
		t.Fatalf("run tasks = %+v", run.Tasks)
	}
	m := run.Tasks[0].Measures[0]
	if m.Before.N != 3 || m.After.N != 3 || m.Before.Median != 90 || m.After.Median != 10 ||
		m.Verdict != "improved" {
		t.Errorf("measurement = %+v, want 3 samples of 90 before and 10 after, improved", m)
	}
	if len(run.Summary) != 1 || !strings.Contains(run.Summary[0], "90 → 10") {
		t.Errorf("summary = %q", run.Summary)
	}
	if v := readValue(t, h); v != "10" {
		t.Errorf("value.txt = %q after the run, want 10", v)
	}

	// The value is down, the alert resolves; a second breach inside the
	// cooldown fires again and starts no run.
	Eventually(t, 10*time.Second, "the alert resolved", func() bool {
		return len(outEvents(t, h, "alert.resolved")) >= 1
	})
	h.WriteFile("value.txt", "90\n")
	Eventually(t, 10*time.Second, "the second breach refused for the cooldown", func() bool {
		return strings.Contains(h.Logs(), `msg="alert starts no run"`) &&
			strings.Contains(h.Logs(), "cooling down: exec until")
	})
	if n := len(outEvents(t, h, "alert.firing")); n != 2 {
		t.Errorf("want 2 firing alerts, got %d", n)
	}
	if n := len(outEvents(t, h, "optimization.requested")); n != 1 {
		t.Errorf("want exactly 1 run requested, got %d", n)
	}
	if v := readValue(t, h); v != "90" {
		t.Errorf("value.txt = %q, want 90 (no second run)", v)
	}
	var runs []events.Run
	if err := json.Unmarshal([]byte(h.MustRun("runs", "--format", "json")), &runs); err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].ID != run.ID || runs[0].Status != "completed" {
		t.Errorf("tend runs = %+v, want the one run %s", runs, run.ID)
	}
	out := h.MustRun("runs", run.ID)
	if !strings.Contains(out, "90 → 10") || !strings.Contains(out, "3/3") {
		t.Errorf("tend runs %s:\n%s", run.ID, out)
	}
}

func TestOptimize_DryRunAndTestChangeNothing(t *testing.T) {
	h := NewHub(t, optimizeConfig)
	h.WriteFile("value.txt", "90\n")
	h.Start()
	// Disabled (the default): the breach fires and starts no run.
	Eventually(t, 10*time.Second, "the breach refused while disabled", func() bool {
		return strings.Contains(h.Logs(), "automatic optimization is disabled")
	})
	before, err := os.Stat(h.Path("value.txt"))
	if err != nil {
		t.Fatal(err)
	}

	out := h.MustRun("test", "exec")
	if !strings.Contains(out, "nothing touched") || !strings.Contains(out, "would run") {
		t.Errorf("tend test exec:\n%s", out)
	}
	out = h.MustRun("optimize", "exec", "--dry-run")
	if !strings.Contains(out, "dry run") || !strings.Contains(out, "90 → -") ||
		!strings.Contains(out, "skipped: dry run") {
		t.Errorf("tend optimize --dry-run:\n%s", out)
	}
	after, err := os.Stat(h.Path("value.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if v := readValue(t, h); v != "90" || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("value.txt = %q, modified %s (was %s): test or dry run changed it",
			v, after.ModTime(), before.ModTime())
	}

	// The dry run set no cooldown: a real run goes ahead without --force.
	out = h.MustRun("optimize", "exec")
	if !strings.Contains(out, "90 → 10") || !strings.Contains(out, "improved") {
		t.Errorf("tend optimize exec:\n%s", out)
	}
	if v := readValue(t, h); v != "10" {
		t.Errorf("value.txt = %q after the run, want 10", v)
	}
	Eventually(t, 10*time.Second, "both runs in the file sink", func() bool {
		return len(outEvents(t, h, "optimization.completed")) == 2
	})
	dry := decodeRun(t, outEvents(t, h, "optimization.completed")[0])
	if !dry.DryRun || dry.Trigger.Kind != "cli" || dry.Tasks[0].Verdict != "skipped" {
		t.Errorf("dry run event = %+v", dry)
	}
	if out, err := h.Run("optimize", "exec"); err == nil || !strings.Contains(out, "--force") {
		t.Errorf("a run inside the cooldown: %v\n%s", err, out)
	}
}

// TestOptimize_GitHubTriggerRunsOnceWithItsOrigin stores a GitHub trigger
// on the hub's bus, as the webhook does, twice under one delivery id: one
// run starts, and its completed event carries the repository and issue
// back for the integrations.
func TestOptimize_GitHubTriggerRunsOnceWithItsOrigin(t *testing.T) {
	natsAddr := FreeAddr(t)
	h := NewHub(t, "bus:\n  listen: "+natsAddr+"\n"+optimizeConfig)
	h.WriteFile("value.txt", "40\n")
	h.Start()
	p := Connect(t, natsAddr)

	ev, err := events.New(events.TypeTriggerGitHub, "e2e", "", inbound.Trigger{
		Trigger: events.Trigger{Kind: "github", By: "ana", Repo: "acme/shop", Issue: 7},
		Tasks:   []string{"exec"}, Level: "medium", Event: "issue_comment",
	})
	if err != nil {
		t.Fatal(err)
	}
	ev.ID = "e2e-delivery-7"
	data, err := ev.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The second copy, under another message id so JetStream's duplicate
	// window does not drop it, must start no second run.
	for _, subject := range []string{"tend.trigger.github.a", "tend.trigger.github.b"} {
		if _, err := p.js.Publish(ctx, subject, data, jetstream.WithMsgID(ev.ID+subject)); err != nil {
			t.Fatal(err)
		}
	}

	Eventually(t, 15*time.Second, "the triggered run in the file sink", func() bool {
		return len(outEvents(t, h, "optimization.completed")) >= 1
	})
	Eventually(t, 10*time.Second, "the copy handled", func() bool {
		return strings.Contains(h.Logs(), "trigger already started a run")
	})
	if n := len(outEvents(t, h, "optimization.requested")); n != 1 {
		t.Errorf("want 1 run requested, got %d", n)
	}
	run := decodeRun(t, outEvents(t, h, "optimization.completed")[0])
	tr := run.Trigger
	if tr.Kind != "github" || tr.Repo != "acme/shop" || tr.Issue != 7 || tr.EventID != ev.ID {
		t.Errorf("trigger = %+v", tr)
	}
	if run.Level != "medium" || run.Tasks[0].Measures[0].Before.Median != 40 ||
		run.Tasks[0].Measures[0].After.Median != 10 {
		t.Errorf("run = level %s, tasks %+v", run.Level, run.Tasks)
	}
}

// TestOptimize_TwoHubsOneRun joins a second hub to the first one's bus,
// both watching the same probe: both rule engines raise the alert, and one
// run starts; the hub that lost the alert's mark says so.
func TestOptimize_TwoHubsOneRun(t *testing.T) {
	busAddr := FreeAddr(t)
	a := NewHub(t, "bus:\n  listen: "+busAddr+"\n"+optimizeConfig)
	a.WriteFile("value.txt", "10\n")
	a.Start()
	b := NewHub(t, "hub: second\n"+strings.ReplaceAll(optimizeConfig, "{{DIR}}", a.Dir))
	b.Args = []string{"--nats-url", "nats://" + busAddr}
	b.Start()
	a.MustRun("enable")

	a.WriteFile("value.txt", "90\n")
	Eventually(t, 15*time.Second, "a completed run in the file sink", func() bool {
		return len(outEvents(t, a, "optimization.completed")) >= 1
	})
	Eventually(t, 10*time.Second, "the other hub standing back", func() bool {
		return strings.Contains(a.Logs()+b.Logs(), "another hub acts on this alert")
	})
	if n := len(outEvents(t, a, "optimization.requested")); n != 1 {
		t.Errorf("want 1 run requested by two hubs, got %d", n)
	}
}

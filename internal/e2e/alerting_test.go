package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

// alertingConfig samples probe.* from value.txt every second; the rules
// and what follows (integrations, routes, alerting) come from the test.
func alertingConfig(rest string) string {
	return `
collector:
  interval: 1s
  sources:
    - name: probe
      exec:
        command: ["cat", "{{DIR}}/value.txt"]
` + rest
}

const diskRule = `
rules:
  - name: disk_full
    metric: probe.disk
    above: 50
    severity: warning
`

// sent reads the alerts a file sink wrote, with their event ids.
func sent(t *testing.T, h *Hub, file string) ([]events.Alert, []string) {
	t.Helper()
	var out []events.Alert
	var ids []string
	for _, ev := range ReadEvents(t, h.Path(file)) {
		var a events.Alert
		if err := ev.Decode(&a); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
		ids = append(ids, ev.ID)
	}
	return out, ids
}

func count(t *testing.T, h *Hub, file string) int {
	a, _ := sent(t, h, file)
	return len(a)
}

// alertView is a line of `tend alerts --format json`.
type alertView struct {
	Fingerprint string `json:"fingerprint"`
	Rule        string `json:"rule"`
	Status      string `json:"status"`
	Muted       []struct {
		Route   int `json:"route"`
		Reasons []struct {
			Kind string `json:"kind"`
			ID   string `json:"id"`
		} `json:"reasons"`
	} `json:"muted"`
}

func alertViews(t *testing.T, h *Hub) []alertView {
	t.Helper()
	var out []alertView
	if err := json.Unmarshal([]byte(h.MustRun("alerts", "--format", "json")), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// mutedBy reports whether `tend alerts` shows rule muted for kind (and id,
// if given).
func mutedBy(t *testing.T, h *Hub, rule, kind, id string) bool {
	for _, a := range alertViews(t, h) {
		if a.Rule != rule || a.Status != "firing" {
			continue
		}
		for _, m := range a.Muted {
			for _, r := range m.Reasons {
				if r.Kind == kind && (id == "" || r.ID == id) {
					return true
				}
			}
		}
	}
	return false
}

// quiet fails the test if file grows past n lines within d.
func quiet(t *testing.T, h *Hub, file string, n int, d time.Duration, why string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if got := count(t, h, file); got > n {
			a, _ := sent(t, h, file)
			t.Fatalf("%s: want %d lines, got %d: %+v", why, n, got, a)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestAlerting_ThreeAlertsOneGroupOneNotification(t *testing.T) {
	h := NewHub(t, alertingConfig(diskRule+`
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
    group_by: [rule, host]
    group_wait: 3s
`))
	h.WriteFile("value.txt", "disk{mount=\"/a\"} 10\n")
	h.Start()
	h.WriteFile("value.txt", "disk{mount=\"/a\"} 90\ndisk{mount=\"/b\"} 91\ndisk{mount=\"/c\"} 92\n")

	Eventually(t, 15*time.Second, "a group notification", func() bool { return count(t, h, "out.jsonl") >= 1 })
	quiet(t, h, "out.jsonl", 1, 2*time.Second, "three alerts of one group")
	got, _ := sent(t, h, "out.jsonl")
	g := got[0]
	if g.Status != "firing" || len(g.Alerts) != 3 || g.Rule != "disk_full" {
		t.Fatalf("want one firing notification holding 3 alerts, got %+v", g)
	}
	mounts := map[string]bool{}
	for _, m := range g.Alerts {
		mounts[m.Labels["mount"]] = true
	}
	if len(mounts) != 3 {
		t.Fatalf("members: %+v", g.Alerts)
	}

	// All three resolve within the group interval: one resolved notification.
	h.WriteFile("value.txt", "disk{mount=\"/a\"} 10\ndisk{mount=\"/b\"} 10\ndisk{mount=\"/c\"} 10\n")
	Eventually(t, 15*time.Second, "the group resolved", func() bool {
		got, _ := sent(t, h, "out.jsonl")
		return len(got) >= 2 && got[len(got)-1].Status == "resolved"
	})
}

func TestAlerting_RepeatIntervalResendsWhileFiring(t *testing.T) {
	h := NewHub(t, alertingConfig(diskRule+`
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
    repeat_interval: 2s
`))
	h.WriteFile("value.txt", "disk 90\n")
	h.Start()
	Eventually(t, 15*time.Second, "two repeats", func() bool { return count(t, h, "out.jsonl") >= 3 })
	h.WriteFile("value.txt", "disk 10\n")
	Eventually(t, 10*time.Second, "the resolution", func() bool {
		got, _ := sent(t, h, "out.jsonl")
		return got[len(got)-1].Status == "resolved"
	})
	got, ids := sent(t, h, "out.jsonl")
	n := len(got)
	seen := map[string]bool{}
	for i, a := range got {
		if seen[ids[i]] {
			t.Fatalf("event id %s sent twice", ids[i])
		}
		seen[ids[i]] = true
		wantRepeat := i > 0 && i < n-1
		if a.Repeat != wantRepeat || a.Fingerprint != got[0].Fingerprint {
			t.Fatalf("line %d: repeat=%v fingerprint=%s; want repeat=%v", i, a.Repeat, a.Fingerprint, wantRepeat)
		}
	}
	quiet(t, h, "out.jsonl", n, 3*time.Second, "no repeats after the resolution")
}

func TestAlerting_SilenceStopsDeliveryUntilItEnds(t *testing.T) {
	h := NewHub(t, alertingConfig(diskRule+`
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
`))
	h.WriteFile("value.txt", "disk 10\n")
	h.Start()

	out := h.MustRun("silence", "add", "--match", "rule=disk_full,host=~.+", "--for", "1h", "--comment", "disk swap")
	id := strings.TrimSuffix(strings.Fields(out)[1], ":")
	if list := h.MustRun("silence", "list"); !strings.Contains(list, id) || !strings.Contains(list, "active") {
		t.Fatalf("silence list:\n%s", list)
	}
	h.WriteFile("value.txt", "disk 90\n")
	Eventually(t, 10*time.Second, "tend alerts showing the silence", func() bool {
		return mutedBy(t, h, "disk_full", "silence", id)
	})
	quiet(t, h, "out.jsonl", 0, 2*time.Second, "silenced")
	if table := h.MustRun("alerts"); !strings.Contains(table, "silence "+id) {
		t.Fatalf("tend alerts does not say why:\n%s", table)
	}

	// Expiring the silence while the alert fires sends it.
	h.MustRun("silence", "expire", id)
	Eventually(t, 10*time.Second, "the firing after the silence", func() bool { return count(t, h, "out.jsonl") == 1 })
	if mutedBy(t, h, "disk_full", "silence", "") {
		t.Fatal("tend alerts still shows the silence")
	}

	// A silence that runs out on its own does the same.
	h.WriteFile("value.txt", "disk 10\n")
	Eventually(t, 10*time.Second, "the resolution", func() bool { return count(t, h, "out.jsonl") == 2 })
	h.MustRun("silence", "add", "--match", "rule=disk_full", "--for", "4s", "--comment", "short")
	h.WriteFile("value.txt", "disk 90\n")
	Eventually(t, 10*time.Second, "muted again", func() bool { return mutedBy(t, h, "disk_full", "silence", "") })
	if n := count(t, h, "out.jsonl"); n != 2 {
		t.Fatalf("silenced firing sent: %d lines", n)
	}
	Eventually(t, 10*time.Second, "the firing once the silence ran out", func() bool {
		return count(t, h, "out.jsonl") == 3
	})
}

func TestAlerting_InhibitionMutesTargetsUntilSourceResolves(t *testing.T) {
	h := NewHub(t, alertingConfig(`
rules:
  - name: host_down
    metric: probe.down
    above: 0.5
    severity: critical
  - name: disk_full
    metric: probe.disk
    above: 50
    severity: warning
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
alerting:
  inhibit:
    - source: [rule=host_down]
      target: [rule=~disk_.*]
      equal: [host]
`))
	h.WriteFile("value.txt", "down 0\ndisk 10\n")
	h.Start()
	h.WriteFile("value.txt", "down 1\ndisk 10\n")
	Eventually(t, 10*time.Second, "host_down sent", func() bool { return count(t, h, "out.jsonl") == 1 })
	got, _ := sent(t, h, "out.jsonl")
	source := got[0].Fingerprint

	h.WriteFile("value.txt", "down 1\ndisk 90\n")
	Eventually(t, 10*time.Second, "disk_full inhibited", func() bool {
		return mutedBy(t, h, "disk_full", "inhibited", source)
	})
	quiet(t, h, "out.jsonl", 1, 2*time.Second, "inhibited target")

	h.WriteFile("value.txt", "down 0\ndisk 90\n")
	Eventually(t, 10*time.Second, "host_down resolved and disk_full sent", func() bool {
		return count(t, h, "out.jsonl") == 3
	})
	got, _ = sent(t, h, "out.jsonl")
	if got[1].Rule != "host_down" || got[1].Status != "resolved" || got[2].Rule != "disk_full" ||
		got[2].Status != "firing" {
		t.Fatalf("want host_down resolved then disk_full firing, got %s %s, %s %s",
			got[1].Rule, got[1].Status, got[2].Rule, got[2].Status)
	}
}

func TestAlerting_WindowCoveringNowMutesOneThatDoesNotDoesNot(t *testing.T) {
	// A window two hours ahead, in a zone whose offset is not whole hours.
	loc, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().In(loc).Add(2 * time.Hour)
	h := NewHub(t, alertingConfig(diskRule+fmt.Sprintf(`
integrations:
  - name: paged
    type: file
    path: {{DIR}}/paged.jsonl
  - name: logged
    type: file
    path: {{DIR}}/logged.jsonl
routes:
  - match: {type: alert}
    to: [paged]
    mute: [now]
  - match: {type: alert}
    to: [logged]
    mute: [later]
alerting:
  windows:
    - name: now
      start: "00:00"
      end: "24:00"
      time_zone: Europe/Istanbul
    - name: later
      days: [%s]
      start: "%s"
      end: "%s"
      time_zone: Asia/Kolkata
`, strings.ToLower(later.Weekday().String()[:3]), later.Format("15:04"), later.Add(30*time.Minute).Format("15:04"))))
	h.WriteFile("value.txt", "disk 90\n")
	h.Start()
	Eventually(t, 10*time.Second, "the alert on the route outside its window", func() bool {
		return count(t, h, "logged.jsonl") == 1
	})
	Eventually(t, 10*time.Second, "tend alerts naming the window", func() bool {
		return mutedBy(t, h, "disk_full", "window", "now")
	})
	quiet(t, h, "paged.jsonl", 0, 2*time.Second, "inside the window")
}

func TestAlerting_FlappingHoldsUntilSettled(t *testing.T) {
	h := NewHub(t, alertingConfig(diskRule+`
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
alerting:
  flapping: {changes: 3, window: 1m, settle: 4s}
`))
	h.WriteFile("value.txt", "disk 10\n")
	h.Start()

	// Flip every second for 10 s: far more than 3 changes in a minute.
	flagged := false
	for i := range 10 {
		if i%2 == 0 {
			h.WriteFile("value.txt", "disk 90\n")
		} else {
			h.WriteFile("value.txt", "disk 10\n")
		}
		time.Sleep(time.Second)
		flagged = flagged || mutedBy(t, h, "disk_full", "flapping", "")
	}
	h.WriteFile("value.txt", "disk 90\n")
	held := count(t, h, "out.jsonl")
	if held > 3 {
		t.Fatalf("flapping alert sent %d notifications, want at most 3 (the changes before it flapped)", held)
	}
	Eventually(t, 5*time.Second, "tend alerts showing flapping", func() bool {
		return flagged || mutedBy(t, h, "disk_full", "flapping", "")
	})

	Eventually(t, 15*time.Second, "one notification once settled", func() bool {
		return count(t, h, "out.jsonl") == held+1
	})
	got, _ := sent(t, h, "out.jsonl")
	if last := got[len(got)-1]; last.Status != "firing" {
		t.Fatalf("settled firing, but the notification says %s", last.Status)
	}
	t.Logf("%d notifications before the alert was flapping, 1 once it settled", held)
	quiet(t, h, "out.jsonl", held+1, 2*time.Second, "settled")
}

func TestAlerting_DeliveryLogListsRetriesAndSurvivesRestart(t *testing.T) {
	rcv := NewReceiver(t)
	rcv.SetDown(true)
	h := NewHub(t, alertingConfig(diskRule+fmt.Sprintf(`
integrations:
  - name: hook
    type: webhook
    url: %s
    retry: {initial: 200ms, max_interval: 400ms, jitter: 0}
routes:
  - match: {type: alert}
    to: [hook]
`, rcv.URL)))
	h.WriteFile("value.txt", "disk 90\n")
	h.Start()
	Eventually(t, 10*time.Second, "two refused attempts", func() bool { return rcv.Failures() >= 2 })
	rcv.SetDown(false)
	Eventually(t, 10*time.Second, "the delivery", func() bool { return len(rcv.Got()) == 1 })

	type attempt struct {
		EventID     string `json:"event_id"`
		Integration string `json:"integration"`
		Attempt     int    `json:"attempt"`
		Outcome     string `json:"outcome"`
		Status      int    `json:"status"`
		Fingerprint string `json:"fingerprint"`
	}
	check := func(when string) {
		t.Helper()
		var log []attempt
		Eventually(t, 10*time.Second, "the delivery log "+when, func() bool {
			out, err := h.Run("deliveries", "--integration", "hook", "--format", "json")
			if err != nil || json.Unmarshal([]byte(out), &log) != nil {
				return false
			}
			return len(log) >= 3 && log[len(log)-1].Outcome == "delivered"
		})
		for i, a := range log {
			if a.Attempt != i+1 || a.Integration != "hook" || a.Fingerprint == "" {
				t.Fatalf("%s: entry %d: %+v", when, i, a)
			}
			if i < len(log)-1 && (a.Outcome != "retry" || a.Status != 503) {
				t.Fatalf("%s: entry %d: want a 503 retry, got %+v", when, i, a)
			}
			if _, ok := rcv.Got()[a.EventID]; !ok {
				t.Fatalf("%s: entry %d names event %s, not the one delivered", when, i, a.EventID)
			}
		}
		table := h.MustRun("deliveries", "--integration", "hook")
		if !strings.Contains(table, "retry") || !strings.Contains(table, "delivered") {
			t.Fatalf("%s: table:\n%s", when, table)
		}
	}
	check("before the restart")
	h.Stop()
	h.Start()
	check("after the restart")
}

// TestAlerting_TimersSurviveRestart stops the hub while a group waits and
// while a silence runs: the restarted hub sends both when they fall due.
func TestAlerting_TimersSurviveRestart(t *testing.T) {
	h := NewHub(t, alertingConfig(diskRule+`
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
    group_by: [rule]
    group_wait: 6s
`))
	h.WriteFile("value.txt", "disk 10\n")
	h.Start()
	h.WriteFile("value.txt", "disk 90\n")
	Eventually(t, 10*time.Second, "the alert firing", func() bool {
		for _, a := range alertViews(t, h) {
			if a.Rule == "disk_full" && a.Status == "firing" {
				return true
			}
		}
		return false
	})
	h.Stop()
	if n := count(t, h, "out.jsonl"); n != 0 {
		t.Fatalf("sent before group_wait: %d lines", n)
	}
	h.Start()
	Eventually(t, 15*time.Second, "the group after the restart", func() bool { return count(t, h, "out.jsonl") == 1 })

	// Resolve, silence for 5 s, fire again, restart: the silence's end
	// still sends the firing.
	h.WriteFile("value.txt", "disk 10\n")
	Eventually(t, 10*time.Second, "the resolution", func() bool { return count(t, h, "out.jsonl") == 2 })
	h.MustRun("silence", "add", "--match", "rule=disk_full", "--for", "5s", "--comment", "restart test")
	h.WriteFile("value.txt", "disk 90\n")
	Eventually(t, 10*time.Second, "muted", func() bool { return mutedBy(t, h, "disk_full", "silence", "") })
	h.Stop()
	h.Start()
	Eventually(t, 15*time.Second, "the firing once the silence ended", func() bool {
		return count(t, h, "out.jsonl") == 3
	})
	got, _ := sent(t, h, "out.jsonl")
	if got[2].Status != "firing" || len(got[2].Alerts) != 1 {
		t.Fatalf("third notification: %+v", got[2])
	}
}

// TestAlerting_TwoHubsRepeatOnce runs two hubs on one NATS with a 1 s
// repeat: each repeat is claimed by one hub, so the receiver sees about one
// per second, each id once.
func TestAlerting_TwoHubsRepeatOnce(t *testing.T) {
	rcv := NewReceiver(t)
	busAddr := FreeAddr(t)
	cfg := func(head string) string {
		return head + fmt.Sprintf(`
integrations:
  - name: hook
    type: webhook
    url: %s
routes:
  - match: {type: alert}
    to: [hook]
    repeat_interval: 1s
`, rcv.URL)
	}
	a := NewHub(t, cfg("bus:\n  listen: "+busAddr+"\n"))
	a.Start()
	b := NewHub(t, cfg("hub: second\n"))
	b.Args = []string{"--nats-url", "nats://" + busAddr}
	b.Start()

	pub := Connect(t, busAddr)
	start := time.Now()
	ev := pub.Alert(t, "two-hub-repeat", events.StatusFiring)
	Eventually(t, 10*time.Second, "the alert", func() bool { return rcv.Got()[ev.ID] == 1 })
	time.Sleep(5 * time.Second)
	got := rcv.Got()
	elapsed := time.Since(start)
	repeats := 0
	for id, n := range got {
		if n != 1 {
			t.Errorf("%s delivered %d times", id, n)
		}
		if strings.HasPrefix(id, ev.ID+"-r") {
			repeats++
		}
	}
	if max := int(elapsed/time.Second) + 1; repeats < 3 || repeats > max {
		t.Fatalf("%d repeats in %s with repeat_interval 1s on two hubs, want 3 to %d", repeats, elapsed, max)
	}
	t.Logf("%d repeats in %s, sent by hub a %d times, by hub b %d times", repeats, elapsed.Round(time.Millisecond),
		strings.Count(a.Logs(), "msg=notification"), strings.Count(b.Logs(), "msg=notification"))
}

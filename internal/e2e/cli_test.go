package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

// TestCLI_DeadLettersTestAndMetrics drives the delivery engine's CLI: a
// receiver that refuses with 400 dead-letters, `tend deadletters` lists,
// shows and replays it once the receiver is fixed, `tend test integration`
// goes through the real path, and /metrics counts it all.
func TestCLI_DeadLettersTestAndMetrics(t *testing.T) {
	var broken atomic.Bool
	broken.Store(true)
	var got atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, `{"error":"schema says no"}`, http.StatusBadRequest)
			return
		}
		got.Add(1)
	}))
	defer rcv.Close()
	busAddr := FreeAddr(t)
	h := NewHub(t, hookConfig(busAddr, rcv.URL))
	h.Start()
	pub := Connect(t, busAddr)
	ev := pub.Alert(t, "cli-dl", events.StatusFiring)

	var list []struct {
		ID       uint64
		Attempts int
		Reason   string
		Event    events.Event
	}
	Eventually(t, 10*time.Second, "a dead letter", func() bool {
		out, err := h.Run("deadletters", "list", "--format", "json")
		return err == nil && json.Unmarshal([]byte(out), &list) == nil && len(list) == 1
	})
	if list[0].Event.ID != ev.ID || list[0].Attempts != 1 || !strings.Contains(list[0].Reason, "http 400") {
		t.Fatalf("dead letter %+v", list[0])
	}
	table := h.MustRun("deadletters", "list")
	if !strings.Contains(table, "hook") || !strings.Contains(table, ev.ID) {
		t.Fatalf("table:\n%s", table)
	}
	show := h.MustRun("deadletters", "show", fmt.Sprint(list[0].ID))
	if !strings.Contains(show, "schema says no") {
		t.Fatalf("show lacks the error:\n%s", show)
	}

	broken.Store(false)
	h.MustRun("deadletters", "replay", fmt.Sprint(list[0].ID))
	Eventually(t, 10*time.Second, "the replayed delivery", func() bool { return got.Load() == 1 })
	if out := h.MustRun("deadletters", "list", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("dead letter still listed: %s", out)
	}

	out := h.MustRun("test", "integration", "hook")
	if !strings.Contains(out, "hook: delivered") {
		t.Fatalf("tend test integration:\n%s", out)
	}
	if _, err := h.Run("test", "integration", "nope"); err == nil {
		t.Fatal("testing an unknown integration must fail")
	}

	integ := h.MustRun("integrations", "--format", "json")
	for _, want := range []string{`"delivered": 2`, `"dead_lettered": 1`} {
		if !strings.Contains(integ, want) {
			t.Errorf("tend integrations lacks %s:\n%s", want, integ)
		}
	}
	deliveries := h.MustRun("deliveries", "--integration", "hook", "--format", "summary")
	if !strings.Contains(deliveries, "3 attempts: 2 delivered, 0 retried, 1 dead-lettered") {
		t.Errorf("tend deliveries: %s", deliveries)
	}

	resp, err := http.Get("http://" + h.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`tend_deliveries_total{integration="hook",outcome="delivered"} 2`,
		`tend_deliveries_total{integration="hook",outcome="dead_lettered"} 1`,
		`tend_delivery_duration_seconds_count{integration="hook"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServe_LongNamesNeverCutTheBus: names long enough to overflow a NATS
// control line are refused at every edge (API path, query, import, exec
// output) and the hub stays healthy.
func TestServe_LongNamesNeverCutTheBus(t *testing.T) {
	long := strings.Repeat("m", 5000)
	h := NewHub(t, `
collector:
  interval: 1s
  sources:
    - name: probe
      exec: {command: [cat, "{{DIR}}/out.txt"]}
`)
	h.WriteFile("out.txt", long+" 1\nok 2\n")
	h.WriteFile("imp.jsonl", `{"name":"`+long+`","value":1,"time":"2026-12-04T16:00:00Z"}`+"\n")
	h.Start()

	for _, path := range []string{
		"/api/v1/metrics/" + long[:4000],
		"/api/v1/deliveries?integration=" + long[:4000],
		"/api/v1/silences/" + long[:4000],
	} {
		resp, err := http.Get("http://" + h.Addr + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode < 400 || resp.StatusCode > 499 {
			t.Errorf("GET %.40s…: %d, want 4xx", path, resp.StatusCode)
		}
	}
	out, _ := h.Run("import", h.Path("imp.jsonl"))
	if !strings.Contains(out, "skipped 1 malformed") {
		t.Errorf("import of a long name: %s", out)
	}
	Eventually(t, 10*time.Second, "the good exec sample", func() bool {
		out, err := h.Run("metrics", "--format", "json")
		return err == nil && strings.Contains(out, `"probe.ok"`)
	})
	resp, err := http.Get("http://" + h.Addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("healthz %d after long names:\n%s", resp.StatusCode, h.Logs())
	}
	if strings.Contains(h.Logs(), long[:300]) {
		t.Error("a 5,000-character name was logged whole")
	}
}

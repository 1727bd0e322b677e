package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

func hookConfig(busListen, url string) string {
	return fmt.Sprintf(`
bus:
  listen: %s
integrations:
  - name: hook
    type: webhook
    url: %s
    max_in_flight: 16
    ack_wait: 2s
    retry: {initial: 100ms, max_interval: 400ms, jitter: 0.1}
routes:
  - match: {type: alert}
    to: [hook]
`, busListen, url)
}

// TestKill_NothingLostNothingTwice routes events while the receiver is
// down, kills the hub with SIGKILL, brings the receiver back and restarts
// the hub: every event arrives, none twice. It repeats the cycle (20 times
// by default, TEND_KILL_ROUNDS to change).
func TestKill_NothingLostNothingTwice(t *testing.T) {
	rounds := 20
	if v, err := strconv.Atoi(os.Getenv("TEND_KILL_ROUNDS")); err == nil && v > 0 {
		rounds = v
	}
	if testing.Short() {
		rounds = 3
	}
	rcv := NewReceiver(t)
	busAddr := FreeAddr(t)
	h := NewHub(t, hookConfig(busAddr, rcv.URL))

	var sent []events.Event
	for round := range rounds {
		rcv.SetDown(true)
		h.Start()
		pub := Connect(t, busAddr)

		before := rcv.Failures()
		fp := fmt.Sprintf("kill%02d", round)
		sent = append(sent, pub.Alert(t, fp, events.StatusFiring))
		for i := range 4 {
			sent = append(sent, pub.Alert(t, fmt.Sprintf("%s-%d", fp, i), events.StatusFiring))
		}
		sent = append(sent, pub.Alert(t, fp, events.StatusResolved))
		Eventually(t, 10*time.Second, "attempts against the down receiver", func() bool {
			return rcv.Failures() >= before+5
		})
		h.Kill()

		rcv.SetDown(false)
		h.Start()
		defer func() {
			if t.Failed() {
				_ = os.WriteFile("/tmp/tend-kill.log", []byte(h.Logs()), 0o644)
			}
		}()
		Eventually(t, 20*time.Second, fmt.Sprintf("round %d delivered", round), func() bool {
			got := rcv.Got()
			for _, ev := range sent {
				if got[ev.ID] == 0 {
					return false
				}
			}
			return true
		})
		// The receiver can count a delivery a moment before the hub records
		// it; a kill in that moment is a lost answer, which any sender must
		// repeat. The kill that matters came mid-retry above; end the round
		// with a clean stop.
		h.Stop()
	}

	got := rcv.Got()
	var twice []string
	for _, ev := range sent {
		if got[ev.ID] != 1 {
			twice = append(twice, fmt.Sprintf("%s×%d", ev.ID, got[ev.ID]))
		}
	}
	if len(twice) > 0 || len(got) != len(sent) {
		t.Fatalf("%d events sent, %d ids received; not exactly once: %s", len(sent), len(got), strings.Join(twice, ", "))
	}
	t.Logf("%d rounds, %d events, each delivered exactly once, %d refused attempts", rounds, len(sent), rcv.Failures())
}

// TestTwoHubs_DeliverOnce runs one hub with an embedded NATS port and a
// second joined to it; 1,000 events are delivered exactly once in total.
func TestTwoHubs_DeliverOnce(t *testing.T) {
	rcv := NewReceiver(t)
	busAddr := FreeAddr(t)
	a := NewHub(t, hookConfig(busAddr, rcv.URL))
	a.Start()
	b := NewHub(t, strings.Replace(hookConfig("", rcv.URL), "  listen: \n", "", 1))
	b.Args = []string{"--nats-url", "nats://" + busAddr}
	b.Env = []string{"TEND_HUB_NAME=second"}
	b.WriteFile("tend.yaml", strings.Replace(hookConfig("", rcv.URL), "bus:\n  listen: \n", "hub: second\n", 1))
	b.Start()

	pub := Connect(t, busAddr)
	var mu sync.Mutex
	var sent []events.Event
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 250 {
				ev := pub.Alert(t, fmt.Sprintf("two-%d-%d", w, i), events.StatusFiring)
				mu.Lock()
				sent = append(sent, ev)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	Eventually(t, 60*time.Second, "1,000 deliveries", func() bool { return len(rcv.Got()) >= 1000 })
	time.Sleep(500 * time.Millisecond)

	got := rcv.Got()
	total := 0
	for _, ev := range sent {
		if got[ev.ID] != 1 {
			t.Errorf("event %s delivered %d times", ev.ID, got[ev.ID])
		}
		total += got[ev.ID]
	}
	if total != 1000 {
		t.Fatalf("want 1000 deliveries, got %d", total)
	}
	aLogs, bLogs := strings.Count(a.Logs(), "msg=delivered"), strings.Count(b.Logs(), "msg=delivered")
	t.Logf("hub a delivered %d, hub b delivered %d", aLogs, bLogs)
}

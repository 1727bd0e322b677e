package router_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/router"

	_ "github.com/tend-dev/tend/integrations/webhook"
)

// receiver is a real HTTP endpoint whose answers a test scripts.
type receiver struct {
	*httptest.Server

	mu       sync.Mutex
	answers  []func(w http.ResponseWriter) // consumed in order; then 200
	calls    []call
	received map[string]int // webhook-id → successful deliveries
}

type call struct {
	id     string
	at     time.Time
	status int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{received: map[string]int{}}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		var answer func(w http.ResponseWriter)
		if len(r.answers) > 0 {
			answer, r.answers = r.answers[0], r.answers[1:]
		}
		rec := httptest.NewRecorder()
		if answer != nil {
			answer(rec)
		} else {
			rec.WriteHeader(200)
			r.received[id]++
		}
		r.calls = append(r.calls, call{id: id, at: time.Now(), status: rec.Code})
		r.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) script(answers ...func(w http.ResponseWriter)) {
	r.mu.Lock()
	r.answers = append(r.answers, answers...)
	r.mu.Unlock()
}

func (r *receiver) snapshot() ([]call, map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[string]int, len(r.received))
	for k, v := range r.received {
		m[k] = v
	}
	return append([]call(nil), r.calls...), m
}

func status(code int, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		_, _ = fmt.Fprintf(w, `{"error":"scripted %d"}`, code)
	}
}

type harness struct {
	bus    *bus.Bus
	router *router.Router
	cancel context.CancelFunc
	done   chan error
}

// start runs a router over an embedded bus with one webhook integration
// "hook" receiving every alert.
func start(t *testing.T, url, extra string) *harness {
	t.Helper()
	yaml := fmt.Sprintf(`
integrations:
  - name: hook
    type: webhook
    url: %s
    secret: whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=
    retry: {initial: 100ms, max_interval: 1s, jitter: 0}
%s
routes:
  - match: {type: alert}
    to: [hook]
`, url, extra)
	cfg, err := config.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Hub = "test"
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	b, err := bus.Open(context.Background(), bus.Options{DataDir: t.TempDir(), Name: "test", Config: cfg.Bus, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	r, err := router.New(cfg, b, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{bus: b, router: r, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
		b.Close()
	})
	// The consumer must exist before events are published (DeliverNew).
	waitFor(t, 5*time.Second, "consumer", func() bool {
		_, err := b.JS.Consumer(context.Background(), bus.StreamEvents, "deliver-hook")
		return err == nil
	})
	return h
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func (h *harness) publishAlert(t *testing.T, fp, status string) events.Event {
	t.Helper()
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		typ = events.TypeAlertResolved
	}
	ev, err := events.New(typ, "test", fp, events.Alert{
		Fingerprint: fp, Rule: "r", Status: status, Severity: "warning", Summary: "test " + status,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.bus.Publish(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	return ev
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func stats(t *testing.T, h *harness) router.Stats {
	t.Helper()
	s, err := h.router.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return s["hook"]
}

func TestRouter_RetriesUntilDelivered(t *testing.T) {
	rcv := newReceiver(t)
	rcv.script(status(503), status(503))
	h := start(t, rcv.URL, "")

	ev := h.publishAlert(t, "fp1", events.StatusFiring)
	waitFor(t, 10*time.Second, "delivery", func() bool { _, got := rcv.snapshot(); return got[ev.ID] == 1 })

	calls, got := rcv.snapshot()
	if len(calls) != 3 || got[ev.ID] != 1 {
		t.Fatalf("want 3 calls and 1 delivery, got %d calls, %d deliveries", len(calls), got[ev.ID])
	}
	for _, c := range calls {
		if c.id != ev.ID {
			t.Fatalf("webhook-id changed across retries: %q vs %q", c.id, ev.ID)
		}
	}
	waitFor(t, 5*time.Second, "analytics", func() bool { return stats(t, h).Delivered == 1 })
	s := stats(t, h)
	if s.Attempts() != 3 || s.FailedAttempts != 2 || s.Retried != 2 || s.DeadLettered != 0 {
		t.Fatalf("analytics: %+v", s)
	}
	if s.Health != router.HealthOK {
		t.Fatalf("health after recovery = %s", s.Health)
	}
}

func TestRouter_RetryAfterWins(t *testing.T) {
	rcv := newReceiver(t)
	rcv.script(status(429, "Retry-After", "2"))
	h := start(t, rcv.URL, "")

	ev := h.publishAlert(t, "fp2", events.StatusFiring)
	waitFor(t, 10*time.Second, "delivery", func() bool { _, got := rcv.snapshot(); return got[ev.ID] == 1 })

	calls, _ := rcv.snapshot()
	if len(calls) != 2 {
		t.Fatalf("want 2 calls, got %d", len(calls))
	}
	if gap := calls[1].at.Sub(calls[0].at); gap < 2*time.Second {
		t.Fatalf("second attempt came %s after a 429 with Retry-After: 2", gap)
	}
}

func TestRouter_PermanentErrorDeadLettersThenReplay(t *testing.T) {
	rcv := newReceiver(t)
	rcv.script(status(400))
	h := start(t, rcv.URL, "")
	dls := router.DeadLetters{B: h.bus}
	ctx := context.Background()

	ev := h.publishAlert(t, "fp3", events.StatusFiring)
	var list []router.DeadLetter
	waitFor(t, 10*time.Second, "dead letter", func() bool {
		list, _ = dls.List(ctx, "hook")
		return len(list) == 1
	})
	calls, _ := rcv.snapshot()
	if len(calls) != 1 {
		t.Fatalf("400 must dead-letter after 1 attempt, made %d", len(calls))
	}
	dl := list[0]
	if dl.Event.ID != ev.ID || dl.Attempts != 1 || dl.Integration != "hook" || !strings.Contains(dl.Reason, "permanent") {
		t.Fatalf("dead letter: %+v", dl)
	}
	if strings.Contains(dl.LastError, "c2VjcmV0") || strings.Contains(dl.LastError, rcv.URL) {
		t.Fatalf("dead letter leaks a secret or URL: %q", dl.LastError)
	}

	// The receiver is fixed (no more scripted errors): replay delivers once.
	if _, err := dls.Replay(ctx, dl.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := dls.Replay(ctx, dl.ID); err == nil {
		t.Fatal("replaying a replayed dead letter must fail")
	}
	waitFor(t, 10*time.Second, "replayed delivery", func() bool { _, got := rcv.snapshot(); return got[ev.ID] == 1 })
	if list, _ := dls.List(ctx, "hook"); len(list) != 0 {
		t.Fatalf("dead letter still there after replay: %+v", list)
	}
	time.Sleep(300 * time.Millisecond)
	if _, got := rcv.snapshot(); got[ev.ID] != 1 {
		t.Fatalf("replay delivered %d times", got[ev.ID])
	}
}

func TestRouter_ResolvedNeverOvertakesFiring(t *testing.T) {
	rcv := newReceiver(t)
	rcv.script(status(503), status(503), status(503))
	h := start(t, rcv.URL, "    max_in_flight: 8\n")

	firing := h.publishAlert(t, "fp4", events.StatusFiring)
	resolved := h.publishAlert(t, "fp4", events.StatusResolved)
	waitFor(t, 15*time.Second, "both delivered", func() bool {
		_, got := rcv.snapshot()
		return got[firing.ID] == 1 && got[resolved.ID] == 1
	})
	calls, _ := rcv.snapshot()
	var order []string
	for _, c := range calls {
		if c.status == 200 {
			order = append(order, c.id)
		}
	}
	if order[0] != firing.ID {
		t.Fatalf("resolved delivered before firing: %v", order)
	}
}

func TestRouter_RateLimit(t *testing.T) {
	rcv := newReceiver(t)
	h := start(t, rcv.URL, "    rate: 5/s\n    burst: 1\n")
	start := time.Now()
	for i := range 6 {
		h.publishAlert(t, fmt.Sprintf("rl%d", i), events.StatusFiring)
	}
	waitFor(t, 10*time.Second, "6 deliveries", func() bool { _, got := rcv.snapshot(); return len(got) == 6 })
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("6 events at 5/s took %s", took)
	}
}

func TestDelay(t *testing.T) {
	p := config.Retry{Initial: config.Duration(time.Second), Multiplier: 2,
		MaxInterval: config.Duration(5 * time.Minute)}
	cases := []struct {
		attempt    int
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0, time.Second},
		{2, 0, 2 * time.Second},
		{3, 0, 4 * time.Second},
		{20, 0, 5 * time.Minute},
		{1, 30 * time.Second, 30 * time.Second},
		{3, time.Second, 4 * time.Second},
		{1, 3 * time.Hour, time.Hour},
	}
	for _, c := range cases {
		if got := router.Delay(p, c.attempt, c.retryAfter); got != c.want {
			t.Errorf("Delay(attempt %d, retry-after %s) = %s, want %s", c.attempt, c.retryAfter, got, c.want)
		}
	}
	p.Jitter = 0.2
	for range 100 {
		d := router.Delay(p, 3, 0)
		if d < 3200*time.Millisecond || d > 4800*time.Millisecond {
			t.Fatalf("jittered delay %s outside 4s ± 20%%", d)
		}
	}
}

// TestRouter_ManyAlertsKeepTheirOrder publishes firing/resolved cycles of
// twenty alerts at once with eight deliveries in flight: for every alert,
// the receiver sees its events in the order they were stored.
func TestRouter_ManyAlertsKeepTheirOrder(t *testing.T) {
	rcv := newReceiver(t)
	h := start(t, rcv.URL, "    max_in_flight: 8\n")
	var want []events.Event
	for cycle := range 5 {
		for a := range 20 {
			fp := fmt.Sprintf("many%02d", a)
			want = append(want, h.publishAlert(t, fp, events.StatusFiring))
			want = append(want, h.publishAlert(t, fp, events.StatusResolved))
			_ = cycle
		}
	}
	waitFor(t, 20*time.Second, "all deliveries", func() bool { _, got := rcv.snapshot(); return len(got) == len(want) })

	calls, _ := rcv.snapshot()
	pos := map[string]int{}
	for i, c := range calls {
		pos[c.id] = i
	}
	last := map[string]int{}
	for _, ev := range want {
		fp := ev.Subject
		if p, ok := last[fp]; ok && pos[ev.ID] < p {
			t.Fatalf("event %s of %s delivered before an earlier one", ev.ID, fp)
		}
		last[fp] = pos[ev.ID]
	}
}

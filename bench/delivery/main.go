// Command delivery measures tend's delivery engine through the real binary:
// a local webhook receiver on 127.0.0.1, `tend serve` with one webhook
// integration, and events stored on its bus through the port bus.listen
// opens. It prints deliveries per second for a burst of events, and
// event-to-receipt latency percentiles at a steady rate.
//
//	go run ./bench/delivery [-n 10000] [-rate 1000] [-seconds 10] [-inflight 64] [-kind alert|report]
//
// Alert events pass the alerting stage (silences, grouping) before the
// router; report events go to the router directly.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

func main() {
	n := flag.Int("n", 10000, "events in the burst")
	rate := flag.Int("rate", 1000, "events per second in the steady phase")
	seconds := flag.Int("seconds", 10, "length of the steady phase")
	inflight := flag.Int("inflight", 64, "max_in_flight of the integration")
	bin := flag.String("bin", "", "tend binary (default: build one)")
	flag.StringVar(&kind, "kind", "alert", "alert (through the alerting stage) or report (router only)")
	flag.Parse()
	if err := run(*n, *rate, *seconds, *inflight, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// kind is the kind of event the bench stores.
var kind string

type receiver struct {
	mu   sync.Mutex
	got  map[string]time.Time
	cond *sync.Cond
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	now := time.Now()
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	if _, dup := r.got[id]; !dup {
		r.got[id] = now
	}
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func freeAddr() string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	defer ln.Close()
	return ln.Addr().String()
}

func run(n, rate, seconds, inflight int, bin string) error {
	dir, err := os.MkdirTemp("", "tend-bench-delivery")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if bin == "" {
		bin = filepath.Join(dir, "tend")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tend").CombinedOutput(); err != nil {
			return fmt.Errorf("build: %v\n%s", err, out)
		}
	}

	rcv := &receiver{got: map[string]time.Time{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	go http.Serve(ln, rcv)

	busAddr, apiAddr := freeAddr(), freeAddr()
	cfg := fmt.Sprintf(`bus:
  listen: %s
integrations:
  - name: hook
    type: webhook
    url: http://%s/hook
    max_in_flight: %d
routes:
  - match: {type: [alert, report]}
    to: [hook]
`, busAddr, ln.Addr(), inflight)
	cfgPath := filepath.Join(dir, "tend.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return err
	}
	cmd := exec.Command(bin, "serve", "--config", cfgPath, "--data-dir", filepath.Join(dir, "data"),
		"--listen", apiAddr, "--log-level", "warn")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	if err := waitReady(apiAddr); err != nil {
		return err
	}

	nc, err := nats.Connect("nats://" + busAddr)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, _ := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))

	// Burst: store n events as fast as possible, time until all arrive.
	sent := map[string]time.Time{}
	start := time.Now()
	for i := range n {
		ev := alertEvent(fmt.Sprintf("burst-%d", i))
		sent[ev.ID] = time.Now()
		if err := publishAsync(js, ev); err != nil {
			return err
		}
	}
	<-js.PublishAsyncComplete()
	stored := time.Since(start)
	if err := waitCount(rcv, n, 5*time.Minute); err != nil {
		return err
	}
	took := time.Since(start)
	fmt.Printf("%s events: ", kind)
	fmt.Printf("burst: %d events stored in %s, all delivered in %s: %.0f deliveries/s\n",
		n, stored.Round(time.Millisecond), took.Round(time.Millisecond), float64(n)/took.Seconds())

	// Steady: rate events per second, latency from store to receipt.
	total := rate * seconds
	interval := time.Second / time.Duration(rate)
	steady := map[string]time.Time{}
	tick := time.NewTicker(interval)
	for i := range total {
		<-tick.C
		ev := alertEvent(fmt.Sprintf("steady-%d", i))
		steady[ev.ID] = time.Now()
		if err := publishAsync(js, ev); err != nil {
			return err
		}
	}
	tick.Stop()
	<-js.PublishAsyncComplete()
	if err := waitCount(rcv, n+total, 2*time.Minute); err != nil {
		return err
	}
	rcv.mu.Lock()
	lat := make([]time.Duration, 0, total)
	for id, at := range steady {
		lat = append(lat, rcv.got[id].Sub(at))
	}
	rcv.mu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	fmt.Printf("%s events: ", kind)
	fmt.Printf("steady: %d events at %d/s: latency p50 %s, p99 %s, max %s\n", total, rate,
		q(0.5).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond),
		lat[len(lat)-1].Round(10*time.Microsecond))
	return nil
}

func alertEvent(fp string) events.Event {
	if kind == "report" {
		ev, _ := events.New(events.TypeReport, "bench", fp, events.Report{Name: fp, Title: "bench"})
		return ev
	}
	ev, _ := events.New(events.TypeAlertFiring, "bench", fp, events.Alert{
		Fingerprint: fp, Rule: "bench", Status: events.StatusFiring, Severity: "warning", Summary: "bench",
	})
	return ev
}

func publishAsync(js jetstream.JetStream, ev events.Event) error {
	data, _ := ev.Marshal()
	subject := events.AlertSubject(events.StatusFiring, events.Token(ev.Subject))
	if kind == "report" {
		subject = events.SubjectFor(ev.Type, ev.Subject)
	}
	msg := &nats.Msg{Subject: subject, Data: data, Header: nats.Header{}}
	msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
	_, err := js.PublishMsgAsync(msg)
	return err
}

func waitReady(addr string) error {
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return nil
		}
	}
	return fmt.Errorf("tend not ready")
}

func waitCount(r *receiver, n int, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for r.count() < n {
		select {
		case <-ctx.Done():
			return fmt.Errorf("only %d of %d delivered after %s", r.count(), n, timeout)
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

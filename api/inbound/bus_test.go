package inbound

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// openBus starts an embedded bus on a temp store, as `tend serve` does.
func openBus(tb testing.TB) *bus.Bus {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	b, err := bus.Open(ctx, bus.Options{DataDir: tb.TempDir(), Name: "inbound-test", Config: config.Default().Bus})
	if err != nil {
		tb.Fatalf("open bus: %v", err)
	}
	tb.Cleanup(b.Close)
	return b
}

// storedOn counts the EVENTS messages on subject.
func storedOn(t *testing.T, b *bus.Bus, subject string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := b.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(subject))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range info.State.Subjects {
		n += int(c)
	}
	return n
}

func post(t *testing.T, r *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestBus_StoredBeforeAnswer runs the hooks over a real embedded JetStream:
// when the sender has its 2xx the event is in the EVENTS stream, once.
func TestBus_StoredBeforeAnswer(t *testing.T) {
	b := openBus(t)
	s := githubSettings()
	s.Alerts = []AlertSource{{Name: "am", Token: testToken}}
	env := newEnv(t, s, func(d *Deps) {
		d.Publisher = b
		d.Seen = bus.KV{Bucket: b.State}
	})
	srv := httptest.NewServer(env.mux)
	defer srv.Close()

	body := commentPayload("MEMBER", "/tend optimize database")
	for i := range 2 {
		r := githubRequest("issue_comment", "e2e-delivery-1", body, testGitHubSecret, false)
		r.URL, _ = r.URL.Parse(srv.URL + "/hooks/github")
		r.RequestURI = ""
		want := []int{http.StatusAccepted, http.StatusOK}[i]
		if got := post(t, r); got != want {
			t.Fatalf("delivery %d: status = %d, want %d", i, got, want)
		}
		if n := storedOn(t, b, events.SubjectFor(events.TypeTriggerGitHub, "e2e-delivery-1")); n != 1 {
			t.Fatalf("after delivery %d: %d triggers stored, want 1", i, n)
		}
	}

	am := readFile(t, "testdata/alertmanager.json")
	for range 2 {
		r, _ := http.NewRequest(http.MethodPost, srv.URL+"/hooks/alerts/am", strings.NewReader(am))
		r.Header.Set("Authorization", "Bearer "+testToken)
		if got := post(t, r); got != http.StatusAccepted {
			t.Fatalf("alertmanager: status = %d", got)
		}
	}
	// The resend carries the same ids, so JetStream stored each alert once.
	if n := storedOn(t, b, events.SubjectAlerts+".>"); n != 2 {
		t.Fatalf("%d alert events stored, want 2", n)
	}
}

// BenchmarkBus_GitHubWebhook measures one signed issue_comment end to end:
// verify, parse, claim the delivery in KV, publish with acknowledgement.
func BenchmarkBus_GitHubWebhook(b *testing.B) {
	bs := openBus(b)
	h, err := New(githubSettings(), Deps{Publisher: bs, Seen: bus.KV{Bucket: bs.State}})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		// Each comment differs, as real ones do, so none is a replay.
		body := commentPayload("MEMBER", fmt.Sprintf("/tend optimize db%d", i))
		r := githubRequest("issue_comment", fmt.Sprintf("bench-%d", i), body, testGitHubSecret, false)
		w := httptest.NewRecorder()
		b.StartTimer()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status = %d", w.Code)
		}
	}
}

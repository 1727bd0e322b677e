package alerting

import (
	"context"
	"encoding/json"
	"errors"
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
)

func openBus(t *testing.T) *bus.Bus {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - {name: out, type: console}\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := bus.Open(context.Background(), bus.Options{DataDir: t.TempDir(), Name: "t", Config: cfg.Bus})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

func TestSilences_AddListExpireOverHTTP(t *testing.T) {
	b := openBus(t)
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	s := Silences{KV: bus.KV{Bucket: b.State}, Now: func() time.Time { return now }}
	mux := http.NewServeMux()
	Mount(s)(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	post := func(body string) (*http.Response, Silence) {
		resp, err := http.Post(srv.URL+"/api/v1/silences", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var sil Silence
		_ = json.NewDecoder(resp.Body).Decode(&sil)
		return resp, sil
	}
	for _, bad := range []string{
		`{"matchers": ["host"], "duration": "1h", "comment": "x"}`,
		`{"matchers": ["host=a"], "duration": "-1h", "comment": "x"}`,
		`{"matchers": ["host=a"], "duration": "1h"}`,
		`{"matchers": [], "duration": "1h", "comment": "x"}`,
		`{"matchers": ["host=a"], "duration": "1h", "comment": "x", "extra": 1}`,
	} {
		if resp, _ := post(bad); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", bad, resp.StatusCode)
		}
	}
	resp, sil := post(`{"matchers": ["host=db1,rule=~disk_.*"], "duration": "2h", "comment": "disk swap"}`)
	if resp.StatusCode != http.StatusCreated || len(sil.Matchers) != 2 || !sil.EndsAt.Equal(now.Add(2*time.Hour)) {
		t.Fatalf("add: %d %+v", resp.StatusCode, sil)
	}
	got, err := s.Get(context.Background(), sil.ID)
	if err != nil || !got.Mutes(map[string]string{"host": "db1", "rule": "disk_full"}, now) {
		t.Fatalf("stored silence %+v does not mute db1 disk_full: %v", got, err)
	}
	if got.Mutes(map[string]string{"host": "db2", "rule": "disk_full"}, now) {
		t.Fatal("silence mutes db2")
	}

	req, _ := http.NewRequest(http.MethodDelete, srv.URL+"/api/v1/silences/"+sil.ID, nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("expire: %v %v", resp, err)
	}
	list, err := s.List(context.Background())
	if err != nil || len(list) != 1 || list[0].State(now) != "expired" {
		t.Fatalf("list after expire: %+v %v", list, err)
	}
	if _, err := s.Expire(context.Background(), "nope"); !errors.Is(err, ErrNoSilence) {
		t.Fatalf("expire unknown: %v", err)
	}

	// Gone from the list a day after it ended.
	now = now.Add(25 * time.Hour)
	if list, _ := s.List(context.Background()); len(list) != 0 {
		t.Fatalf("expired silence still listed after a day: %+v", list)
	}
}

// TestNotifier_TwoHubsOneFlush lets two notifiers race to flush the same
// due group: one notification is stored.
func TestNotifier_TwoHubsOneFlush(t *testing.T) {
	b := openBus(t)
	cfg, err := config.Parse("t.yaml", []byte(`
integrations:
  - {name: out, type: console}
routes:
  - to: [out]
    group_by: [host]
    group_wait: 1s
`))
	if err != nil {
		t.Fatal(err)
	}
	set, err := Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	log := slog.New(slog.DiscardHandler)
	hubs := []*Notifier{New(cfg, set, b, log), New(cfg, set, b, log)}
	for _, n := range hubs {
		n.now = func() time.Time { return clock }
	}
	ctx := context.Background()
	a := events.Alert{Fingerprint: "fp1", Rule: "r", Status: "firing", Host: "h", StartsAt: clock}
	key, labels := hubs[0].policies[0].GroupOf(0, a)
	obs := &observation{alert: a, eventID: "ev1", labels: labels}
	if err := hubs[0].flush(ctx, 0, key, obs, false); err != nil {
		t.Fatal(err)
	}

	clock = clock.Add(time.Second)
	var wg sync.WaitGroup
	for _, n := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := n.flush(ctx, 0, key, nil, false); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()

	info, err := b.JS.Stream(ctx, bus.StreamEvents)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := info.GetLastMsgForSubject(ctx, events.NotifySubject(0, key))
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	st, _ := info.Info(ctx)
	if st.State.Msgs != 1 {
		t.Fatalf("want 1 notification stored, got %d", st.State.Msgs)
	}
	ev, _ := events.Unmarshal(msg.Data)
	var g events.Alert
	_ = ev.Decode(&g)
	if len(g.Alerts) != 1 || g.Alerts[0].Fingerprint != "fp1" {
		t.Fatalf("notification: %+v", g)
	}
}

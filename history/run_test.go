package history

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

func TestReplayFrom(t *testing.T) {
	srv, err := server.NewServer(&server.Options{
		JetStream: true, StoreDir: t.TempDir(), DontListen: true, NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	defer srv.Shutdown()
	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	ctx := context.Background()
	if err := EnsureStream(ctx, js, DefaultConfig(), 1); err != nil {
		t.Fatal(err)
	}

	now := time.Date(2026, 3, 1, 10, 20, 0, 0, time.UTC)
	a := NewAggregator(js, DefaultConfig(), nil)
	a.now = func() time.Time { return now }
	store := func(start time.Time) {
		data, _ := json.Marshal(Rollup{Res: "1h", Host: "h", Name: "x.y", Start: start, Count: 1})
		if _, err := js.Publish(ctx, RollupSubject(Hour, "h", "x.y"), data); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name   string
		newest time.Time // zero: no rollup stored
		want   time.Time
	}{
		{"no rollups", time.Time{}, now.Add(-80 * time.Minute)},
		{"up to date", now.Add(-2*time.Hour - 20*time.Minute), now.Add(-80 * time.Minute)},
		{"stopped for hours", now.Add(-5*time.Hour - 20*time.Minute), now.Add(-4*time.Hour - 20*time.Minute)},
		{"stopped for days", now.Add(-72 * time.Hour), now.Add(-maxReplay)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.newest.IsZero() {
				store(tc.newest)
			}
			if got := a.replayFrom(ctx); !got.Equal(tc.want) {
				t.Errorf("replay from %v, want %v", got, tc.want)
			}
		})
	}
}

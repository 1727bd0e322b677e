package history_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/history"
)

// newJS starts an in-process JetStream server on a temporary store with
// METRICS (as the bus creates it) and ROLLUPS, and returns a handle.
func newJS(tb testing.TB) jetstream.JetStream {
	tb.Helper()
	srv, err := server.NewServer(&server.Options{
		JetStream:  true,
		StoreDir:   tb.TempDir(),
		DontListen: true,
		NoLog:      true,
		NoSigs:     true,
	})
	if err != nil {
		tb.Fatalf("new server: %v", err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		tb.Fatal("server not ready")
	}
	tb.Cleanup(srv.Shutdown)

	nc, err := nats.Connect("", nats.InProcessServer(srv))
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(16384))
	if err != nil {
		tb.Fatalf("jetstream: %v", err)
	}

	ctx := context.Background()
	_, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:       history.StreamMetrics,
		Subjects:   []string{"tend.metric.>"},
		Storage:    jetstream.FileStorage,
		MaxAge:     7 * 24 * time.Hour,
		Duplicates: time.Minute,
	})
	if err != nil {
		tb.Fatalf("create METRICS: %v", err)
	}
	if err := history.EnsureStream(ctx, js, history.DefaultConfig(), 1); err != nil {
		tb.Fatal(err)
	}
	return js
}

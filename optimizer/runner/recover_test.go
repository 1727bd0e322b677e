package runner_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
)

// TestInterrupted: a run left "started" by a killed hub is ended as failed
// and announced; a recent one, maybe still running elsewhere, is left.
func TestInterrupted(t *testing.T) {
	st := newState()
	pub := &memPublisher{}
	now := time.Now()
	old := events.Run{ID: "old", Status: "started", Requested: now.Add(-time.Hour)}
	recent := events.Run{ID: "recent", Status: "started", Requested: now.Add(-time.Minute)}
	b, _ := json.Marshal([]events.Run{recent, old})
	_ = st.Put(context.Background(), runner.KeyRuns, b)

	r, err := runner.New(runner.Config{Publisher: pub, State: st})
	if err != nil {
		t.Fatal(err)
	}
	n, err := r.Interrupted(context.Background(), 16*time.Minute)
	if err != nil || n != 1 {
		t.Fatalf("ended %d runs, err %v; want 1", n, err)
	}
	got, _ := r.Run(context.Background(), "old")
	if got.Status != "failed" || got.Finished == nil {
		t.Fatalf("old run %+v", got)
	}
	if got, _ := r.Run(context.Background(), "recent"); got.Status != "started" {
		t.Fatalf("recent run touched: %+v", got)
	}
	if len(pub.types()) != 1 || pub.types()[0] != "optimization.failed" {
		t.Fatalf("published %v", pub.types())
	}
}

package runner_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/optimizer/runner"
	"github.com/tend-dev/tend/optimizer/tasks"
)

// TestOnAlert_ExecEndToEnd runs the real exec task from an alert: one run,
// before/after numbers in the completed event, nothing on a second breach.
func TestOnAlert_ExecEndToEnd(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "queue")
	if err := os.WriteFile(file, []byte("250\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	settings := tasks.Settings{
		Samples: 3, SampleInterval: time.Millisecond, Cooldown: 30 * time.Minute,
		Exec: &tasks.ExecSettings{Metric: "queue length", Unit: "jobs",
			Command: []string{"sh", "-c", `echo 3 > "$0"`, file}, Measure: []string{"cat", file},
			LowerIsBetter: true, Level: "low",
		},
	}
	built, err := tasks.Build(settings, nil)
	if err != nil {
		t.Fatal(err)
	}
	pub := &memPublisher{}
	r, err := runner.New(runner.Config{Tasks: built, Settings: settings, Publisher: pub, State: newState()})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.SetEnabled(ctx, true); err != nil {
		t.Fatal(err)
	}

	if _, err := r.OnAlert(ctx, firing("exec")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.OnAlert(ctx, firing("exec")); !errors.Is(err, runner.ErrCoolingDown) {
		t.Fatalf("second breach: %v, want ErrCoolingDown", err)
	}
	if len(pub.evs) != 3 || pub.evs[2].Type != events.TypeOptimizationCompleted {
		t.Fatalf("events = %v", pub.types())
	}
	var run events.Run
	if err := pub.evs[2].Decode(&run); err != nil {
		t.Fatal(err)
	}
	m := run.Tasks[0].Measures[0]
	if m.Before.Median != 250 || m.After.Median != 3 || m.Before.N != 3 || m.Verdict != tasks.Improved {
		t.Errorf("measurement = %+v", m)
	}
	t.Logf("summary: %s", run.Summary[0])
}

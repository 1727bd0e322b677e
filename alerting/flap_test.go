package alerting

import (
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
)

func TestFlapState_Observe(t *testing.T) {
	cfg := Flapping{Changes: 3, Window: config.Duration(time.Minute), Settle: config.Duration(30 * time.Second)}
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	sec := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Second) }

	var s FlapState
	steps := []struct {
		at     time.Time
		status string
		want   bool
	}{
		{sec(0), "firing", false},
		{sec(1), "firing", false}, // same status: no change
		{sec(2), "resolved", false},
		{sec(3), "firing", false},    // three changes: at the limit
		{sec(4), "resolved", true},   // four within a minute: flapping
		{sec(20), "firing", true},    // still flapping
		{sec(49), "firing", true},    // no change, 29s after the last one
		{sec(51), "resolved", false}, // settled at 50s; one change since
	}
	for i, st := range steps {
		if got := s.Observe(cfg, st.status, st.at); got != st.want {
			t.Fatalf("step %d (%s at +%s): flapping = %v, want %v", i, st.status, st.at.Sub(t0), got, st.want)
		}
	}
	if want := sec(81); !s.SettleAt(cfg).Equal(want) {
		t.Fatalf("SettleAt = %s, want %s", s.SettleAt(cfg), want)
	}
}

func TestFlapState_OldChangesAgeOut(t *testing.T) {
	cfg := Flapping{Changes: 2, Window: config.Duration(10 * time.Second)}
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	var s FlapState
	status := []string{"firing", "resolved"}
	for i := range 10 {
		// One change every 6 s: never more than two within 10 s.
		if s.Observe(cfg, status[i%2], t0.Add(time.Duration(6*i)*time.Second)) {
			t.Fatalf("change %d: flapping with one change every 6s and 2 allowed per 10s", i)
		}
	}
}

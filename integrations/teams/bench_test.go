package teams_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/internal/fake/teamsfake"
)

func benchDeliver(b *testing.B, labels int) {
	fake := teamsfake.New()
	defer fake.Close()
	in := newTeams(b, fmt.Sprintf("webhook_url: %q", fake.WorkflowURL()))
	ev := alert(b, events.StatusFiring, func(a *events.Alert) {
		for i := range labels {
			a.Labels[fmt.Sprintf("label_%03d", i)] = strings.Repeat("v", 100)
		}
	})
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := in.Deliver(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDeliver posts a typical alert card to the fake over loopback.
func BenchmarkDeliver(b *testing.B) { benchDeliver(b, 0) }

// BenchmarkDeliver_Trim500Facts posts an alert whose 500 labels must be
// trimmed to fit the size limit.
func BenchmarkDeliver_Trim500Facts(b *testing.B) { benchDeliver(b, 500) }

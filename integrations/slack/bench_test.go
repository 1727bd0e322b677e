package slack_test

import (
	"context"
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/internal/fake/slackfake"
)

// BenchmarkDeliver posts a new alert each time to the fake over loopback:
// rendering, Block Kit, the form post and the ref store.
func BenchmarkDeliver(b *testing.B) {
	fake := slackfake.New()
	defer fake.Close()
	in, _ := newBot(b, fake, "")
	ev := alert(b, events.StatusFiring, func(a *events.Alert) { a.Fingerprint = "" })
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := in.Deliver(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

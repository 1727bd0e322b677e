package smtp_test

import (
	"context"
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/internal/fake/smtpfake"
)

// BenchmarkDeliver sends one mail per iteration over a new STARTTLS and
// AUTH PLAIN session to the in-process server.
func BenchmarkDeliver(b *testing.B) {
	fake := smtpfake.New()
	defer fake.Close()
	in := newMail(b, fake, "")
	ev := alert(b, events.StatusFiring, nil)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := in.Deliver(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}

package github_test

import (
	"context"
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/internal/fake/githubfake"
)

// BenchmarkDeliver_Repeat measures a repeated firing against the fake
// GitHub on loopback: a GET of the stored issue and a comment.
func BenchmarkDeliver_Repeat(b *testing.B) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(b, srv, integrations.NewMemRefs(), "")
	ev := alert(b, events.StatusFiring, "bench", "x")
	if _, err := in.Deliver(context.Background(), ev); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Deliver(context.Background(), ev); err != nil {
			b.Fatal(err)
		}
	}
}

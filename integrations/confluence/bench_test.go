package confluence_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/internal/fake/confluencefake"
)

// BenchmarkDeliver_Report measures rewriting a report's page against the
// fake Confluence on loopback: a GET of the stored page and a PUT.
func BenchmarkDeliver_Report(b *testing.B) {
	srv := confluencefake.New(confluencefake.Config{})
	defer srv.Close()
	in := newConfluence(b, srv, integrations.NewMemRefs(), "")
	evs := make([]events.Event, 2)
	for i := range evs {
		evs[i], _ = events.New(events.TypeReport, "tend/bench", "daily", events.Report{
			Name: "daily", Title: "Daily", Markdown: fmt.Sprintf("# Summary\nline %d", i),
			Until: time.Now(),
		})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := in.Deliver(context.Background(), evs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

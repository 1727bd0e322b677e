package jira_test

import (
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/internal/fake/jirafake"
	"github.com/tend-dev/tend/internal/golden"
)

func TestDeliver_GoldenRequests(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	in := newJira(t, srv, integrations.NewMemRefs(), "labels: [tend]\ncomponents: [Storage]\n")

	deliver(t, in, golden.FixedAlert(t, events.TypeAlertFiring, events.StatusFiring))
	deliver(t, in, golden.FixedAlert(t, events.TypeAlertResolved, events.StatusResolved))
	files := map[string]string{
		"POST /rest/api/2/issue":                   "create_issue.json",
		"POST /rest/api/2/issue/OPS-1/comment":     "resolved_comment.json",
		"POST /rest/api/2/issue/OPS-1/transitions": "done_transition.json",
	}
	seen := 0
	for _, r := range srv.Received() {
		if name, ok := files[r.Method+" "+r.Path]; ok {
			golden.JSON(t, name, r.Body)
			seen++
		}
	}
	if seen != len(files) {
		t.Fatalf("saw %d of the %d requests", seen, len(files))
	}
}

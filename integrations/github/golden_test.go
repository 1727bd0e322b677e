package github_test

import (
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/internal/fake/githubfake"
	"github.com/tend-dev/tend/internal/golden"
)

func TestDeliver_GoldenRequests(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "labels: [tend]\nassignees: [dana]\n")

	deliver(t, in, golden.FixedAlert(t, events.TypeAlertFiring, events.StatusFiring))
	deliver(t, in, golden.FixedAlert(t, events.TypeAlertResolved, events.StatusResolved))
	files := map[string]string{
		"POST /api/v3/repos/tend-dev/app/issues":            "create_issue.json",
		"POST /api/v3/repos/tend-dev/app/issues/1/comments": "resolved_comment.json",
		"PATCH /api/v3/repos/tend-dev/app/issues/1":         "close_issue.json",
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

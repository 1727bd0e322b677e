package confluence_test

import (
	"encoding/json"
	"testing"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/internal/fake/confluencefake"
	"github.com/tend-dev/tend/internal/golden"
)

func TestDeliver_GoldenRequests(t *testing.T) {
	srv := confluencefake.New(confluencefake.Config{})
	defer srv.Close()
	parent := srv.AddPage("OPS", "tend", "<p>reports</p>")
	in := newConfluence(t, srv, integrations.NewMemRefs(), "alerts: true\nparent: '"+parent+"'\n")

	deliver(t, in, golden.FixedAlert(t, events.TypeAlertFiring, events.StatusFiring))
	resolved := golden.FixedAlert(t, events.TypeAlertResolved, events.StatusResolved)
	resolved.ID = "fedcba9876543210fedcba9876543210"
	deliver(t, in, resolved)
	files := map[string]string{
		"POST /wiki/rest/api/content":                "create_page.json",
		"PUT /wiki/rest/api/content/" + next(parent): "update_page.json",
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

// next returns the id the fake gives the page made after the one with id.
func next(id string) string {
	var n int
	_ = json.Unmarshal([]byte(id), &n)
	b, _ := json.Marshal(n + 1)
	return string(b)
}

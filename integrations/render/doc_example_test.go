package render_test

import (
	"testing"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations/render"
)

// The example in docs/notifications.md must keep working.
func TestTemplates_DocExample(t *testing.T) {
	o := render.Overrides{
		Title: `{{with .Alert}}{{.Severity | upper}} {{.Rule}} on {{.Host}}{{else}}{{.Title}}{{end}}`,
		Text:  `{{.Summary | truncate 80}} {{fact . "Value"}}`,
	}
	tm, err := render.NewTemplates(config.Node{}, o)
	if err != nil {
		t.Fatal(err)
	}
	v := render.Of(alertEvent(t, events.StatusFiring))
	if got, _ := tm.Title(v); got != "CRITICAL cpu_high on web-1" {
		t.Errorf("title = %q", got)
	}
	if got, _ := tm.Text(v); got != "CPU above 90% 93.5" {
		t.Errorf("text = %q", got)
	}
}

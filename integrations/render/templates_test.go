package render_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations/render"
)

func alertEvent(t *testing.T, status string) events.Event {
	t.Helper()
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	th := 90.0
	a := events.Alert{Fingerprint: "fp1", Rule: "cpu_high", Status: status, Severity: "critical",
		Summary: "CPU above 90%", Metric: "host.cpu", Host: "web-1", Value: 93.5, Threshold: &th,
		StartsAt: start}
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		end := start.Add(5 * time.Minute)
		a.EndsAt = &end
		typ = events.TypeAlertResolved
	}
	ev, err := events.New(typ, "test", "", a)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestTemplates_Default(t *testing.T) {
	tm := render.Default()
	v := render.Of(alertEvent(t, events.StatusFiring))

	title, err := tm.Title(v)
	if err != nil || title != "[FIRING] critical: cpu_high on web-1" {
		t.Fatalf("title = %q, %v", title, err)
	}
	text, err := tm.Text(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"CPU above 90%", "Firing on web-1: host.cpu = 93.5 (threshold 90)",
		"Fingerprint: fp1"} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
	html, err := tm.HTML(v)
	if err != nil || !strings.Contains(html, "<th align=\"left\"") || !strings.Contains(html, "93.5") {
		t.Fatalf("html = %s, %v", html, err)
	}
}

func TestTemplates_Resolved(t *testing.T) {
	text, err := render.Default().Text(render.Of(alertEvent(t, events.StatusResolved)))
	if err != nil || !strings.Contains(text, "Resolved on web-1 after 5m0s: host.cpu = 93.5") {
		t.Fatalf("text = %q, %v", text, err)
	}
}

func TestTemplates_ReportHTML(t *testing.T) {
	ev, err := events.New(events.TypeReport, "test", "", events.Report{Title: "Weekly", Markdown: "all good",
		HTML: "<h1>Weekly</h1><p>all good</p>"})
	if err != nil {
		t.Fatal(err)
	}
	html, err := render.Default().HTML(render.Of(ev))
	if err != nil || !strings.Contains(html, "<h1>Weekly</h1><p>all good</p>") {
		t.Fatalf("html = %s, %v", html, err)
	}
}

func TestTemplates_Run(t *testing.T) {
	run := events.Run{ID: "r7", Status: "completed", Level: "medium",
		Tasks: []events.TaskResult{{Task: "database", Verdict: "improved",
			Measures: []events.Measurement{{Name: "dead tuples", Verdict: "better",
				Before: events.Stats{N: 3, Median: 120412}, After: events.Stats{N: 3}}}}}}
	ev, err := events.New(events.TypeOptimizationCompleted, "test", "", run)
	if err != nil {
		t.Fatal(err)
	}
	text, err := render.Default().Text(render.Of(ev))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "dead tuples: 120,412 → 0") {
		t.Fatalf("run text lacks the measure:\n%s", text)
	}
}

func TestNewTemplates_Errors(t *testing.T) {
	tests := []struct {
		name string
		o    render.Overrides
		key  string
	}{
		{"parse", render.Overrides{Title: "{{.Title"}, "title_template"},
		{"unknown field", render.Overrides{Text: "{{.Nope}}"}, "text_template"},
		{"unknown func", render.Overrides{HTML: "{{nope .}}"}, "html_template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			node := config.Node{File: "tend.yaml", Path: "integrations[0]"}
			_, err := render.NewTemplates(node, tt.o)
			var es config.Errors
			if !errors.As(err, &es) || len(es) == 0 || !strings.HasSuffix(es[0].Key, tt.key) {
				t.Fatalf("err = %v, want a config error at %s", err, tt.key)
			}
		})
	}
}

func TestNewTemplates_GuardedAlertField(t *testing.T) {
	o := render.Overrides{Title: "{{with .Alert}}{{.Rule}}{{else}}{{.Title}}{{end}}",
		Text: "{{.Alert.Rule}}"}
	tm, err := render.NewTemplates(config.Node{}, o)
	if err != nil {
		t.Fatalf("a template needing .Alert must pass the check: %v", err)
	}
	got, _ := tm.Title(render.Of(alertEvent(t, events.StatusResolved)))
	if got != "cpu_high" {
		t.Fatalf("title = %q", got)
	}
}

func TestTruncate(t *testing.T) {
	if got := render.Truncate("héllo wörld", 5); got != "héll…" {
		t.Fatalf("got %q", got)
	}
	if got := render.Truncate("abc", 5); got != "abc" {
		t.Fatalf("got %q", got)
	}
}

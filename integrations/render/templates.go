package render

import (
	htmltemplate "html/template"
	"strings"
	"text/template"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Overrides are the template settings an integration accepts. Embed it in
// an integration's config struct with `yaml:",inline"`. Each is a Go
// template over [View]; empty means the default.
type Overrides struct {
	// Title replaces the one-line title (Slack header, Teams card title,
	// email subject).
	Title string `yaml:"title_template"`
	// Text replaces the plain text or Markdown-ish body.
	Text string `yaml:"text_template"`
	// HTML replaces the HTML body of an email. It is an html/template, so
	// values are escaped.
	HTML string `yaml:"html_template"`
}

// Templates renders views with the default templates, or the overrides
// given to [NewTemplates]. It is safe for concurrent use.
type Templates struct {
	title *template.Template
	text  *template.Template
	html  *htmltemplate.Template
}

// DefaultTitle, DefaultText and DefaultHTML are the templates used when an
// integration sets none. They read well for alerts, optimization runs,
// reports and test messages.
const (
	DefaultTitle = `{{.Title}}`

	DefaultText = `{{- if .Summary}}{{.Summary}}
{{end}}
{{- if .Alert}}{{if eq .Status "resolved"}}Resolved{{else}}Firing{{end}}
{{- with .Alert.Host}} on {{.}}{{end}}{{with fact . "Duration"}} after {{.}}{{end}}
{{- if .Alert.Metric}}: {{.Alert.Metric}} = {{number .Alert.Value}}
{{- with .Alert.Threshold}} (threshold {{number .}}){{end}}{{end}}
{{end}}
{{- if .Facts}}
{{range .Facts}}{{.Name}}: {{.Value}}
{{end}}{{end}}
{{- if .Lines}}
{{range .Lines}}{{.}}
{{end}}{{end}}
{{- if .Links}}
{{range $name, $url := .Links}}{{$name}}: {{$url}}
{{end}}{{end}}`

	DefaultHTML = `<!doctype html>
<html><body style="font-family:sans-serif;font-size:14px;color:#222">
<h2 style="margin:0 0 8px 0;color:{{color .}}">{{.Title}}</h2>
{{- with reportHTML .}}
{{.}}
{{- else}}
{{- if .Summary}}
<p style="white-space:pre-wrap">{{.Summary}}</p>
{{- end}}
{{- if .Facts}}
<table cellpadding="4" style="border-collapse:collapse">
{{- range .Facts}}
<tr><th align="left" style="border-bottom:1px solid #ddd">{{.Name}}</th>` +
		`<td style="border-bottom:1px solid #ddd">{{.Value}}</td></tr>
{{- end}}
</table>
{{- end}}
{{- if .Lines}}
<ul>
{{- range .Lines}}
<li><code>{{.}}</code></li>
{{- end}}
</ul>
{{- end}}
{{- end}}
{{- if .Links}}
<p>{{range $name, $url := .Links}}<a href="{{$url}}">{{$name}}</a> {{end}}</p>
{{- end}}
<p style="color:#888;font-size:12px">sent by tend at {{rfc3339 .Time}}</p>
</body></html>
`
)

// Funcs are the functions templates may call besides Go's built-ins:
// number (1,234.5), upper, lower, join, truncate (runes, with a marker),
// rfc3339 (a time in UTC), fact (the value of the named fact, or ""),
// color (a hex colour for the view's severity or status) and reportHTML (a
// report's own HTML, or nothing).
func Funcs() map[string]any {
	return map[string]any{
		"number":     Number,
		"upper":      strings.ToUpper,
		"lower":      strings.ToLower,
		"join":       strings.Join,
		"truncate":   func(n int, s string) string { return Truncate(s, n) },
		"rfc3339":    func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"color":      func(v View) string { return Color(v) },
		"fact":       factValue,
		"reportHTML": func(v View) htmltemplate.HTML { return reportHTML(v) },
	}
}

// NewTemplates parses the overrides in o, falling back to the defaults. A
// template that does not parse, or names a field [View] lacks, is a
// [*config.Error] at its key in settings, so `tend config check` reports
// it with file and line.
func NewTemplates(settings config.Node, o Overrides) (*Templates, error) {
	t := &Templates{}
	var errs config.Errors
	var err error

	if t.title, err = parseText("title", pick(o.Title, DefaultTitle)); err != nil {
		errs = append(errs, settings.Errorf("title_template", "%v", err))
	}
	if t.text, err = parseText("text", pick(o.Text, DefaultText)); err != nil {
		errs = append(errs, settings.Errorf("text_template", "%v", err))
	}
	if t.html, err = htmltemplate.New("html").Funcs(Funcs()).Parse(pick(o.HTML, DefaultHTML)); err != nil {
		errs = append(errs, settings.Errorf("html_template", "%v", err))
	}
	if len(errs) > 0 {
		return nil, errs
	}

	// A field name typo only shows when the template runs: try each on
	// sample views now rather than on the first real alert.
	for _, v := range samples() {
		if err := typeErr(t.title.Execute(&strings.Builder{}, v)); err != nil {
			errs = append(errs, settings.Errorf("title_template", "%v", err))
		}
		if err := typeErr(t.text.Execute(&strings.Builder{}, v)); err != nil {
			errs = append(errs, settings.Errorf("text_template", "%v", err))
		}
		if err := typeErr(t.html.Execute(&strings.Builder{}, v)); err != nil {
			errs = append(errs, settings.Errorf("html_template", "%v", err))
		}
		if len(errs) > 0 {
			return nil, errs
		}
	}
	return t, nil
}

// Default returns the default templates. It never fails.
func Default() *Templates {
	t, err := NewTemplates(config.Node{}, Overrides{})
	if err != nil {
		panic("render: default templates: " + err.Error())
	}
	return t
}

// Title renders the title. On a template error it returns the view's
// default title and the error, so the caller can log it and still deliver.
func (t *Templates) Title(v View) (string, error) {
	var b strings.Builder
	if err := t.title.Execute(&b, v); err != nil {
		return v.Title, err
	}
	return strings.TrimSpace(b.String()), nil
}

// Text renders the plain text body; on error, the default body and the error.
func (t *Templates) Text(v View) (string, error) {
	var b strings.Builder
	if err := t.text.Execute(&b, v); err != nil {
		return v.Text(), err
	}
	return strings.TrimRight(b.String(), "\n"), nil
}

// HTML renders the HTML body; on error, a minimal escaped page and the error.
func (t *Templates) HTML(v View) (string, error) {
	var b strings.Builder
	if err := t.html.Execute(&b, v); err != nil {
		return "<pre>" + htmltemplate.HTMLEscapeString(v.Text()) + "</pre>", err
	}
	return b.String(), nil
}

// Truncate cuts s to at most n runes, ending it with "…" when cut.
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if len(s) <= n { // bytes ≥ runes, so no cut is needed
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// Color returns a hex colour for the view: red for critical, orange for
// warning, green for resolved or completed, blue otherwise.
func Color(v View) string {
	switch {
	case v.Status == events.StatusResolved, v.Status == "completed":
		return "#2eb67d"
	case v.Status == "failed", v.Severity == "critical", v.Severity == "error":
		return "#e01e5a"
	case v.Severity == "warning":
		return "#ecb22e"
	}
	return "#36c5f0"
}

func factValue(v View, name string) string {
	for _, f := range v.Facts {
		if f.Name == name {
			return f.Value
		}
	}
	return ""
}

func reportHTML(v View) htmltemplate.HTML {
	if v.Event.Type != events.TypeReport {
		return ""
	}
	var r events.Report
	if v.Event.Decode(&r) != nil {
		return ""
	}
	// The report's HTML is made by tend itself, not taken from outside.
	return htmltemplate.HTML(r.HTML) //nolint:gosec // generated by tend's report writer
}

func parseText(name, s string) (*template.Template, error) {
	return template.New(name).Funcs(Funcs()).Option("missingkey=zero").Parse(s)
}

func pick(s, def string) string {
	if strings.TrimSpace(s) == "" {
		return def
	}
	return s
}

// typeErr keeps only errors that no event could avoid: a field or method
// View does not have. A nil pointer met on one sample kind (.Alert on a run)
// is left for the template's author to guard with if or with.
func typeErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "can't evaluate field") || strings.Contains(msg, "wrong type") ||
		strings.Contains(msg, "wrong number of args") {
		return err
	}
	return nil
}

// samples are one view of each kind, to try templates on.
func samples() []View {
	start := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	end := start.Add(5 * time.Minute)
	th := 90.0
	alert := events.Alert{
		Fingerprint: "0123456789abcdef", Rule: "cpu_high", Status: events.StatusFiring,
		Severity: "warning", Summary: "CPU above 90%", Metric: "host.cpu", Host: "web-1",
		Value: 93.5, Threshold: &th, Labels: map[string]string{"host": "web-1"},
		StartsAt: start, Links: map[string]string{"dashboard": "http://127.0.0.1/d"},
	}
	resolved := alert
	resolved.Status = events.StatusResolved
	resolved.EndsAt = &end
	run := events.Run{ID: "r1", Status: "completed", Level: "medium", Requested: start,
		Tasks: []events.TaskResult{{Task: "database", Verdict: "improved",
			Measures: []events.Measurement{{Name: "dead tuples", Verdict: "better"}}}}}

	var out []View
	for _, s := range []struct {
		typ  string
		data any
	}{
		{events.TypeAlertFiring, alert},
		{events.TypeAlertResolved, resolved},
		{events.TypeOptimizationCompleted, run},
		{events.TypeReport, events.Report{Name: "daily", Title: "Daily report", Markdown: "all quiet"}},
		{events.TypeTest, events.Test{Integration: "x", Message: "hello"}},
	} {
		ev, err := events.New(s.typ, "tend/sample", "", s.data)
		if err != nil {
			continue
		}
		ev.Time = start
		out = append(out, Of(ev))
	}
	return out
}

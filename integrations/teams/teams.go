package teams

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
)

func init() {
	integrations.Register("teams", func(spec config.Integration, deps integrations.Deps) (integrations.Integration, error) {
		return New(spec, deps)
	})
}

// Integration posts events as cards to one Teams webhook. It is safe for
// concurrent use.
type Integration struct {
	name    string
	cfg     Config
	timeout time.Duration
	tmpl    *render.Templates
	hub     string
	log     *slog.Logger
	http    *http.Client
}

var _ integrations.Integration = (*Integration)(nil)

// New builds a Teams integration from spec. It does no network I/O; a bad
// setting or template is a [config.Errors] naming file and line.
func New(spec config.Integration, deps integrations.Deps) (*Integration, error) {
	var cfg Config
	if err := spec.Settings.Decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.validate(spec.Settings); err != nil {
		return nil, err
	}
	tmpl, err := render.NewTemplates(spec.Settings, cfg.Overrides)
	if err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	timeout := spec.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	return &Integration{
		name:    spec.Name,
		cfg:     cfg,
		timeout: timeout,
		tmpl:    tmpl,
		hub:     deps.Hub,
		log:     deps.Logger,
		http: integrations.NewHTTPClient(integrations.HTTPOptions{
			Timeout: timeout, InsecureSkipVerify: cfg.InsecureSkipVerify}),
	}, nil
}

// Deliver implements [integrations.Integration]: one card per event.
func (in *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, in.timeout,
		fmt.Errorf("teams %s: delivery took over %s: %w", in.name, in.timeout, context.DeadlineExceeded))
	defer cancel()

	body, err := in.payload(render.Of(ev))
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("encode", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("request", errors.New("build teams request"))
	}
	req.Header.Set("Content-Type", "application/json")

	resp, answer, err := integrations.Do(ctx, in.http, req, 8<<10)
	if err != nil {
		e := integrations.Classify(err)
		return integrations.Receipt{Status: e.Status}, e
	}
	// The legacy connector answers 200 and reports Teams' own failure, such
	// as a 429, in the body; "1" is its only success.
	if e := answerError(in.cfg.Format, resp.StatusCode, answer); e != nil {
		return integrations.Receipt{Status: e.Status}, e
	}
	in.log.Debug("teams card posted", "event_id", ev.ID, "bytes", len(body))
	return integrations.Receipt{Status: resp.StatusCode}, nil
}

var httpErrorRe = regexp.MustCompile(`(?i)HTTP error (\d{3})`)

// answerError classifies a 2xx answer whose body reports a failure.
func answerError(format string, status int, body []byte) *integrations.Error {
	text := strings.TrimSpace(string(body))
	switch {
	case text == "" || text == "1":
		return nil
	case format == FormatAdaptive && !httpErrorRe.MatchString(text) && !looksLikeError(text):
		// Workflows may echo something harmless; only an error text fails.
		return nil
	}
	excerpt := errors.New(render.Truncate(text, 300))
	if m := httpErrorRe.FindStringSubmatch(text); m != nil {
		code, _ := strconv.Atoi(m[1])
		retry := code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500
		return &integrations.Error{Reason: "teams http " + m[1], Status: code, Permanent: !retry, Err: excerpt}
	}
	lower := strings.ToLower(text)
	if strings.Contains(lower, "throttl") || strings.Contains(lower, "too many") ||
		strings.Contains(lower, "temporar") || strings.Contains(lower, "timeout") {
		return &integrations.Error{Reason: "teams throttled", Status: status, Err: excerpt}
	}
	return &integrations.Error{Reason: "teams refused", Status: status, Permanent: true, Err: excerpt}
}

func looksLikeError(text string) bool {
	lower := strings.ToLower(text)
	return strings.Contains(lower, "error") || strings.Contains(lower, "failed")
}

// payload renders v in the configured format, within MaxBytes.
func (in *Integration) payload(v render.View) ([]byte, error) {
	c := in.content(v)
	build := in.adaptive
	if in.cfg.Format == FormatMessageCard {
		build = in.messageCard
	}

	// The most facts that fit, found by bisection; then shorter text.
	body, err := json.Marshal(build(c, len(c.facts), 0))
	if err != nil || len(body) <= in.cfg.MaxBytes {
		return body, err
	}
	lo, hi := 0, len(c.facts)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		b, _ := json.Marshal(build(c, mid, 0))
		if len(b) <= in.cfg.MaxBytes {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	body, err = json.Marshal(build(c, lo, 0))
	for limit := in.cfg.MaxBytes / 2; err == nil && len(body) > in.cfg.MaxBytes && limit > 16; limit /= 2 {
		body, err = json.Marshal(build(c, lo, limit))
	}
	if err == nil && len(body) > in.cfg.MaxBytes {
		return nil, fmt.Errorf("card of %d bytes does not fit in %d", len(body), in.cfg.MaxBytes)
	}
	return body, err
}

// content is the rendered text of a card, before layout.
type content struct {
	title, summary, text, footer, color string
	facts                               []render.Fact
	links                               [][2]string
}

func (in *Integration) content(v render.View) content {
	title, err := in.tmpl.Title(v)
	if err != nil {
		in.log.Warn("teams title template failed, using the default", "error", err)
	}
	c := content{title: title, summary: v.Summary, facts: v.Facts, color: render.Color(v)}
	if in.cfg.Text != "" {
		text, err := in.tmpl.Text(v)
		if err != nil {
			in.log.Warn("teams text template failed, using the default", "error", err)
		}
		c.summary, c.facts = text, nil
	} else if len(v.Lines) > 0 {
		c.text = strings.Join(v.Lines, "\n")
	}
	for _, name := range sortedKeys(v.Links) {
		c.links = append(c.links, [2]string{name, v.Links[name]})
	}
	c.footer = "tend"
	if in.hub != "" {
		c.footer += " · " + in.hub
	}
	if !v.Time.IsZero() {
		c.footer += " · " + v.Time.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	return c
}

// adaptive lays c out as a Workflows message with an Adaptive Card,
// keeping nFacts facts and cutting texts to limit runes when limit > 0.
func (in *Integration) adaptive(c content, nFacts, limit int) any {
	body := []map[string]any{{
		"type": "TextBlock", "text": cutTo(c.title, limit), "weight": "Bolder", "size": "Medium",
		"wrap": true, "style": "heading", "color": adaptiveColor(c.color),
	}}
	if c.summary != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": cutTo(c.summary, limit), "wrap": true})
	}
	if facts := keep(c.facts, nFacts); len(facts) > 0 {
		fs := make([]map[string]string, 0, len(facts))
		for _, f := range facts {
			fs = append(fs, map[string]string{"title": cutTo(f.Name, limit), "value": cutTo(f.Value, limit)})
		}
		body = append(body, map[string]any{"type": "FactSet", "facts": fs})
	}
	if c.text != "" {
		body = append(body, map[string]any{"type": "TextBlock", "text": cutTo(c.text, limit), "wrap": true,
			"fontType": "Monospace", "size": "Small"})
	}
	body = append(body, map[string]any{"type": "TextBlock", "text": c.footer, "isSubtle": true,
		"size": "Small", "wrap": true})

	card := map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard",
		"version": "1.4",
		"msteams": map[string]string{"width": "Full"},
		"body":    body,
	}
	if len(c.links) > 0 {
		var actions []map[string]string
		for _, l := range c.links {
			actions = append(actions, map[string]string{"type": "Action.OpenUrl", "title": l[0], "url": l[1]})
		}
		card["actions"] = actions
	}
	return map[string]any{
		"type": "message",
		"attachments": []map[string]any{{
			"contentType": "application/vnd.microsoft.card.adaptive",
			"contentUrl":  nil,
			"content":     card,
		}},
	}
}

// messageCard lays c out as a legacy connector MessageCard.
func (in *Integration) messageCard(c content, nFacts, limit int) any {
	sec := map[string]any{"markdown": false}
	if c.summary != "" {
		sec["text"] = cutTo(c.summary, limit)
	}
	if facts := keep(c.facts, nFacts); len(facts) > 0 {
		fs := make([]map[string]string, 0, len(facts))
		for _, f := range facts {
			fs = append(fs, map[string]string{"name": cutTo(f.Name, limit), "value": cutTo(f.Value, limit)})
		}
		sec["facts"] = fs
	}
	sections := []map[string]any{sec}
	if c.text != "" {
		sections = append(sections, map[string]any{"text": "<pre>" + cutTo(c.text, limit) + "</pre>"})
	}
	sections = append(sections, map[string]any{"text": c.footer})
	card := map[string]any{
		"@type":      "MessageCard",
		"@context":   "https://schema.org/extensions",
		"summary":    cutTo(c.title, limit),
		"title":      cutTo(c.title, limit),
		"themeColor": strings.TrimPrefix(c.color, "#"),
		"sections":   sections,
	}
	if len(c.links) > 0 {
		var actions []map[string]any
		for _, l := range c.links {
			actions = append(actions, map[string]any{"@type": "OpenUri", "name": l[0],
				"targets": []map[string]string{{"os": "default", "uri": l[1]}}})
		}
		card["potentialAction"] = actions
	}
	return card
}

// keep returns the first n facts, and a note of how many were left out.
func keep(facts []render.Fact, n int) []render.Fact {
	if n >= len(facts) {
		return facts
	}
	out := append([]render.Fact(nil), facts[:n]...)
	return append(out, render.Fact{Name: "…", Value: fmt.Sprintf("%d more facts left out", len(facts)-n)})
}

func cutTo(s string, limit int) string {
	if limit <= 0 {
		return s
	}
	return render.Truncate(s, limit)
}

func adaptiveColor(hex string) string {
	switch hex {
	case "#2eb67d":
		return "Good"
	case "#e01e5a":
		return "Attention"
	case "#ecb22e":
		return "Warning"
	}
	return "Accent"
}

func sortedKeys(m map[string]string) []string {
	return slices.Sorted(maps.Keys(m))
}

// Package api makes any REST call for an event: method, URL and body from Go
// templates, headers, bearer or basic auth, the status codes that mean
// success, and a cap on how much of the answer is read.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"text/template"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
)

func init() { integrations.Register("api", New) }

// Settings of an api integration.
type Settings struct {
	// Method is the HTTP method. Default POST.
	Method string `yaml:"method" default:"POST"`
	// URL is a Go template over the event's view, e.g.
	// https://ops.example/api/incidents/{{.Alert.Fingerprint}}.
	URL string `yaml:"url"`
	// Body is a Go template; empty sends no body (or the event JSON for
	// POST, PUT and PATCH).
	Body        string            `yaml:"body"`
	ContentType string            `yaml:"content_type" default:"application/json"`
	Headers     map[string]string `yaml:"headers"`
	// BearerToken or Username and Password authenticate the call.
	BearerToken string `yaml:"bearer_token"`
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	// Expect lists the status codes that mean success. Default: any 2xx.
	Expect []int `yaml:"expect"`
	// MaxResponse caps how much of an answer is read. Default 64 KiB.
	MaxResponse        int64 `yaml:"max_response"`
	InsecureSkipVerify bool  `yaml:"insecure_skip_verify"`
}

// Integration calls one REST endpoint per event.
type Integration struct {
	set    Settings
	url    *template.Template
	body   *template.Template
	client *http.Client
}

// New validates settings and parses the templates.
func New(spec config.Integration, _ integrations.Deps) (integrations.Integration, error) {
	var set Settings
	if err := spec.Settings.Decode(&set); err != nil {
		return nil, err
	}
	set.Method = strings.ToUpper(set.Method)
	if set.URL == "" {
		return nil, spec.Settings.Errorf("url", "an api integration needs a url")
	}
	a := &Integration{set: set, client: integrations.NewHTTPClient(integrations.HTTPOptions{
		Timeout: spec.Timeout.D(), InsecureSkipVerify: set.InsecureSkipVerify})}
	var err error
	if a.url, err = template.New("url").Funcs(render.Funcs()).Parse(set.URL); err != nil {
		return nil, spec.Settings.Errorf("url", "bad template: %v", err)
	}
	if set.Body != "" {
		if a.body, err = template.New("body").Funcs(render.Funcs()).Parse(set.Body); err != nil {
			return nil, spec.Settings.Errorf("body", "bad template: %v", err)
		}
	}
	if set.BearerToken != "" && set.Username != "" {
		return nil, spec.Settings.Errorf("bearer_token", "use bearer_token or username/password, not both")
	}
	for _, c := range set.Expect {
		if c < 100 || c > 599 {
			return nil, spec.Settings.Errorf("expect", "%d is not an HTTP status", c)
		}
	}
	return a, nil
}

// Deliver implements [integrations.Integration].
func (a *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	view := render.Of(ev)
	var u bytes.Buffer
	if err := a.url.Execute(&u, view); err != nil {
		return integrations.Receipt{}, integrations.Permanent("render url", err)
	}
	target, err := url.Parse(strings.TrimSpace(u.String()))
	if err != nil || (target.Scheme != "http" && target.Scheme != "https") {
		return integrations.Receipt{}, integrations.Permanent("render url", fmt.Errorf("not an http(s) URL"))
	}
	body, err := a.payload(ev, view)
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("render body", err)
	}

	req, err := http.NewRequestWithContext(ctx, a.set.Method, target.String(), bytes.NewReader(body))
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("build request", fmt.Errorf("method %q", a.set.Method))
	}
	if len(body) > 0 {
		req.Header.Set("Content-Type", a.set.ContentType)
	}
	req.Header.Set("User-Agent", "tend")
	req.Header.Set("Idempotency-Key", ev.ID)
	for k, v := range a.set.Headers {
		req.Header.Set(k, v)
	}
	switch {
	case a.set.BearerToken != "":
		req.Header.Set("Authorization", "Bearer "+a.set.BearerToken)
	case a.set.Username != "":
		req.SetBasicAuth(a.set.Username, a.set.Password)
	}

	resp, _, err := integrations.Do(ctx, a.client, req, a.set.MaxResponse)
	rc := integrations.Receipt{}
	if resp != nil {
		rc.Status = resp.StatusCode
	}
	if err != nil {
		// A status the user declared as success is one, 2xx or not.
		if resp != nil && slices.Contains(a.set.Expect, resp.StatusCode) {
			return rc, nil
		}
		return rc, err
	}
	if len(a.set.Expect) > 0 && !slices.Contains(a.set.Expect, resp.StatusCode) {
		return rc, integrations.Permanent(fmt.Sprintf("http %d", resp.StatusCode),
			fmt.Errorf("expected status %v", a.set.Expect))
	}
	return rc, nil
}

func (a *Integration) payload(ev events.Event, view render.View) ([]byte, error) {
	if a.body != nil {
		var buf bytes.Buffer
		if err := a.body.Execute(&buf, view); err != nil {
			return nil, err
		}
		return buf.Bytes(), nil
	}
	switch a.set.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
		return json.Marshal(ev)
	}
	return nil, nil
}

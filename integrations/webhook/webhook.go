// Package webhook POSTs events to any HTTP endpoint: the CloudEvent JSON or
// a body from a Go template, signed the Standard Webhooks way so receivers
// can check it came from tend and drop repeats by its id.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
)

func init() { integrations.Register("webhook", New) }

// Settings of a webhook integration.
type Settings struct {
	// URL receives a POST per event. It may carry a secret; it is never
	// logged.
	URL string `yaml:"url"`
	// Headers are added to every request.
	Headers map[string]string `yaml:"headers"`
	// Secret signs requests: "whsec_" followed by base64 key bytes.
	Secret string `yaml:"secret"`
	// Body is a Go template over render.View; default: the CloudEvent JSON.
	Body string `yaml:"body"`
	// ContentType of a templated body. Default application/json.
	ContentType string `yaml:"content_type" default:"application/json"`
	// MaxResponse caps how much of an answer is read. Default 64 KiB.
	MaxResponse int64 `yaml:"max_response"`
	// InsecureSkipVerify accepts any TLS certificate.
	InsecureSkipVerify bool `yaml:"insecure_skip_verify"`
}

// Integration posts events to one URL.
type Integration struct {
	set    Settings
	key    []byte
	body   *template.Template
	client *http.Client
	now    func() time.Time
}

// New validates settings and returns a webhook integration.
func New(spec config.Integration, _ integrations.Deps) (integrations.Integration, error) {
	var set Settings
	if err := spec.Settings.Decode(&set); err != nil {
		return nil, err
	}
	if err := checkURL(set.URL); err != nil {
		return nil, spec.Settings.Errorf("url", "%v", err)
	}
	w := &Integration{
		set: set,
		client: integrations.NewHTTPClient(integrations.HTTPOptions{
			Timeout: spec.Timeout.D(), InsecureSkipVerify: set.InsecureSkipVerify}),
		now: time.Now,
	}
	if set.Secret != "" {
		key, err := DecodeSecret(set.Secret)
		if err != nil {
			return nil, spec.Settings.Errorf("secret", "%v", err)
		}
		w.key = key
	}
	if set.Body != "" {
		t, err := template.New("body").Funcs(render.Funcs()).Parse(set.Body)
		if err != nil {
			return nil, spec.Settings.Errorf("body", "bad template: %v", err)
		}
		w.body = t
	}
	return w, nil
}

func checkURL(raw string) error {
	if raw == "" {
		return fmt.Errorf("a url is required")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("want an http or https URL")
	}
	return nil
}

// DecodeSecret reads a Standard Webhooks secret: "whsec_" + base64.
func DecodeSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, fmt.Errorf("a signing secret starts with whsec_ followed by base64")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(key) == 0 {
		return nil, fmt.Errorf("the part after whsec_ must be base64")
	}
	return key, nil
}

// Sign returns the webhook-signature header value for id, timestamp and body.
func Sign(key []byte, id string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id))
	mac.Write([]byte{'.'})
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Deliver implements [integrations.Integration]. The webhook-id header is
// the event id, the same on every retry, so receivers can drop repeats.
func (w *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	body, ctype, err := w.payload(ev)
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("render body", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.set.URL, bytes.NewReader(body))
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("build request", fmt.Errorf("bad url"))
	}
	req.Header.Set("Content-Type", ctype)
	req.Header.Set("User-Agent", "tend")
	for k, v := range w.set.Headers {
		req.Header.Set(k, v)
	}
	ts := w.now().Unix()
	req.Header.Set("webhook-id", ev.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	if w.key != nil {
		req.Header.Set("webhook-signature", Sign(w.key, ev.ID, ts, body))
	}

	resp, _, err := integrations.Do(ctx, w.client, req, w.set.MaxResponse)
	rc := integrations.Receipt{}
	if resp != nil {
		rc.Status = resp.StatusCode
	}
	return rc, err
}

func (w *Integration) payload(ev events.Event) ([]byte, string, error) {
	if w.body == nil {
		b, err := ev.Marshal()
		return b, "application/cloudevents+json", err
	}
	var buf bytes.Buffer
	if err := w.body.Execute(&buf, render.Of(ev)); err != nil {
		return nil, "", err
	}
	return buf.Bytes(), w.set.ContentType, nil
}

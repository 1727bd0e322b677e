package confluence

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/internal/textcap"
	"github.com/tend-dev/tend/integrations/render"
)

// MaxTitle is Confluence's limit on a page title, in characters.
const MaxTitle = 255

// maxAnswer caps how much of an answer is read; a page read back for an
// append may be large.
const maxAnswer = 8 << 20

func init() {
	integrations.Register("confluence", factory)
}

func factory(spec config.Integration, deps integrations.Deps) (integrations.Integration, error) {
	return New(spec, deps)
}

// Integration writes reports to Confluence pages. It is safe for concurrent
// use.
type Integration struct {
	name string
	cfg  Config
	hc   *http.Client
	auth string
	refs integrations.Refs
	log  *slog.Logger

	// v2 is set once the site is known to answer only the version 2 API.
	v2 atomic.Bool
	// spaceID caches the space's id, which version 2 asks for.
	spaceMu sync.Mutex
	spaceID string
}

// New returns a confluence integration for spec. It returns a
// [*config.Error] for bad settings and does no network I/O.
func New(spec config.Integration, deps integrations.Deps) (*Integration, error) {
	cfg, err := parseConfig(spec.Settings)
	if err != nil {
		return nil, err
	}
	timeout := spec.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	auth := "Bearer " + cfg.Token
	if cfg.Token == "" {
		auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(cfg.Email+":"+cfg.APIToken))
	}
	refs := deps.Refs
	if refs == nil {
		refs = integrations.NewMemRefs()
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	in := &Integration{
		name: spec.Name,
		cfg:  cfg,
		hc: integrations.NewHTTPClient(integrations.HTTPOptions{
			Timeout:            timeout,
			InsecureSkipVerify: cfg.InsecureSkipVerify,
		}),
		auth: auth,
		refs: refs,
		log:  log,
	}
	in.v2.Store(cfg.API == APIv2)
	return in, nil
}

// Deliver implements [integrations.Integration]. A report event writes the
// report's page; a finished optimization run, and an alert when alerts is
// set, is appended to its incident's or day's page; a test event checks the
// credentials and space. Other events are accepted and ignored. The
// receipt's Ref is the page id.
func (in *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	switch {
	case ev.Type == events.TypeReport:
		var r events.Report
		if err := ev.Decode(&r); err != nil {
			return integrations.Receipt{}, integrations.Permanent("bad event", err)
		}
		title := r.Title
		if title == "" {
			title = r.Name + " " + r.Until.UTC().Format("2006-01-02")
		}
		title = in.title("report: " + title)
		body := reportBody(r)
		return in.upsert(ctx, ev, in.refKey("report", title), title, func(old string) (string, bool) {
			return body, old != body
		})
	case ev.Type == events.TypeOptimizationCompleted, ev.Type == events.TypeOptimizationFailed:
		var r events.Run
		if err := ev.Decode(&r); err != nil {
			return integrations.Receipt{}, integrations.Permanent("bad event", err)
		}
		return in.appendTo(ctx, ev, r.Trigger.Fingerprint)
	case ev.IsAlert():
		if !in.cfg.Alerts {
			return integrations.Receipt{}, nil
		}
		var a events.Alert
		if err := ev.Decode(&a); err != nil {
			return integrations.Receipt{}, integrations.Permanent("bad event", err)
		}
		return in.appendTo(ctx, ev, a.Fingerprint)
	case ev.Type == events.TypeTest:
		if _, err := in.byTitle(ctx, in.title("connection check")); err != nil {
			return integrations.Receipt{Status: status(err)}, fmt.Errorf("check space %s: %w", in.cfg.Space, err)
		}
		return integrations.Receipt{Status: http.StatusOK}, nil
	}
	return integrations.Receipt{}, nil
}

// Close releases idle connections; it implements [integrations.Closer].
func (in *Integration) Close() error {
	in.hc.CloseIdleConnections()
	return nil
}

func (in *Integration) refKey(parts ...string) string {
	return integrations.RefKey(append([]string{"confluence", in.name}, parts...)...)
}

func (in *Integration) title(s string) string {
	return textcap.UTF16(textcap.OneLine(in.cfg.TitlePrefix+" "+s), MaxTitle)
}

// appendTo adds the event as a section to the page of its incident, or of
// its day when grouping by day or when it has no fingerprint.
func (in *Integration) appendTo(ctx context.Context, ev events.Event, fp string) (integrations.Receipt, error) {
	var key, title string
	if in.cfg.PagePer == PerIncident && fp != "" {
		key, title = in.refKey(fp), in.title("incident "+fp)
	} else {
		day := ev.Time.UTC().Format("2006-01-02")
		key, title = in.refKey("day-"+day), in.title("log "+day)
	}
	sec := section(ev)
	mark := marker(ev.ID)
	return in.upsert(ctx, ev, key, title, func(old string) (string, bool) {
		// The event id in the page makes a retried append a no-op.
		if strings.Contains(old, mark) {
			return old, false
		}
		return old + sec, true
	})
}

func marker(id string) string {
	return "<p><sub>tend event " + html.EscapeString(id) + "</sub></p>"
}

// section is one event as a block of storage format: a heading, the time,
// the rendered view, and the event's id for idempotent appends.
func section(ev events.Event) string {
	v := render.Of(ev)
	return "<h2>" + html.EscapeString(textcap.OneLine(v.Title)) + "</h2>" +
		"<p><em>" + html.EscapeString(ev.Time.UTC().Format(time.RFC3339)) + "</em></p>" +
		v.Storage() + marker(ev.ID)
}

// reportBody renders a report's Markdown (or text) as storage format:
// headings stay headings, every other line is an escaped paragraph. The
// report's HTML is not used, since Confluence rejects what is not XHTML.
func reportBody(r events.Report) string {
	src := r.Markdown
	if src == "" {
		src = r.Text
	}
	var b strings.Builder
	if !r.Since.IsZero() || !r.Until.IsZero() {
		b.WriteString("<p><em>" + html.EscapeString(r.Since.UTC().Format(time.RFC3339)+" to "+
			r.Until.UTC().Format(time.RFC3339)) + "</em></p>")
	}
	for _, line := range strings.Split(src, "\n") {
		line = strings.TrimRight(line, " \r")
		switch {
		case strings.TrimSpace(line) == "":
		case strings.HasPrefix(line, "### "):
			b.WriteString("<h4>" + html.EscapeString(line[4:]) + "</h4>")
		case strings.HasPrefix(line, "## "):
			b.WriteString("<h3>" + html.EscapeString(line[3:]) + "</h3>")
		case strings.HasPrefix(line, "# "):
			b.WriteString("<h2>" + html.EscapeString(line[2:]) + "</h2>")
		default:
			b.WriteString("<p>" + html.EscapeString(line) + "</p>")
		}
	}
	if b.Len() == 0 {
		b.WriteString("<p>(empty report)</p>")
	}
	return b.String()
}

type page struct {
	ID      string `json:"id"`
	Title   string `json:"title"`
	Version struct {
		Number int `json:"number"`
	} `json:"version"`
	Body struct {
		Storage struct {
			Value string `json:"value"`
		} `json:"storage"`
	} `json:"body"`
}

// upsert finds the page (Refs, then title), creates it with edit("") if
// absent, or else writes edit(current body) as the next version. A 409
// conflict refetches the page and tries once more; a second conflict is
// retryable. Two hubs creating the same title at once cannot both succeed,
// since titles are unique in a space: the loser appends to the winner's
// page.
func (in *Integration) upsert(ctx context.Context, ev events.Event, key, title string,
	edit func(old string) (string, bool)) (integrations.Receipt, error) {
	log := in.log.With("event_id", ev.ID, "title", title)

	p, err := in.locate(ctx, key, title)
	if err != nil {
		return integrations.Receipt{}, err
	}
	if p == nil {
		body, _ := edit("")
		p, err = in.create(ctx, title, body)
		if err == nil {
			in.remember(ctx, log, key, p.ID)
			log.Info("created confluence page", "ref", p.ID)
			return integrations.Receipt{Status: http.StatusOK, Ref: p.ID}, nil
		}
		if !titleTaken(err) {
			return integrations.Receipt{}, err
		}
		if p, err = in.byTitle(ctx, title); err != nil || p == nil {
			return integrations.Receipt{}, integrations.Retryable("title taken",
				fmt.Errorf("page %q exists but was not found: %v", title, err))
		}
	}

	for attempt := 0; ; attempt++ {
		body, changed := edit(p.Body.Storage.Value)
		if !changed {
			in.remember(ctx, log, key, p.ID)
			return integrations.Receipt{Status: http.StatusOK, Ref: p.ID}, nil
		}
		err := in.update(ctx, p, title, body)
		if err == nil {
			in.remember(ctx, log, key, p.ID)
			log.Debug("updated confluence page", "ref", p.ID, "version", p.Version.Number+1)
			return integrations.Receipt{Status: http.StatusOK, Ref: p.ID}, nil
		}
		if !conflict(err) || attempt == 1 {
			return integrations.Receipt{Ref: p.ID}, err
		}
		log.Debug("confluence page changed underneath, refetching", "ref", p.ID)
		if p, err = in.get(ctx, p.ID); err != nil {
			return integrations.Receipt{}, err
		}
	}
}

func (in *Integration) locate(ctx context.Context, key, title string) (*page, error) {
	id, err := in.refs.Get(ctx, key)
	switch {
	case err == nil:
		p, err := in.get(ctx, id)
		if err == nil {
			return p, nil
		}
		if status(err) != http.StatusNotFound {
			return nil, err
		}
	case !errors.Is(err, integrations.ErrNoRef):
		in.log.Warn("read confluence ref", "key", key, "error", err)
	}
	return in.byTitle(ctx, title)
}

func (in *Integration) getV1(ctx context.Context, id string) (*page, error) {
	var p page
	q := url.Values{"expand": {"version,body.storage"}}
	if _, err := in.do(ctx, http.MethodGet, "/rest/api/content/"+url.PathEscape(id), q, nil, &p); err != nil {
		return nil, fmt.Errorf("get page %s: %w", id, err)
	}
	return &p, nil
}

func (in *Integration) byTitleV1(ctx context.Context, title string) (*page, error) {
	var res struct {
		Results []page `json:"results"`
	}
	q := url.Values{
		"title": {title}, "spaceKey": {in.cfg.Space}, "type": {"page"},
		"expand": {"version,body.storage"},
	}
	if _, err := in.do(ctx, http.MethodGet, "/rest/api/content", q, nil, &res); err != nil {
		return nil, fmt.Errorf("find page by title: %w", err)
	}
	for i := range res.Results {
		if res.Results[i].Title == title {
			return &res.Results[i], nil
		}
	}
	return nil, nil
}

type content struct {
	ID        string     `json:"id,omitempty"`
	Type      string     `json:"type"`
	Title     string     `json:"title"`
	Space     spaceRef   `json:"space"`
	Ancestors []ancestor `json:"ancestors,omitempty"`
	Version   *version   `json:"version,omitempty"`
	Body      storage    `json:"body"`
}

type spaceRef struct {
	Key string `json:"key"`
}

type ancestor struct {
	ID string `json:"id"`
}

type version struct {
	Number int `json:"number"`
}

type storage struct {
	Storage struct {
		Value          string `json:"value"`
		Representation string `json:"representation"`
	} `json:"storage"`
}

func newContent(title, body string) content {
	c := content{Type: "page", Title: title}
	c.Body.Storage.Value = body
	c.Body.Storage.Representation = "storage"
	return c
}

func (in *Integration) createV1(ctx context.Context, title, body string) (*page, error) {
	c := newContent(title, body)
	c.Space.Key = in.cfg.Space
	if in.cfg.Parent != "" {
		c.Ancestors = []ancestor{{ID: in.cfg.Parent}}
	}
	var p page
	if _, err := in.do(ctx, http.MethodPost, "/rest/api/content", nil, c, &p); err != nil {
		return nil, fmt.Errorf("create page: %w", err)
	}
	if p.ID == "" {
		return nil, integrations.Retryable("bad answer", errors.New("create page: answer has no id"))
	}
	return &p, nil
}

func (in *Integration) updateV1(ctx context.Context, p *page, title, body string) error {
	c := newContent(title, body)
	c.ID = p.ID
	c.Space.Key = in.cfg.Space
	c.Version = &version{Number: p.Version.Number + 1}
	if _, err := in.do(ctx, http.MethodPut, "/rest/api/content/"+url.PathEscape(p.ID), nil, c, nil); err != nil {
		return fmt.Errorf("update page %s: %w", p.ID, err)
	}
	return nil
}

func (in *Integration) remember(ctx context.Context, log *slog.Logger, key, id string) {
	if old, err := in.refs.Get(ctx, key); err == nil && old == id {
		return
	}
	if err := in.refs.Put(ctx, key, id); err != nil {
		log.Warn("store confluence ref", "ref", id, "error", err)
	}
}

// do makes one call and decodes a 2xx answer into out. Failures are
// [*integrations.Error] carrying Confluence's message and no URL or
// credential; a 409 conflict is retryable.
func (in *Integration) do(ctx context.Context, method, path string, q url.Values, body, out any) (int, error) {
	u := in.cfg.URL + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd *bytes.Reader
	if body != nil {
		// Storage format is XHTML: keep its < and > readable on the wire.
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return 0, integrations.Permanent("encode request", err)
		}
		rd = bytes.NewReader(buf.Bytes())
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, u, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, u, nil)
	}
	if err != nil {
		return 0, integrations.Permanent("build request", errors.New("bad URL"))
	}
	req.Header.Set("Authorization", in.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, data, err := integrations.Do(ctx, in.hc, req, maxAnswer)
	var e *integrations.Error
	if errors.As(err, &e) && e.Status != 0 {
		var ce struct {
			Message string `json:"message"`
			Errors  []struct {
				Title string `json:"title"`
			} `json:"errors"`
		}
		msg := textcap.Runes(textcap.OneLine(string(data)), 200)
		if json.Unmarshal(data, &ce) == nil {
			switch {
			case ce.Message != "":
				msg = ce.Message
			case len(ce.Errors) > 0 && ce.Errors[0].Title != "":
				msg = ce.Errors[0].Title
			}
		}
		if e.Status == http.StatusUnauthorized {
			msg = "not authenticated (check email and api_token, or token): " + msg
		}
		e.Err = errors.New("confluence: " + textcap.Runes(msg, 300))
		if e.Status == http.StatusConflict {
			e.Permanent, e.Reason = false, "conflict"
		}
		return e.Status, e
	}
	if err != nil {
		return 0, err
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, integrations.Retryable("bad answer", fmt.Errorf("decode answer: %w", err))
		}
	}
	return resp.StatusCode, nil
}

func status(err error) int {
	var e *integrations.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

func conflict(err error) bool { return status(err) == http.StatusConflict }

// titleTaken reports Confluence's answer to a second page with the same
// title in a space.
func titleTaken(err error) bool {
	return status(err) == http.StatusBadRequest && strings.Contains(err.Error(), "already exists")
}

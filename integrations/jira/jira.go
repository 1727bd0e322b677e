package jira

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	gojira "github.com/andygrunwald/go-jira"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/internal/textcap"
	"github.com/tend-dev/tend/integrations/render"
)

// Field limits JIRA enforces, in UTF-16 code units.
const (
	MaxSummary     = 255
	MaxDescription = 32767
	MaxComment     = 32767
)

// maxAnswer caps how much of an answer is read.
const maxAnswer = 4 << 20

func init() {
	integrations.Register("jira", factory)
}

func factory(spec config.Integration, deps integrations.Deps) (integrations.Integration, error) {
	return New(spec, deps)
}

// Integration files alerts as JIRA issues. It is safe for concurrent use.
type Integration struct {
	name   string
	cfg    Config
	client *gojira.Client
	refs   integrations.Refs
	log    *slog.Logger
	now    func() time.Time
	idle   func()
	// searchPath is the search endpoint this JIRA answers.
	searchPath atomic.Pointer[string]
}

// Close releases idle connections; it implements [integrations.Closer].
func (in *Integration) Close() error {
	in.idle()
	return nil
}

// New returns a jira integration for spec. It returns a [*config.Error] for
// bad settings and does no network I/O.
func New(spec config.Integration, deps integrations.Deps) (*Integration, error) {
	cfg, err := parseConfig(spec.Settings)
	if err != nil {
		return nil, err
	}
	timeout := spec.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	hc := integrations.NewHTTPClient(integrations.HTTPOptions{
		Timeout:            timeout,
		InsecureSkipVerify: cfg.InsecureSkipVerify,
	})
	idle := hc.CloseIdleConnections // before wrapping: it reaches the transport
	base := capBody{next: hc.Transport}
	if cfg.Token != "" {
		hc.Transport = &gojira.PATAuthTransport{Token: cfg.Token, Transport: base}
	} else {
		hc.Transport = &gojira.BasicAuthTransport{Username: cfg.Email, Password: cfg.APIToken, Transport: base}
	}
	client, err := gojira.NewClient(hc, cfg.URL)
	if err != nil {
		return nil, spec.Settings.Errorf("url", "bad URL")
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
		name: spec.Name, cfg: cfg, client: client, refs: refs, log: log, now: time.Now, idle: idle,
	}
	path := searchJQL
	if cfg.Token != "" {
		path = searchClassic
	}
	in.searchPath.Store(&path)
	return in, nil
}

// Deliver implements [integrations.Integration]. Firing alerts create,
// comment on or reopen the fingerprint's issue; resolved alerts comment on
// it and transition it to done; finished optimization runs started by an
// alert are commented on that alert's open issue; a test event checks the
// credentials. Other events are accepted and ignored.
func (in *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	switch ev.Type {
	case events.TypeAlertFiring, events.TypeAlertResolved:
		var a events.Alert
		if err := ev.Decode(&a); err != nil {
			return integrations.Receipt{}, integrations.Permanent("bad event", err)
		}
		if a.Fingerprint == "" {
			return integrations.Receipt{}, integrations.Permanent("bad event",
				fmt.Errorf("alert event %s has no fingerprint", ev.ID))
		}
		if ev.Type == events.TypeAlertFiring {
			return in.firing(ctx, ev, a)
		}
		return in.resolved(ctx, ev, a)
	case events.TypeOptimizationCompleted, events.TypeOptimizationFailed:
		return in.run(ctx, ev)
	case events.TypeTest:
		status, err := in.call(ctx, http.MethodGet, "rest/api/2/myself", nil, nil)
		if err != nil {
			return integrations.Receipt{Status: status}, fmt.Errorf("check credentials: %w", err)
		}
		return integrations.Receipt{Status: status}, nil
	}
	return integrations.Receipt{}, nil
}

// issue is the part of a JIRA issue tend reads.
type issue struct {
	ID     string `json:"id"`
	Key    string `json:"key"`
	Fields struct {
		Status struct {
			Name           string `json:"name"`
			StatusCategory struct {
				Key string `json:"key"`
			} `json:"statusCategory"`
		} `json:"status"`
		Resolved      string `json:"resolutiondate"`
		CategoryMoved string `json:"statuscategorychangedate"`
		Updated       string `json:"updated"`
	} `json:"fields"`
}

func (i *issue) open() bool { return i.Fields.Status.StatusCategory.Key != "done" }

// resolvedAt returns when the issue was resolved, falling back to the status
// category change and then the last update for workflows that set no
// resolution.
func (i *issue) resolvedAt() (time.Time, bool) {
	for _, s := range []string{i.Fields.Resolved, i.Fields.CategoryMoved, i.Fields.Updated} {
		if t, err := time.Parse("2006-01-02T15:04:05.000-0700", s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (i *issue) num() int {
	n, err := strconv.Atoi(i.ID)
	if err != nil {
		return int(^uint(0) >> 1)
	}
	return n
}

const issueFields = "status,resolutiondate,statuscategorychangedate,updated"

// Label returns the label that marks the issue of a fingerprint.
func Label(fingerprint string) string {
	return "tend-" + strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, fingerprint)
}

func (in *Integration) refKey(fp string) string { return integrations.RefKey("jira", in.name, fp) }

func (in *Integration) firing(ctx context.Context, ev events.Event, a events.Alert) (integrations.Receipt, error) {
	log := in.log.With("event_id", ev.ID, "fingerprint", a.Fingerprint)
	view := render.Of(ev)

	iss, err := in.find(ctx, a.Fingerprint, true)
	if err != nil {
		return integrations.Receipt{}, err
	}
	if iss != nil && iss.open() {
		body := fmt.Sprintf("*Firing again* at %s\n\n%s", stamp(ev), view.JiraWiki())
		if err := in.comment(ctx, iss.Key, body); err != nil {
			return integrations.Receipt{Ref: iss.Key}, err
		}
		in.remember(ctx, log, a.Fingerprint, iss.Key)
		log.Debug("commented on jira issue", "ref", iss.Key)
		return integrations.Receipt{Status: http.StatusCreated, Ref: iss.Key}, nil
	}
	if iss != nil && in.reopenable(iss) {
		err := in.transition(ctx, iss.Key, in.reopenNames())
		switch {
		case errors.Is(err, errNoTransition):
			// A workflow that cannot reopen gets a new issue instead.
			log.Warn("cannot reopen jira issue, filing a new one", "ref", iss.Key, "error", err)
		case err != nil:
			return integrations.Receipt{Ref: iss.Key}, fmt.Errorf("reopen %s: %w", iss.Key, err)
		default:
			body := fmt.Sprintf("*Firing again* at %s; reopened by tend.\n\n%s", stamp(ev), view.JiraWiki())
			if err := in.comment(ctx, iss.Key, body); err != nil {
				return integrations.Receipt{Ref: iss.Key}, err
			}
			in.remember(ctx, log, a.Fingerprint, iss.Key)
			log.Info("reopened jira issue", "ref", iss.Key)
			return integrations.Receipt{Status: http.StatusCreated, Ref: iss.Key}, nil
		}
	}

	mine, err := in.create(ctx, ev, a, view)
	if err != nil {
		return integrations.Receipt{}, err
	}
	key := in.settle(ctx, log, a.Fingerprint, mine)
	in.remember(ctx, log, a.Fingerprint, key)
	log.Info("created jira issue", "ref", key)
	return integrations.Receipt{Status: http.StatusCreated, Ref: key}, nil
}

func (in *Integration) resolved(ctx context.Context, ev events.Event, a events.Alert) (integrations.Receipt, error) {
	log := in.log.With("event_id", ev.ID, "fingerprint", a.Fingerprint)
	iss, err := in.find(ctx, a.Fingerprint, false)
	if err != nil {
		return integrations.Receipt{}, err
	}
	if iss == nil || !iss.open() {
		// Nothing open: the firing never made an issue, or someone (or an
		// earlier attempt) closed it already.
		log.Debug("no open jira issue to resolve")
		return integrations.Receipt{}, nil
	}

	// Comment before the transition: a retry after a failed transition
	// repeats the comment, which beats losing it.
	body := fmt.Sprintf("*Resolved* at %s\n\n%s", stamp(ev), render.Of(ev).JiraWiki())
	if err := in.comment(ctx, iss.Key, body); err != nil {
		return integrations.Receipt{Ref: iss.Key}, err
	}
	if err := in.transition(ctx, iss.Key, []string{in.cfg.DoneTransition}); err != nil {
		return integrations.Receipt{Ref: iss.Key}, fmt.Errorf("close %s: %w", iss.Key, err)
	}
	in.remember(ctx, log, a.Fingerprint, iss.Key)
	log.Info("closed jira issue", "ref", iss.Key)
	return integrations.Receipt{Status: http.StatusNoContent, Ref: iss.Key}, nil
}

// run comments a finished optimization run on the open issue of the alert
// that started it, if there is one.
func (in *Integration) run(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	var r events.Run
	if err := ev.Decode(&r); err != nil {
		return integrations.Receipt{}, integrations.Permanent("bad event", err)
	}
	if r.Trigger.Fingerprint == "" {
		return integrations.Receipt{}, nil
	}
	iss, err := in.find(ctx, r.Trigger.Fingerprint, false)
	if err != nil || iss == nil || !iss.open() {
		return integrations.Receipt{}, err
	}
	view := render.Of(ev)
	body := "*" + render.WikiEscape(textcap.OneLine(view.Title)) + "*\n\n" + view.JiraWiki()
	if err := in.comment(ctx, iss.Key, body); err != nil {
		return integrations.Receipt{Ref: iss.Key}, err
	}
	return integrations.Receipt{Status: http.StatusCreated, Ref: iss.Key}, nil
}

// find returns the issue tend made for fp: the open one whose key is stored
// in Refs, else the oldest open issue with the fingerprint's label (a hub
// may have died after creating it, before storing its key), else (with done
// set) the resolved issue from Refs or the most recently resolved one. It
// returns nil when there is none.
func (in *Integration) find(ctx context.Context, fp string, done bool) (*issue, error) {
	var closed *issue
	key, err := in.refs.Get(ctx, in.refKey(fp))
	switch {
	case err == nil:
		iss, err := in.get(ctx, key)
		if err == nil && iss.open() {
			return iss, nil
		}
		if err != nil && !isNotFound(err) {
			return nil, err
		}
		closed = iss
	case !errors.Is(err, integrations.ErrNoRef):
		in.log.Warn("read jira ref", "fingerprint", fp, "error", err)
	}

	open, err := in.search(ctx, fp, "statusCategory != Done ORDER BY created ASC", 10)
	if err != nil {
		return nil, err
	}
	if len(open) > 0 {
		return oldest(open), nil
	}
	if !done || in.cfg.ReopenWithin <= 0 {
		return nil, nil
	}
	if closed != nil {
		return closed, nil
	}
	list, err := in.search(ctx, fp, "statusCategory = Done ORDER BY resolutiondate DESC", 1)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return &list[0], nil
}

func oldest(list []issue) *issue {
	best := &list[0]
	for i := range list {
		if list[i].num() < best.num() {
			best = &list[i]
		}
	}
	return best
}

func (in *Integration) reopenable(iss *issue) bool {
	if in.cfg.ReopenWithin <= 0 {
		return false
	}
	at, ok := iss.resolvedAt()
	return ok && in.now().Sub(at) <= in.cfg.ReopenWithin.D()
}

func (in *Integration) reopenNames() []string {
	if in.cfg.ReopenTransition != "" {
		return []string{in.cfg.ReopenTransition}
	}
	return []string{"Reopen", "To Do"}
}

func (in *Integration) get(ctx context.Context, key string) (*issue, error) {
	var iss issue
	path := "rest/api/2/issue/" + url.PathEscape(key) + "?fields=" + issueFields
	if _, err := in.call(ctx, http.MethodGet, path, nil, &iss); err != nil {
		return nil, fmt.Errorf("get issue %s: %w", key, err)
	}
	return &iss, nil
}

// errNoTransition is returned when an issue offers no transition of the
// wanted name.
var errNoTransition = errors.New("no transition")

// Search endpoints: JIRA Cloud removed the classic one (410 Gone) in favour
// of /search/jql; JIRA Server/Data Center has only the classic one.
const (
	searchJQL     = "rest/api/2/search/jql"
	searchClassic = "rest/api/2/search"
)

// search runs a JQL query on the fingerprint's label. It starts with the
// endpoint the credentials suggest (Cloud for email and API token), and on
// 404 or 410 switches to the other for good.
func (in *Integration) search(ctx context.Context, fp, rest string, max int) ([]issue, error) {
	jql := fmt.Sprintf("project = %s AND labels = %s AND %s",
		strconv.Quote(in.cfg.Project), strconv.Quote(Label(fp)), rest)
	q := url.Values{}
	q.Set("jql", jql)
	q.Set("maxResults", strconv.Itoa(max))
	q.Set("fields", issueFields)

	path := *in.searchPath.Load()
	for try := 0; ; try++ {
		var res struct {
			Issues []issue `json:"issues"`
		}
		status, err := in.call(ctx, http.MethodGet, path+"?"+q.Encode(), nil, &res)
		if err == nil {
			return res.Issues, nil
		}
		if try == 1 || (status != http.StatusNotFound && status != http.StatusGone) {
			return nil, fmt.Errorf("search issues: %w", err)
		}
		path = searchClassic
		if path == *in.searchPath.Load() {
			path = searchJQL
		}
		in.searchPath.Store(&path)
		in.log.Info("switched jira search endpoint", "path", path)
	}
}

func (in *Integration) create(ctx context.Context, ev events.Event, a events.Alert, view render.View) (*issue, error) {
	summary := a.Summary
	if summary == "" {
		summary = view.Title
	}
	head := a.Rule
	if where := hostOf(a); where != "" {
		head += " on " + where
	}
	if a.Severity != "" {
		head = "[" + a.Severity + "] " + head
	}
	summary = head + ": " + summary

	labels := append(append([]string(nil), in.cfg.Labels...), Label(a.Fingerprint))
	fields := map[string]any{}
	for k, v := range in.cfg.CustomFields {
		fields[k] = v
	}
	fields["project"] = map[string]string{"key": in.cfg.Project}
	fields["issuetype"] = map[string]string{"name": in.cfg.IssueType}
	fields["summary"] = textcap.UTF16(textcap.OneLine(summary), MaxSummary)
	fields["description"] = textcap.UTF16(view.JiraWiki(), MaxDescription)
	fields["labels"] = labels
	if p := in.cfg.Priorities[strings.ToLower(a.Severity)]; p != "" {
		fields["priority"] = map[string]string{"name": p}
	}
	if len(in.cfg.Components) > 0 {
		cs := make([]map[string]string, len(in.cfg.Components))
		for i, c := range in.cfg.Components {
			cs[i] = map[string]string{"name": c}
		}
		fields["components"] = cs
	}

	var made issue
	req := map[string]any{"fields": fields}
	if _, err := in.call(ctx, http.MethodPost, "rest/api/2/issue", req, &made); err != nil {
		return nil, fmt.Errorf("create issue: %w", err)
	}
	if made.Key == "" {
		return nil, integrations.Retryable("bad answer", errors.New("create issue: answer has no key"))
	}
	return &made, nil
}

// settle makes one issue per fingerprint out of a race: two hubs that both
// found nothing and both created an issue. Whoever sees more than one open
// issue keeps the oldest (lowest id) and deletes its own, or, when it may
// not delete, takes tend's label off its own and closes it. It returns the
// key to use; a failed check keeps mine, since the issue exists either way.
//
// NOTE: JIRA's search index can lag a write by seconds; two creations that
// overlap within that lag, before either key reaches Refs, may still leave
// two issues.
func (in *Integration) settle(ctx context.Context, log *slog.Logger, fp string, mine *issue) string {
	cands := []issue{*mine}
	if key, err := in.refs.Get(ctx, in.refKey(fp)); err == nil && key != mine.Key {
		if iss, err := in.get(ctx, key); err == nil && iss.open() {
			cands = append(cands, *iss)
		}
	}
	open, err := in.search(ctx, fp, "statusCategory != Done ORDER BY created ASC", 10)
	if err != nil {
		log.Warn("check for a duplicate jira issue", "ref", mine.Key, "error", err)
	}
	cands = append(cands, open...)
	win := oldest(cands)
	if win.Key == mine.Key {
		return mine.Key
	}
	if _, err := in.call(ctx, http.MethodDelete, "rest/api/2/issue/"+url.PathEscape(mine.Key), nil, nil); err == nil {
		log.Info("deleted duplicate jira issue", "ref", mine.Key, "kept", win.Key)
		return win.Key
	}
	// Most bot accounts may not delete issues: take tend's label off the
	// duplicate, so no search finds it again, and close it.
	if err := in.retire(ctx, fp, mine.Key, win.Key); err != nil {
		log.Warn("retire duplicate jira issue", "ref", mine.Key, "kept", win.Key, "error", err)
	} else {
		log.Info("closed duplicate jira issue", "ref", mine.Key, "kept", win.Key)
	}
	return win.Key
}

func (in *Integration) retire(ctx context.Context, fp, key, kept string) error {
	edit := map[string]any{"update": map[string]any{"labels": []map[string]string{{"remove": Label(fp)}}}}
	if _, err := in.call(ctx, http.MethodPut, "rest/api/2/issue/"+url.PathEscape(key), edit, nil); err != nil {
		return fmt.Errorf("remove label: %w", err)
	}
	note := fmt.Sprintf("Duplicate of %s, filed at the same moment by another tend hub.", kept)
	if err := in.comment(ctx, key, note); err != nil {
		return err
	}
	return in.transition(ctx, key, []string{in.cfg.DoneTransition})
}

func (in *Integration) comment(ctx context.Context, key, body string) error {
	// Not gojira.Comment: it would send empty author and visibility objects.
	c := map[string]string{"body": textcap.UTF16(body, MaxComment)}
	path := "rest/api/2/issue/" + url.PathEscape(key) + "/comment"
	if _, err := in.call(ctx, http.MethodPost, path, c, nil); err != nil {
		return fmt.Errorf("comment on %s: %w", key, err)
	}
	return nil
}

// transition applies the first transition the issue offers whose name, or
// whose target status, matches one of names (case-insensitive). None
// matching is a permanent error naming what is offered.
func (in *Integration) transition(ctx context.Context, key string, names []string) error {
	var res struct {
		Transitions []gojira.Transition `json:"transitions"`
	}
	path := "rest/api/2/issue/" + url.PathEscape(key) + "/transitions"
	if _, err := in.call(ctx, http.MethodGet, path, nil, &res); err != nil {
		return fmt.Errorf("list transitions: %w", err)
	}
	id := ""
	for _, want := range names {
		for _, t := range res.Transitions {
			if strings.EqualFold(t.Name, want) || strings.EqualFold(t.To.Name, want) {
				id = t.ID
				break
			}
		}
		if id != "" {
			break
		}
	}
	if id == "" {
		offered := make([]string, len(res.Transitions))
		for i, t := range res.Transitions {
			offered[i] = t.Name
		}
		return integrations.Permanent("no transition", fmt.Errorf(
			"%w named %s; the issue offers %s", errNoTransition,
			strings.Join(names, " or "), strings.Join(offered, ", ")))
	}
	payload := map[string]any{"transition": map[string]string{"id": id}}
	if _, err := in.call(ctx, http.MethodPost, path, payload, nil); err != nil {
		return fmt.Errorf("apply transition %s: %w", id, err)
	}
	return nil
}

func (in *Integration) remember(ctx context.Context, log *slog.Logger, fp, key string) {
	if old, err := in.refs.Get(ctx, in.refKey(fp)); err == nil && old == key {
		return
	}
	if err := in.refs.Put(ctx, in.refKey(fp), key); err != nil {
		// The label search still finds the issue; the ref only saves a call.
		log.Warn("store jira ref", "ref", key, "error", err)
	}
}

// call makes one request through go-jira and decodes a 2xx answer into out.
// Failures come back as [*integrations.Error]: JIRA's error bodies are
// turned into a readable cause, and no URL or credential is included.
func (in *Integration) call(ctx context.Context, method, path string, body, out any) (int, error) {
	req, err := in.client.NewRequestWithContext(ctx, method, path, body)
	if err != nil {
		return 0, integrations.Permanent("build request", err)
	}
	resp, err := in.client.Do(req, nil)
	if resp == nil || resp.Response == nil {
		if err == nil {
			err = errors.New("no answer")
		}
		return 0, transportError(ctx, err)
	}
	defer resp.Body.Close()

	data, rerr := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, statusError(resp.Response, data)
	}
	if rerr != nil {
		return resp.StatusCode, transportError(ctx, rerr)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, integrations.Retryable("bad answer", fmt.Errorf("decode answer: %w", err))
		}
	}
	return resp.StatusCode, nil
}

// statusError classifies a non-2xx answer: 429, 503 and other 5xx are
// retryable (honouring Retry-After), other 4xx permanent. JIRA's
// {"errorMessages":[...],"errors":{field: msg}} body becomes the cause.
func statusError(resp *http.Response, body []byte) *integrations.Error {
	e := integrations.StatusError(resp, "")
	var je gojira.Error
	msg := ""
	if json.Unmarshal(body, &je) == nil && (len(je.ErrorMessages) > 0 || len(je.Errors) > 0) {
		parts := append([]string(nil), je.ErrorMessages...)
		keys := make([]string, 0, len(je.Errors))
		for k := range je.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, k+": "+je.Errors[k])
		}
		msg = strings.Join(parts, "; ")
	} else {
		msg = textcap.Runes(textcap.OneLine(string(body)), 200)
	}
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		msg = "not authenticated (check email and api_token, or token): " + msg
	case http.StatusForbidden:
		msg = "forbidden (check the account's project permissions): " + msg
	}
	e.Err = errors.New("jira: " + textcap.Runes(msg, 500))
	return e
}

func isNotFound(err error) bool {
	var e *integrations.Error
	return errors.As(err, &e) && e.Status == http.StatusNotFound
}

// transportError classifies a failure to get an answer, without the URL.
func transportError(ctx context.Context, err error) *integrations.Error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w: %w", ctx.Err(), err)
	}
	e := integrations.Classify(err)
	if e.Reason == "error" {
		e.Reason = "network"
	}
	return e
}

func hostOf(a events.Alert) string {
	if a.Host != "" {
		return a.Host
	}
	return a.Labels["host"]
}

func stamp(ev events.Event) string {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format(time.RFC3339)
}

// capBody limits every answer body, since go-jira reads answers whole.
type capBody struct{ next http.RoundTripper }

func (c capBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.next.RoundTrip(req)
	if err == nil {
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, maxAnswer), resp.Body}
	}
	return resp, err
}

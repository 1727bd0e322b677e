package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	gh "github.com/google/go-github/v60/github"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/internal/textcap"
	"github.com/tend-dev/tend/integrations/render"
)

// Limits GitHub enforces, in characters.
const (
	MaxBody              = 65536
	MaxTitle             = 256
	MaxStatusDescription = 140
)

const maxAnswer = 4 << 20

func init() {
	integrations.Register("github", factory)
}

func factory(spec config.Integration, deps integrations.Deps) (integrations.Integration, error) {
	return New(spec, deps)
}

// Integration files alerts as GitHub issues and reports optimization runs
// to the issue, pull request or commit that asked for them. It is safe for
// concurrent use.
type Integration struct {
	name   string
	cfg    Config
	client *gh.Client
	refs   integrations.Refs
	log    *slog.Logger
	now    func() time.Time
	idle   func()
}

// New returns a github integration for spec. It returns a [*config.Error]
// for bad settings and does no network I/O.
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
	hc.Transport = capBody{next: hc.Transport}
	client := gh.NewClient(hc).WithAuthToken(cfg.Token)
	if cfg.URL != "" {
		if client, err = client.WithEnterpriseURLs(cfg.URL, cfg.URL); err != nil {
			return nil, spec.Settings.Errorf("url", "bad URL")
		}
	}
	refs := deps.Refs
	if refs == nil {
		refs = integrations.NewMemRefs()
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Integration{
		name: spec.Name, cfg: cfg, client: client, refs: refs, log: log, now: time.Now,
		idle: idle,
	}, nil
}

// Deliver implements [integrations.Integration]: alerts go to issues,
// optimization runs with a GitHub trigger to comments and commit statuses,
// and a test event checks the token. Other events are accepted and ignored.
func (in *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	switch {
	case ev.Type == events.TypeAlertFiring, ev.Type == events.TypeAlertResolved:
		var a events.Alert
		if err := ev.Decode(&a); err != nil {
			return integrations.Receipt{}, integrations.Permanent("bad event", err)
		}
		if a.Fingerprint == "" {
			return integrations.Receipt{}, integrations.Permanent("bad event",
				fmt.Errorf("alert event %s has no fingerprint", ev.ID))
		}
		if in.cfg.Repo == "" {
			return integrations.Receipt{}, integrations.Permanent("no repo",
				errors.New("alerts are routed here but repo is not set"))
		}
		if ev.Type == events.TypeAlertFiring {
			return in.firing(ctx, ev, a)
		}
		return in.resolved(ctx, ev, a)
	case strings.HasPrefix(ev.Type, events.TypePrefix+"optimization."):
		return in.run(ctx, ev)
	case ev.Type == events.TypeTest:
		return in.check(ctx)
	}
	return integrations.Receipt{}, nil
}

// Label returns the label that marks the issue of a fingerprint.
func Label(fingerprint string) string {
	return textcap.Runes("tend-"+strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, fingerprint), 50)
}

// Marker returns the hidden line an alert issue's body starts with.
func Marker(fingerprint string) string {
	return "<!-- tend:fingerprint=" + strings.NewReplacer("-", "_", ">", "_").Replace(fingerprint) + " -->"
}

func (in *Integration) refKey(fp string) string { return integrations.RefKey("github", in.name, fp) }

func (in *Integration) firing(ctx context.Context, ev events.Event, a events.Alert) (integrations.Receipt, error) {
	log := in.log.With("event_id", ev.ID, "fingerprint", a.Fingerprint)
	owner, repo := split(in.cfg.Repo)
	view := render.Of(ev)

	iss, err := in.find(ctx, a.Fingerprint, true)
	if err != nil {
		return integrations.Receipt{}, err
	}
	if iss != nil && iss.GetState() == "open" {
		ref := in.ref(iss)
		body := fmt.Sprintf("**Firing again** at %s\n\n%s", stamp(ev), view.Markdown())
		if err := in.comment(ctx, owner, repo, iss.GetNumber(), body); err != nil {
			return integrations.Receipt{Ref: ref}, err
		}
		in.remember(ctx, log, a.Fingerprint, ref)
		return integrations.Receipt{Status: http.StatusCreated, Ref: ref}, nil
	}
	if iss != nil && in.reopenable(iss) {
		ref := in.ref(iss)
		_, resp, err := in.client.Issues.Edit(ctx, owner, repo, iss.GetNumber(), &gh.IssueRequest{
			State: gh.String("open"),
		})
		if err != nil {
			err = fmt.Errorf("reopen %s: %w", ref, classify(ctx, resp, err))
			return integrations.Receipt{Status: status(resp), Ref: ref}, err
		}
		body := fmt.Sprintf("**Firing again** at %s; reopened by tend.\n\n%s", stamp(ev), view.Markdown())
		if err := in.comment(ctx, owner, repo, iss.GetNumber(), body); err != nil {
			return integrations.Receipt{Ref: ref}, err
		}
		in.remember(ctx, log, a.Fingerprint, ref)
		log.Info("reopened github issue", "ref", ref)
		return integrations.Receipt{Status: http.StatusCreated, Ref: ref}, nil
	}

	mine, err := in.create(ctx, a, view)
	if err != nil {
		return integrations.Receipt{}, err
	}
	kept := in.settle(ctx, log, a.Fingerprint, mine)
	ref := in.ref(kept)
	in.remember(ctx, log, a.Fingerprint, ref)
	log.Info("created github issue", "ref", ref)
	return integrations.Receipt{Status: http.StatusCreated, Ref: ref}, nil
}

func (in *Integration) resolved(ctx context.Context, ev events.Event, a events.Alert) (integrations.Receipt, error) {
	log := in.log.With("event_id", ev.ID, "fingerprint", a.Fingerprint)
	owner, repo := split(in.cfg.Repo)
	iss, err := in.find(ctx, a.Fingerprint, false)
	if err != nil {
		return integrations.Receipt{}, err
	}
	if iss == nil || iss.GetState() != "open" {
		log.Debug("no open github issue to close")
		return integrations.Receipt{}, nil
	}
	ref := in.ref(iss)
	body := fmt.Sprintf("**Resolved** at %s\n\n%s", stamp(ev), render.Of(ev).Markdown())
	if err := in.comment(ctx, owner, repo, iss.GetNumber(), body); err != nil {
		return integrations.Receipt{Ref: ref}, err
	}
	_, resp, err := in.client.Issues.Edit(ctx, owner, repo, iss.GetNumber(), &gh.IssueRequest{
		State: gh.String("closed"), StateReason: gh.String("completed"),
	})
	if err != nil {
		err = fmt.Errorf("close %s: %w", ref, classify(ctx, resp, err))
		return integrations.Receipt{Status: status(resp), Ref: ref}, err
	}
	in.remember(ctx, log, a.Fingerprint, ref)
	log.Info("closed github issue", "ref", ref)
	return integrations.Receipt{Status: http.StatusOK, Ref: ref}, nil
}

// find returns the issue tend made for fp in Repo: the open one stored in
// Refs, else the oldest open issue with the fingerprint's label, else (with
// closed set) the most recently closed one. Listing by label
// reads GitHub's database directly; the search API would lag new issues.
func (in *Integration) find(ctx context.Context, fp string, closed bool) (*gh.Issue, error) {
	owner, repo := split(in.cfg.Repo)
	if ref, err := in.refs.Get(ctx, in.refKey(fp)); err == nil {
		if n, ok := in.parseRef(ref); ok {
			// A closed issue from Refs is not the answer yet: a hub may have
			// died after opening a newer one, before storing its number.
			iss, resp, err := in.client.Issues.Get(ctx, owner, repo, n)
			switch {
			case err == nil && iss.GetState() == "open":
				return iss, nil
			case err != nil && status(resp) != http.StatusNotFound && status(resp) != http.StatusGone:
				return nil, fmt.Errorf("get issue %s: %w", ref, classify(ctx, resp, err))
			}
		}
	} else if !errors.Is(err, integrations.ErrNoRef) {
		in.log.Warn("read github ref", "fingerprint", fp, "error", err)
	}

	open, err := in.list(ctx, fp, "open", "created", "asc")
	if err != nil {
		return nil, err
	}
	if len(open) > 0 {
		return open[0], nil
	}
	if !closed || in.cfg.ReopenWithin <= 0 {
		return nil, nil
	}
	// Recently closed issues were recently updated: the first page of the
	// most recently updated holds the last one closed, however many times
	// the problem came back before.
	recent, err := in.list(ctx, fp, "closed", "updated", "desc")
	if err != nil {
		return nil, err
	}
	var last *gh.Issue
	for _, iss := range recent {
		if last == nil || iss.GetClosedAt().After(last.GetClosedAt().Time) {
			last = iss
		}
	}
	return last, nil
}

// list returns the first page of issues (not pull requests) of Repo in
// state carrying fp's label, in the given order.
func (in *Integration) list(ctx context.Context, fp, state, sort, direction string) ([]*gh.Issue, error) {
	owner, repo := split(in.cfg.Repo)
	got, resp, err := in.client.Issues.ListByRepo(ctx, owner, repo, &gh.IssueListByRepoOptions{
		State: state, Labels: []string{Label(fp)}, Sort: sort, Direction: direction,
		ListOptions: gh.ListOptions{PerPage: 50},
	})
	if err != nil {
		return nil, fmt.Errorf("list issues: %w", classify(ctx, resp, err))
	}
	out := got[:0]
	for _, iss := range got {
		if !iss.IsPullRequest() {
			out = append(out, iss)
		}
	}
	return out, nil
}

func (in *Integration) reopenable(iss *gh.Issue) bool {
	if in.cfg.ReopenWithin <= 0 || iss.ClosedAt == nil {
		return false
	}
	return in.now().Sub(iss.GetClosedAt().Time) <= in.cfg.ReopenWithin.D()
}

func (in *Integration) create(ctx context.Context, a events.Alert, view render.View) (*gh.Issue, error) {
	owner, repo := split(in.cfg.Repo)
	summary := a.Summary
	if summary == "" {
		summary = view.Title
	}
	title := textcap.Runes(textcap.OneLine(ticketTitle(a, summary)), MaxTitle)
	// The marker goes first so that cutting a long body never loses it.
	body := textcap.Runes(Marker(a.Fingerprint)+"\n"+quiet(view.Markdown()), MaxBody)
	labels := append(append([]string(nil), in.cfg.Labels...), Label(a.Fingerprint))
	req := &gh.IssueRequest{Title: &title, Body: &body, Labels: &labels}
	if len(in.cfg.Assignees) > 0 {
		as := append([]string(nil), in.cfg.Assignees...)
		req.Assignees = &as
	}
	iss, resp, err := in.client.Issues.Create(ctx, owner, repo, req)
	if err != nil {
		return nil, fmt.Errorf("create issue: %w", classify(ctx, resp, err))
	}
	return iss, nil
}

// settle makes one issue per fingerprint out of a race between hubs that
// both found nothing and both created an issue: whoever sees more than one
// open issue keeps the lowest number and closes its own as a duplicate,
// taking tend's label off it so it is never found again. It returns the
// issue to use; a failed check keeps mine.
//
// NOTE: GitHub may serve the list from a replica a moment behind; two
// creations that overlap within that moment may still leave two issues.
func (in *Integration) settle(ctx context.Context, log *slog.Logger, fp string, mine *gh.Issue) *gh.Issue {
	list, err := in.list(ctx, fp, "open", "created", "asc")
	if err != nil {
		log.Warn("check for a duplicate github issue", "ref", in.ref(mine), "error", err)
		return mine
	}
	win := mine
	for _, iss := range list {
		if iss.GetNumber() < win.GetNumber() {
			win = iss
		}
	}
	if win == mine {
		return mine
	}
	owner, repo := split(in.cfg.Repo)
	n := mine.GetNumber()
	note := fmt.Sprintf("Duplicate of #%d, filed at the same moment by another tend hub.", win.GetNumber())
	if err := in.comment(ctx, owner, repo, n, note); err != nil {
		log.Warn("mark duplicate github issue", "ref", in.ref(mine), "error", err)
	}
	labels := append([]string{}, in.cfg.Labels...)
	_, resp, err := in.client.Issues.Edit(ctx, owner, repo, n, &gh.IssueRequest{
		State: gh.String("closed"), StateReason: gh.String("not_planned"), Labels: &labels,
	})
	if err != nil {
		log.Warn("close duplicate github issue", "ref", in.ref(mine), "error", classify(ctx, resp, err))
	}
	log.Info("closed duplicate github issue", "ref", in.ref(mine), "kept", in.ref(win))
	return win
}

// run reports an optimization run to the GitHub place that asked for it:
// a commit status while it runs and when it ends, and a comment with the
// report when it ends. A run an alert started reports on the alert's issue.
func (in *Integration) run(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	var r events.Run
	if err := ev.Decode(&r); err != nil {
		return integrations.Receipt{}, integrations.Permanent("bad event", err)
	}
	var state string
	switch ev.Type {
	case events.TypeOptimizationStarted:
		state = "pending"
	case events.TypeOptimizationCompleted:
		state = "success"
	case events.TypeOptimizationFailed:
		state = "failure"
	default:
		return integrations.Receipt{}, nil
	}
	t := r.Trigger
	if t.Repo == "" && t.Fingerprint != "" && in.cfg.Repo != "" && state != "pending" {
		return in.runOnAlert(ctx, ev, t.Fingerprint)
	}
	if t.Repo == "" || (t.Issue == 0 && t.SHA == "") {
		return integrations.Receipt{}, nil
	}
	if !in.allowed(t.Repo) {
		return integrations.Receipt{}, integrations.Permanent("repo not allowed",
			fmt.Errorf("run %s names repository %s, which is neither repo nor in run_repos", r.ID, t.Repo))
	}
	owner, repo := split(t.Repo)
	var rec integrations.Receipt

	// The status goes first: setting it again on a retry is harmless,
	// while a comment would be repeated.
	if t.SHA != "" {
		desc := textcap.Runes(textcap.OneLine(statusLine(r, state)), MaxStatusDescription)
		st := &gh.RepoStatus{State: &state, Description: &desc, Context: gh.String(in.cfg.StatusContext)}
		if in.cfg.TargetURL != "" {
			st.TargetURL = gh.String(in.cfg.TargetURL)
		}
		_, resp, err := in.client.Repositories.CreateStatus(ctx, owner, repo, t.SHA, st)
		if err != nil {
			err = fmt.Errorf("set status on %s: %w", short(t.SHA), classify(ctx, resp, err))
			return integrations.Receipt{Status: status(resp)}, err
		}
		rec = integrations.Receipt{Status: status(resp), Ref: t.Repo + "@" + short(t.SHA)}
	}
	if t.Issue > 0 && state != "pending" {
		view := render.Of(ev)
		body := "### " + textcap.OneLine(view.Title) + "\n\n" + view.Markdown()
		if err := in.comment(ctx, owner, repo, t.Issue, body); err != nil {
			return rec, err
		}
		rec = integrations.Receipt{Status: http.StatusCreated, Ref: fmt.Sprintf("%s#%d", t.Repo, t.Issue)}
	}
	return rec, nil
}

// mention matches an @login or @org/team where GitHub would notify it.
var mention = regexp.MustCompile(`(^|[^\w` + "`" + `])@([A-Za-z0-9])`)

// quiet keeps event text from notifying people: an alert summary saying
// "@org/everyone" must not page a whole organisation. A word joiner after
// the @ breaks the mention and reads the same.
func quiet(s string) string { return mention.ReplaceAllString(s, "$1@\u2060$2") }

// ticketTitle reads "[critical] disk_full on web-1: disk almost full".
func ticketTitle(a events.Alert, summary string) string {
	t := a.Rule
	if a.Severity != "" {
		t = "[" + a.Severity + "] " + t
	}
	where := a.Host
	if where == "" {
		where = a.Labels["host"]
	}
	if where != "" {
		t += " on " + where
	}
	return t + ": " + summary
}

// runOnAlert comments a finished run that an alert started on that alert's
// open issue, if there is one.
func (in *Integration) runOnAlert(ctx context.Context, ev events.Event, fp string) (integrations.Receipt, error) {
	iss, err := in.find(ctx, fp, false)
	if err != nil || iss == nil {
		return integrations.Receipt{}, err
	}
	owner, repo := split(in.cfg.Repo)
	view := render.Of(ev)
	body := "### " + textcap.OneLine(view.Title) + "\n\n" + view.Markdown()
	if err := in.comment(ctx, owner, repo, iss.GetNumber(), body); err != nil {
		return integrations.Receipt{Ref: in.ref(iss)}, err
	}
	return integrations.Receipt{Status: http.StatusCreated, Ref: in.ref(iss)}, nil
}

func statusLine(r events.Run, state string) string {
	switch state {
	case "pending":
		return fmt.Sprintf("run %s at level %s is working", r.ID, r.Level)
	case "failure":
		if r.Error != "" {
			return fmt.Sprintf("run %s failed: %s", r.ID, r.Error)
		}
		return fmt.Sprintf("run %s failed", r.ID)
	}
	if len(r.Summary) > 0 {
		return r.Summary[0]
	}
	return fmt.Sprintf("run %s done: %d tasks", r.ID, len(r.Tasks))
}

func (in *Integration) allowed(repo string) bool {
	if strings.EqualFold(repo, in.cfg.Repo) {
		return true
	}
	for _, r := range in.cfg.RunRepos {
		if strings.EqualFold(repo, r) {
			return true
		}
	}
	return false
}

func (in *Integration) check(ctx context.Context) (integrations.Receipt, error) {
	var (
		resp *gh.Response
		err  error
	)
	if in.cfg.Repo != "" {
		owner, repo := split(in.cfg.Repo)
		_, resp, err = in.client.Repositories.Get(ctx, owner, repo)
	} else {
		_, resp, err = in.client.RateLimit.Get(ctx)
	}
	if err != nil {
		return integrations.Receipt{Status: status(resp)}, fmt.Errorf("check token: %w", classify(ctx, resp, err))
	}
	return integrations.Receipt{Status: status(resp)}, nil
}

func (in *Integration) comment(ctx context.Context, owner, repo string, n int, body string) error {
	body = textcap.Runes(quiet(body), MaxBody)
	_, resp, err := in.client.Issues.CreateComment(ctx, owner, repo, n, &gh.IssueComment{Body: &body})
	if err != nil {
		return fmt.Errorf("comment on %s/%s#%d: %w", owner, repo, n, classify(ctx, resp, err))
	}
	return nil
}

func (in *Integration) remember(ctx context.Context, log *slog.Logger, fp, ref string) {
	if old, err := in.refs.Get(ctx, in.refKey(fp)); err == nil && old == ref {
		return
	}
	if err := in.refs.Put(ctx, in.refKey(fp), ref); err != nil {
		log.Warn("store github ref", "ref", ref, "error", err)
	}
}

// Close releases idle connections; it implements [integrations.Closer].
func (in *Integration) Close() error {
	in.idle()
	return nil
}

// ref is "owner/name#number", as kept in Refs and returned in receipts.
func (in *Integration) ref(iss *gh.Issue) string {
	return fmt.Sprintf("%s#%d", in.cfg.Repo, iss.GetNumber())
}

func (in *Integration) parseRef(ref string) (int, bool) {
	repo, num, ok := strings.Cut(ref, "#")
	if !ok || !strings.EqualFold(repo, in.cfg.Repo) {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	return n, err == nil && n > 0
}

// classify turns a go-github failure into an [*integrations.Error]. Rate
// limits, primary (403 or 429 with x-ratelimit-remaining 0) and secondary
// (403 or 429 with retry-after), are retryable after the wait GitHub names;
// other 4xx are permanent, 5xx retryable. No URL or token is included.
func classify(ctx context.Context, resp *gh.Response, err error) error {
	var rl *gh.RateLimitError
	var abuse *gh.AbuseRateLimitError
	var er *gh.ErrorResponse
	switch {
	case errors.As(err, &rl):
		e := integrations.Retryable("rate limited", errors.New("github: "+rl.Message))
		e.Status = status(resp)
		e.RetryAfter = until(rl.Rate.Reset.Time)
		return e
	case errors.As(err, &abuse):
		e := integrations.Retryable("secondary rate limit", errors.New("github: "+abuse.Message))
		e.Status = status(resp)
		e.RetryAfter = time.Minute
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			e.RetryAfter = *abuse.RetryAfter
		}
		return e
	case errors.As(err, &er) && er.Response != nil:
		return responseError(er)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	e := integrations.Classify(err)
	if e.Reason == "error" {
		e.Reason = "network"
	}
	return e
}

func responseError(er *gh.ErrorResponse) *integrations.Error {
	resp := er.Response
	msg := er.Message
	for _, fe := range er.Errors {
		detail := fe.Message
		if detail == "" {
			detail = fe.Code
		}
		msg += "; " + strings.TrimSpace(fe.Field+": "+detail)
	}
	e := integrations.StatusError(resp, "")
	e.Err = errors.New("github: " + textcap.Runes(textcap.OneLine(msg), 500))

	// GitHub signals rate limits with 403 as often as 429; either is worth
	// waiting out, never dead-lettering.
	code := resp.StatusCode
	if code == http.StatusForbidden || code == http.StatusTooManyRequests {
		h := resp.Header
		switch {
		case h.Get("Retry-After") != "":
			e.Permanent, e.Reason = false, "rate limited"
			e.RetryAfter = integrations.RetryAfter(h, time.Now())
		case h.Get("X-Ratelimit-Remaining") == "0":
			e.Permanent, e.Reason = false, "rate limited"
			if secs, err := strconv.ParseInt(h.Get("X-Ratelimit-Reset"), 10, 64); err == nil {
				e.RetryAfter = until(time.Unix(secs, 0))
			}
		case strings.Contains(strings.ToLower(er.Message), "rate limit"):
			e.Permanent, e.Reason = false, "rate limited"
			e.RetryAfter = time.Minute
		}
	}
	if code == http.StatusUnauthorized {
		e.Err = errors.New("github: bad credentials (check token)")
	}
	return e
}

func until(t time.Time) time.Duration {
	if d := time.Until(t); d > 0 {
		return d.Round(time.Second) + time.Second
	}
	return 0
}

func status(resp *gh.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

func split(repo string) (string, string) {
	owner, name, _ := strings.Cut(repo, "/")
	return owner, name
}

func short(sha string) string {
	if len(sha) > 12 {
		return sha[:12]
	}
	return sha
}

func stamp(ev events.Event) string {
	t := ev.Time
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format(time.RFC3339)
}

// capBody limits every answer body, since go-github reads answers whole.
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

package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
)

func init() {
	integrations.Register("slack", func(spec config.Integration, deps integrations.Deps) (integrations.Integration, error) {
		return New(spec, deps)
	})
}

// Integration posts events to one Slack channel or incoming webhook. It is
// safe for concurrent use.
type Integration struct {
	name    string
	cfg     Config
	timeout time.Duration
	tmpl    *render.Templates
	hub     string
	refs    integrations.Refs
	log     *slog.Logger
	http    *http.Client
	api     *slack.Client

	// locks serialise deliveries for one fingerprint, so two firings
	// arriving together do not both start a message.
	locks [64]sync.Mutex
}

var _ integrations.Integration = (*Integration)(nil)

// New builds a Slack integration from spec. It does no network I/O; a bad
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
	if deps.Refs == nil {
		deps.Refs = integrations.NewMemRefs()
	}
	timeout := spec.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}

	in := &Integration{
		name:    spec.Name,
		cfg:     cfg,
		timeout: timeout,
		tmpl:    tmpl,
		hub:     deps.Hub,
		refs:    deps.Refs,
		log:     deps.Logger,
		http: integrations.NewHTTPClient(integrations.HTTPOptions{
			Timeout: timeout, InsecureSkipVerify: cfg.InsecureSkipVerify}),
	}
	if cfg.Token != "" {
		// The token goes in the Authorization header only: slack-go would put
		// it in the form body, where a proxy or debug dump might log it.
		client := *in.http
		client.Transport = bearer{token: cfg.Token, next: in.http.Transport}
		in.api = slack.New("", slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(&client))
	}
	return in, nil
}

// Deliver implements [integrations.Integration]. In bot mode an alert's
// first firing posts a message and stores its ts; later firings reply in
// its thread; the resolution updates it and replies in its thread.
func (in *Integration) Deliver(ctx context.Context, ev events.Event) (integrations.Receipt, error) {
	ctx, cancel := context.WithTimeoutCause(ctx, in.timeout,
		fmt.Errorf("slack %s: delivery took over %s: %w", in.name, in.timeout, context.DeadlineExceeded))
	defer cancel()

	v := render.Of(ev)
	msg := in.message(v)
	if in.api == nil {
		return in.postWebhook(ctx, msg)
	}

	thread, closing := threadOf(v)
	if thread == "" {
		_, ts, err := in.post(ctx, in.cfg.Channel, "", msg)
		if err != nil {
			return integrations.Receipt{Status: status(err)}, err
		}
		return integrations.Receipt{Status: http.StatusOK, Ref: ts}, nil
	}

	key := integrations.RefKey("slack", in.name, thread)
	mu := &in.locks[stripe(key)]
	mu.Lock()
	defer mu.Unlock()

	channel, parent, err := in.ref(ctx, key)
	if err != nil {
		return integrations.Receipt{}, err
	}
	switch {
	case parent == "":
		return in.start(ctx, key, msg, closing)
	case closing:
		return in.close(ctx, key, channel, parent, v, msg)
	}
	if _, _, err := in.post(ctx, channel, parent, in.reply(v)); err != nil {
		return integrations.Receipt{Status: status(err)}, err
	}
	return integrations.Receipt{Status: http.StatusOK, Ref: parent}, nil
}

// start posts the first message of a thread and remembers it, unless the
// event already closes it (a resolution whose firing was never seen).
func (in *Integration) start(ctx context.Context, key string, msg message, closing bool) (integrations.Receipt, error) {
	channel, ts, err := in.post(ctx, in.cfg.Channel, "", msg)
	if err != nil {
		return integrations.Receipt{Status: status(err)}, err
	}
	if !closing {
		// The message is out; failing now would post it twice on retry.
		if err := in.refs.Put(ctx, key, channel+"/"+ts); err != nil {
			in.log.Warn("store slack message ref", "ref", key, "error", err)
		}
	}
	return integrations.Receipt{Status: http.StatusOK, Ref: ts}, nil
}

// close updates the thread's first message to the final state, replies in
// the thread, and forgets the thread: a later firing starts a new message.
func (in *Integration) close(ctx context.Context, key, channel, parent string, v render.View,
	msg message) (integrations.Receipt, error) {
	_, _, _, err := in.api.UpdateMessageContext(ctx, channel, parent,
		slack.MsgOptionText(msg.text, false), slack.MsgOptionBlocks(msg.blocks...))
	var se slack.SlackErrorResponse
	if errors.As(err, &se) && lostMessage[se.Err] {
		// The original is gone or frozen: say it anew rather than lose it.
		in.log.Debug("slack message not updatable, posting anew", "ref", key, "error", se.Err)
		rc, err := in.start(ctx, key, msg, true)
		if err == nil {
			in.forget(ctx, key)
		}
		return rc, err
	}
	if err != nil {
		return integrations.Receipt{Status: status(err)}, classify(err)
	}

	if _, _, err := in.post(ctx, channel, parent, in.reply(v)); err != nil {
		return integrations.Receipt{Status: status(err)}, err
	}
	in.forget(ctx, key)
	return integrations.Receipt{Status: http.StatusOK, Ref: parent}, nil
}

func (in *Integration) forget(ctx context.Context, key string) {
	if err := in.refs.Delete(ctx, key); err != nil && !errors.Is(err, integrations.ErrNoRef) {
		in.log.Warn("delete slack message ref", "ref", key, "error", err)
	}
}

// ref returns the channel and ts stored under key, or empty strings.
func (in *Integration) ref(ctx context.Context, key string) (string, string, error) {
	v, err := in.refs.Get(ctx, key)
	if errors.Is(err, integrations.ErrNoRef) {
		return "", "", nil
	}
	if err != nil {
		return "", "", integrations.Retryable("refs", fmt.Errorf("read slack message ref: %w", err))
	}
	channel, ts, ok := strings.Cut(v, "/")
	if !ok || channel == "" || ts == "" {
		in.log.Warn("ignore malformed slack message ref", "ref", key)
		return "", "", nil
	}
	return channel, ts, nil
}

// post sends msg to channel, in the thread of threadTS if set, and returns
// the channel ID and ts Slack reports.
func (in *Integration) post(ctx context.Context, channel, threadTS string, msg message) (string, string, error) {
	opts := []slack.MsgOption{slack.MsgOptionText(msg.text, false), slack.MsgOptionBlocks(msg.blocks...)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	ch, ts, err := in.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", "", classify(err)
	}
	in.log.Debug("slack message posted", "channel", ch, "ts", ts, "thread_ts", threadTS)
	return ch, ts, nil
}

// postWebhook sends msg to the incoming webhook. Slack answers in plain
// text: "ok", or an error code such as invalid_payload or no_text.
func (in *Integration) postWebhook(ctx context.Context, msg message) (integrations.Receipt, error) {
	body, err := json.Marshal(slack.WebhookMessage{Text: msg.text, Blocks: &slack.Blocks{BlockSet: msg.blocks}})
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("encode", fmt.Errorf("encode slack message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, in.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("request", errors.New("build webhook request"))
	}
	req.Header.Set("Content-Type", "application/json")

	resp, answer, err := integrations.Do(ctx, in.http, req, 4<<10)
	if err != nil {
		e := integrations.Classify(err)
		if code := errorCode(answer); code != "" && e.Status > 0 {
			e.Reason = code
		}
		return integrations.Receipt{Status: e.Status}, e
	}
	return integrations.Receipt{Status: resp.StatusCode}, nil
}

// errorCode returns a webhook answer if it looks like a Slack error code.
func errorCode(b []byte) string {
	s := strings.TrimSpace(string(b))
	if s == "" || len(s) > 64 || strings.ContainsAny(s, " <>{}\n") {
		return ""
	}
	return s
}

// threadOf returns what an event threads under (an alert fingerprint or a
// run id) and whether it ends that thread.
func threadOf(v render.View) (string, bool) {
	switch {
	case v.Alert != nil && v.Alert.Fingerprint != "" && len(v.Alert.Alerts) == 0:
		return v.Alert.Fingerprint, v.Alert.Status == events.StatusResolved
	case v.Run != nil && v.Run.ID != "":
		return "run-" + v.Run.ID, v.Run.Status == "completed" || v.Run.Status == "failed"
	}
	return "", false
}

func stripe(key string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(key))
	return int(h.Sum32() % 64)
}

// Slack error codes of chat.update saying the original message can no
// longer be edited where it was.
var lostMessage = map[string]bool{
	"message_not_found":   true,
	"cant_update_message": true,
	"edit_window_closed":  true,
	"channel_not_found":   true,
	"is_archived":         true,
}

// Slack error codes that another attempt may cure. Any other code is
// permanent: it names a mistake in the token, channel or message.
var retryableCodes = map[string]bool{
	"ratelimited":         true,
	"rate_limited":        true,
	"internal_error":      true,
	"fatal_error":         true,
	"service_unavailable": true,
	"request_timeout":     true,
	"team_added_to_org":   true,
}

// classify turns a slack-go error into an [*integrations.Error]. Errors
// from slack-go never hold the token, which travels in a header only.
func classify(err error) *integrations.Error {
	var rl *slack.RateLimitedError
	if errors.As(err, &rl) {
		return &integrations.Error{Reason: "ratelimited", Status: http.StatusTooManyRequests,
			RetryAfter: rl.RetryAfter, Err: errors.New("slack rate limit")}
	}
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return &integrations.Error{Reason: se.Err, Status: http.StatusOK, Permanent: !retryableCodes[se.Err],
			Err: errors.New("slack answered ok:false")}
	}
	var sc slack.StatusCodeError
	if errors.As(err, &sc) {
		retry := sc.Code >= 500 || sc.Code == http.StatusTooManyRequests || sc.Code == http.StatusRequestTimeout
		return &integrations.Error{Reason: "http " + strconv.Itoa(sc.Code), Status: sc.Code, Permanent: !retry}
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = fmt.Errorf("%s slack api: %w", ue.Op, ue.Err)
	}
	return integrations.Classify(err)
}

func status(err error) int {
	var e *integrations.Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// bearer moves the token into the Authorization header and drops any
// token form field.
type bearer struct {
	token string
	next  http.RoundTripper
}

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" && r.Body != nil {
		raw, err := io.ReadAll(r.Body)
		_ = r.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read slack request: %w", err)
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return nil, fmt.Errorf("parse slack request: %w", err)
		}
		form.Del("token")
		enc := form.Encode()
		r.Body = io.NopCloser(strings.NewReader(enc))
		r.ContentLength = int64(len(enc))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	}
	r.Header.Set("Authorization", "Bearer "+b.token)
	return b.next.RoundTrip(r)
}

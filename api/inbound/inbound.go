package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
)

// Publisher stores an event on the bus. Publish returns only once the
// event is stored (a JetStream publish acknowledged), so a 2xx answered
// after it never loses the event.
type Publisher interface {
	Publish(ctx context.Context, ev events.Event) error
}

// Seen remembers keys across hubs and restarts. FirstTime reports true for
// the first call with key and false for every later one; two hubs racing
// for a key see exactly one true.
type Seen interface {
	FirstTime(ctx context.Context, key string) (bool, error)
}

// Forgetter is an optional ability of a [Seen]: Delete forgets key, so a
// request whose events could not be stored is not taken for a duplicate
// when the sender tries again. Without it such a retry is dropped.
type Forgetter interface {
	Delete(ctx context.Context, key string) error
}

// Commands answers the Slack slash command's questions. Both methods may
// take a while: they run after the command was acknowledged.
type Commands interface {
	// Status returns a short text on the hub: enabled, level, firing
	// alerts, recent runs.
	Status(ctx context.Context) (string, error)
	// Metrics returns recent values of the metric called name.
	Metrics(ctx context.Context, name string) (string, error)
}

// Deps are what a [Handler] works with.
type Deps struct {
	// Publisher is required.
	Publisher Publisher
	// Seen is required when GitHub or Slack is configured.
	Seen Seen
	// Commands answers /tend status and /tend metrics; without it they
	// answer that they are unavailable.
	Commands Commands
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// HTTPClient posts answers to Slack's response_url. Default: an
	// [integrations.NewHTTPClient] with a 10s timeout.
	HTTPClient *http.Client
	// Now is the clock for Slack's timestamp window. Default time.Now.
	Now func() time.Time
}

// Bounds on background work (answers to Slack commands).
const (
	maxJobs    = 8
	jobTimeout = time.Minute
)

// Handler serves the inbound endpoints. It is safe for concurrent use.
type Handler struct {
	s              Settings
	maxBody        int64
	publishTimeout time.Duration
	events         map[string]bool // enabled GitHub events
	alerts         map[string]AlertSource

	pub    Publisher
	seen   Seen
	cmds   Commands
	log    *slog.Logger
	client *http.Client
	now    func() time.Time

	// Background jobs run on ctx and are tracked by jobs; slots bounds them.
	ctx    context.Context
	cancel context.CancelFunc
	jobs   sync.WaitGroup
	slots  chan struct{}
}

// New checks s and returns a handler. It returns an error for settings
// that are wrong (without any secret in it) or missing dependencies.
func New(s Settings, d Deps) (*Handler, error) {
	if ps := s.check(); len(ps) > 0 {
		return nil, fmt.Errorf("inbound settings: %s: %s", keyPath("inbound", ps[0].path), ps[0].msg)
	}
	if d.Publisher == nil {
		return nil, ErrNoPublisher
	}
	if d.Seen == nil && (s.GitHub != nil || s.Slack != nil) {
		return nil, ErrNoSeen
	}

	h := &Handler{
		s:              s,
		maxBody:        DefaultMaxBody,
		publishTimeout: s.PublishTimeout.D(),
		alerts:         map[string]AlertSource{},
		pub:            d.Publisher,
		seen:           d.Seen,
		cmds:           d.Commands,
		log:            d.Logger,
		client:         d.HTTPClient,
		now:            d.Now,
		slots:          make(chan struct{}, maxJobs),
	}
	if s.MaxBody != "" {
		h.maxBody, _ = s.MaxBody.Bytes() // checked above
	}
	if h.publishTimeout <= 0 {
		h.publishTimeout = DefaultPublishTimeout
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("component", "inbound")
	if h.client == nil {
		h.client = integrations.NewHTTPClient(integrations.HTTPOptions{Timeout: 10 * time.Second})
	}
	if h.now == nil {
		h.now = time.Now
	}
	if g := s.GitHub; g != nil {
		h.events = map[string]bool{}
		enabled := g.Events
		if len(enabled) == 0 {
			enabled = githubEvents
		}
		for _, e := range enabled {
			h.events[e] = true
		}
	}
	if s.Slack != nil && len(s.Slack.ResponseHosts) == 0 {
		sl := *s.Slack
		sl.ResponseHosts = []string{"hooks.slack.com"}
		h.s.Slack = &sl
	}
	for _, a := range s.Alerts {
		h.alerts[a.Name] = a
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h, nil
}

// Register mounts the configured endpoints on mux: POST /hooks/github,
// POST /hooks/slack and POST /hooks/alerts/{name}. A part not configured is
// not mounted.
func (h *Handler) Register(mux *http.ServeMux) {
	if h.s.GitHub != nil {
		mux.HandleFunc("POST /hooks/github", h.serveGitHub)
	}
	if h.s.Slack != nil {
		mux.HandleFunc("POST /hooks/slack", h.serveSlack)
	}
	if len(h.s.Alerts) > 0 {
		mux.HandleFunc("POST /hooks/alerts/{name}", h.serveAlerts)
	}
}

// Close stops background work (answers still owed to Slack) and waits for
// it until ctx ends. It returns ctx's error if the wait was cut short.
func (h *Handler) Close(ctx context.Context) error {
	h.cancel()
	done := make(chan struct{})
	go func() {
		h.jobs.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait for inbound jobs: %w", ctx.Err())
	}
}

// goJob runs fn in the background unless maxJobs are already running; it
// reports whether fn was started.
func (h *Handler) goJob(fn func(ctx context.Context)) bool {
	if h.ctx.Err() != nil {
		return false
	}
	select {
	case h.slots <- struct{}{}:
	default:
		return false
	}
	h.jobs.Add(1)
	go func() {
		defer h.jobs.Done()
		defer func() { <-h.slots }()
		ctx, cancel := context.WithTimeout(h.ctx, jobTimeout)
		defer cancel()
		fn(ctx)
	}()
	return true
}

// readBody reads the whole body, at most h.maxBody bytes. A larger body is
// answered 413 here and reported as ok false.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request, log *slog.Logger) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		log.Warn("request body too large", "limit", h.maxBody)
		http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
		return nil, false
	}
	log.Warn("read request body", "error", err)
	http.Error(w, "cannot read request body", http.StatusBadRequest)
	return nil, false
}

// publish stores evs in order, within the publish timeout. The first
// failure stops it; events already stored are dropped by JetStream as
// duplicates when the sender retries, since their ids are stable.
func (h *Handler) publish(ctx context.Context, evs ...events.Event) error {
	ctx, cancel := context.WithTimeoutCause(ctx, h.publishTimeout,
		errors.New("inbound publish timed out"))
	defer cancel()
	for _, ev := range evs {
		if err := h.pub.Publish(ctx, ev); err != nil {
			return fmt.Errorf("publish %s event %s: %w", ev.Type, ev.ID, err)
		}
	}
	return nil
}

// firstTime claims keys in order. ok is false if one was claimed before;
// claimed lists the keys this call took, to release with forget.
func (h *Handler) firstTime(ctx context.Context, keys ...string) (claimed []string, ok bool, err error) {
	ctx, cancel := context.WithTimeoutCause(ctx, h.publishTimeout,
		errors.New("inbound seen check timed out"))
	defer cancel()
	for _, k := range keys {
		first, err := h.seen.FirstTime(ctx, k)
		if err != nil {
			return claimed, false, fmt.Errorf("check seen %s: %w", k, err)
		}
		if !first {
			return claimed, false, nil
		}
		claimed = append(claimed, k)
	}
	return claimed, true, nil
}

// forget releases keys whose request failed, so the sender's retry is not
// taken for a duplicate. It runs on its own context: the request's may be
// over.
func (h *Handler) forget(keys []string) {
	f, ok := h.seen.(Forgetter)
	if !ok || len(keys) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(h.ctx), 2*time.Second)
	defer cancel()
	for _, k := range keys {
		if err := f.Delete(ctx, k); err != nil {
			h.log.Warn("forget seen key", "key", k, "error", err)
		}
	}
}

// writeJSON answers with status and v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// answer is the JSON body of every inbound answer.
type answer struct {
	Status  string   `json:"status"` // accepted, ignored, duplicate, pong
	Reason  string   `json:"reason,omitempty"`
	EventID string   `json:"event_id,omitempty"`
	Events  []string `json:"events,omitempty"`
}

package inbound

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/tend-dev/tend/events"
)

const (
	testGitHubSecret = "gh-secret-0123456789"
	testSlackSecret  = "slack-signing-secret-abcdef"
	testToken        = "am-token-abcdef"
	testHMACSecret   = "script-hmac-secret"
)

// fakePublisher records what it stores; fail, when set, decides errors.
type fakePublisher struct {
	mu   sync.Mutex
	evs  []events.Event
	fail func(ctx context.Context, ev events.Event) error
}

func (p *fakePublisher) Publish(ctx context.Context, ev events.Event) error {
	p.mu.Lock()
	fail := p.fail
	p.mu.Unlock()
	if fail != nil {
		if err := fail(ctx, ev); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.evs = append(p.evs, ev)
	return nil
}

func (p *fakePublisher) events() []events.Event {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]events.Event(nil), p.evs...)
}

func (p *fakePublisher) setFail(f func(ctx context.Context, ev events.Event) error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.fail = f
}

var _ Publisher = (*fakePublisher)(nil)
var _ Seen = (*MemSeen)(nil)
var _ Forgetter = (*MemSeen)(nil)

// failingSeen always fails, as a KV store that is down.
type failingSeen struct{}

func (failingSeen) FirstTime(context.Context, string) (bool, error) {
	return false, errors.New("kv unavailable")
}

// logBuffer collects log output from many goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log lines containing s.
func (l *logBuffer) lines(s string) []string {
	var out []string
	for _, line := range strings.Split(l.String(), "\n") {
		if strings.Contains(line, s) {
			out = append(out, line)
		}
	}
	return out
}

type testEnv struct {
	h    *Handler
	mux  *http.ServeMux
	pub  *fakePublisher
	seen *MemSeen
	log  *logBuffer
}

// newEnv builds a handler over fakes; edit adjusts the deps first.
func newEnv(t *testing.T, s Settings, edit func(d *Deps)) *testEnv {
	t.Helper()
	env := &testEnv{pub: &fakePublisher{}, seen: &MemSeen{}, log: &logBuffer{}}
	d := Deps{
		Publisher: env.pub,
		Seen:      env.seen,
		Logger:    slog.New(slog.NewTextHandler(env.log, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&d)
	}
	h, err := New(s, d)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = h.Close(context.Background()) })
	env.h = h
	env.mux = http.NewServeMux()
	h.Register(env.mux)
	return env
}

func (e *testEnv) do(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.mux.ServeHTTP(w, r)
	return w
}

// checkNoSecret fails if any configured secret shows in the log.
func (e *testEnv) checkNoSecret(t *testing.T) {
	t.Helper()
	out := e.log.String()
	for _, s := range []string{testGitHubSecret, testSlackSecret, testToken, testHMACSecret} {
		if strings.Contains(out, s) {
			t.Fatalf("log holds a secret:\n%s", out)
		}
	}
}

func hmacHex(secret string, parts ...[]byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, p := range parts {
		m.Write(p)
	}
	return hex.EncodeToString(m.Sum(nil))
}

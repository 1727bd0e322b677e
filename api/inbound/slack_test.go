package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

var slackNow = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// fakeSlack is a response_url endpoint: it takes JSON messages, as Slack
// does, and hands each text to the test.
type fakeSlack struct {
	srv   *httptest.Server
	texts chan string
}

func newFakeSlack(t *testing.T) *fakeSlack {
	t.Helper()
	f := &fakeSlack{texts: make(chan string, 8)}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ResponseType string `json:"response_type"`
			Text         string `json:"text"`
		}
		b, _ := io.ReadAll(r.Body)
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
			json.Unmarshal(b, &m) != nil || m.Text == "" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		f.texts <- m.Text
		_, _ = io.WriteString(w, "ok")
	}))
	// Closing with idle client connections logs handshake noise.
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.srv.StartTLS()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSlack) host() string { return strings.TrimPrefix(f.srv.URL, "https://") }

func (f *fakeSlack) next(t *testing.T) string {
	t.Helper()
	select {
	case s := <-f.texts:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no answer posted to response_url")
		return ""
	}
}

type fakeCommands struct {
	block  chan struct{} // when set, Status waits for it or ctx
	failed bool
}

func (c *fakeCommands) Status(ctx context.Context) (string, error) {
	if c.block != nil {
		select {
		case <-c.block:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	if c.failed {
		return "", errors.New("state bucket gone")
	}
	return "tend: enabled, level medium, 0 alerts firing", nil
}

func (c *fakeCommands) Metrics(_ context.Context, name string) (string, error) {
	return name + ": 12.5 (median of 60)", nil
}

func slackForm(text, responseURL string) url.Values {
	return url.Values{
		"token":        {"deprecated-verification-token"},
		"team_id":      {"T0001"},
		"channel_id":   {"C2147483705"},
		"user_id":      {"U2147483697"},
		"user_name":    {"steve"},
		"command":      {"/tend"},
		"text":         {text},
		"response_url": {responseURL},
		"trigger_id":   {"13345224609.738474920.8088930838d88f008e0"},
	}
}

func slackRequest(body string, ts time.Time, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/slack", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	stamp := strconv.FormatInt(ts.Unix(), 10)
	r.Header.Set("X-Slack-Request-Timestamp", stamp)
	r.Header.Set("X-Slack-Signature", "v0="+hmacHex(secret, []byte("v0:"+stamp+":"), []byte(body)))
	return r
}

func slackEnv(t *testing.T, fs *fakeSlack, cmds Commands, allowed ...string) *testEnv {
	t.Helper()
	s := Settings{Slack: &Slack{
		SigningSecret: testSlackSecret,
		ResponseHosts: []string{fs.host()},
		AllowedUsers:  allowed,
	}}
	return newEnv(t, s, func(d *Deps) {
		d.Commands = cmds
		d.HTTPClient = fs.srv.Client()
		d.Now = func() time.Time { return slackNow }
	})
}

func ackText(t *testing.T, w *httptest.ResponseRecorder) string {
	t.Helper()
	var m slackMessage
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil || m.ResponseType != "ephemeral" {
		t.Fatalf("ack %q is not an ephemeral message", w.Body)
	}
	return m.Text
}

func TestSlack_Verify(t *testing.T) {
	fs := newFakeSlack(t)
	body := slackForm("status", fs.srv.URL+"/commands/1").Encode()
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
	}{
		{"good", func() *http.Request { return slackRequest(body, slackNow, testSlackSecret) }, http.StatusOK},
		{"4 minutes old", func() *http.Request {
			return slackRequest(body, slackNow.Add(-4*time.Minute), testSlackSecret)
		}, http.StatusOK},
		{"stale", func() *http.Request {
			return slackRequest(body, slackNow.Add(-6*time.Minute), testSlackSecret)
		}, http.StatusUnauthorized},
		{"from the future", func() *http.Request {
			return slackRequest(body, slackNow.Add(6*time.Minute), testSlackSecret)
		}, http.StatusUnauthorized},
		{"far past overflows", func() *http.Request {
			r := slackRequest(body, slackNow, testSlackSecret)
			stamp := "-9223372036854775808"
			r.Header.Set("X-Slack-Request-Timestamp", stamp)
			r.Header.Set("X-Slack-Signature", "v0="+hmacHex(testSlackSecret, []byte("v0:"+stamp+":"), []byte(body)))
			return r
		}, http.StatusUnauthorized},
		{"wrong secret", func() *http.Request {
			return slackRequest(body, slackNow, "other")
		}, http.StatusUnauthorized},
		{"no signature", func() *http.Request {
			r := slackRequest(body, slackNow, testSlackSecret)
			r.Header.Del("X-Slack-Signature")
			return r
		}, http.StatusUnauthorized},
		{"no timestamp", func() *http.Request {
			r := slackRequest(body, slackNow, testSlackSecret)
			r.Header.Del("X-Slack-Request-Timestamp")
			return r
		}, http.StatusUnauthorized},
		{"v1 signature", func() *http.Request {
			r := slackRequest(body, slackNow, testSlackSecret)
			r.Header.Set("X-Slack-Signature", strings.Replace(r.Header.Get("X-Slack-Signature"), "v0=", "v1=", 1))
			return r
		}, http.StatusUnauthorized},
		{"response_url elsewhere", func() *http.Request {
			return slackRequest(slackForm("status", "https://127.0.0.1:1/steal").Encode(), slackNow, testSlackSecret)
		}, http.StatusBadRequest},
		{"response_url plain http", func() *http.Request {
			return slackRequest(slackForm("status", "http://"+fs.host()+"/x").Encode(), slackNow, testSlackSecret)
		}, http.StatusBadRequest},
		{"ssl check", func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/hooks/slack", strings.NewReader("ssl_check=1&token=x"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			return r
		}, http.StatusOK},
		{"form without user", func() *http.Request {
			return slackRequest("command=%2Ftend&text=status", slackNow, testSlackSecret)
		}, http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := slackEnv(t, fs, &fakeCommands{})
			w := env.do(tt.req())
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.status == http.StatusOK && tt.name != "ssl check" {
				if got := fs.next(t); !strings.Contains(got, "enabled") {
					t.Fatalf("answer %q", got)
				}
			}
			if tt.status == http.StatusUnauthorized && len(env.log.lines("slack command rejected")) != 1 {
				t.Fatalf("rejection not logged once:\n%s", env.log)
			}
			env.checkNoSecret(t)
		})
	}
}

func TestSlack_Replay(t *testing.T) {
	fs := newFakeSlack(t)
	env := slackEnv(t, fs, &fakeCommands{})
	body := slackForm("optimize database", fs.srv.URL+"/commands/2").Encode()

	if w := env.do(slackRequest(body, slackNow, testSlackSecret)); w.Code != http.StatusOK {
		t.Fatalf("first: status = %d", w.Code)
	}
	if w := env.do(slackRequest(body, slackNow, testSlackSecret)); w.Code != http.StatusUnauthorized {
		t.Fatalf("replay: status = %d, want 401", w.Code)
	}
	if n := len(env.pub.events()); n != 1 {
		t.Fatalf("published %d triggers, want 1", n)
	}
}

func TestSlack_Commands(t *testing.T) {
	fs := newFakeSlack(t)
	tests := []struct {
		text   string
		ack    string
		answer string // posted later to response_url; "" for none
	}{
		{"status", "status", "enabled"},
		{"STATUS", "status", "enabled"},
		{"metrics host.cpu.usage", "host.cpu.usage", "host.cpu.usage: 12.5"},
		{"metrics", "Name one metric", ""},
		{"metrics a b", "Name one metric", ""},
		{"", "Usage", ""},
		{"help", "Usage", ""},
		{"reboot everything", "Usage", ""},
		{"optimize --level extreme", "unknown level", ""},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			env := slackEnv(t, fs, &fakeCommands{})
			w := env.do(slackRequest(slackForm(tt.text, fs.srv.URL+"/c").Encode(), slackNow, testSlackSecret))
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d (%s)", w.Code, w.Body)
			}
			if got := ackText(t, w); !strings.Contains(got, tt.ack) {
				t.Fatalf("ack %q, want it to mention %q", got, tt.ack)
			}
			if tt.answer != "" {
				if got := fs.next(t); !strings.Contains(got, tt.answer) {
					t.Fatalf("answer %q, want %q", got, tt.answer)
				}
			}
			if n := len(env.pub.events()); n != 0 {
				t.Fatalf("published %d events", n)
			}
		})
	}
}

func TestSlack_CommandFails(t *testing.T) {
	fs := newFakeSlack(t)
	env := slackEnv(t, fs, &fakeCommands{failed: true})
	w := env.do(slackRequest(slackForm("status", fs.srv.URL+"/c").Encode(), slackNow, testSlackSecret))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	if got := fs.next(t); strings.Contains(got, "state bucket") || !strings.Contains(got, "could not") {
		t.Fatalf("answer %q leaks the error or says nothing", got)
	}
}

func TestSlack_Optimize(t *testing.T) {
	fs := newFakeSlack(t)
	env := slackEnv(t, fs, nil)
	respURL := fs.srv.URL + "/commands/T0001/123/abc"
	w := env.do(slackRequest(slackForm("optimize database --level medium", respURL).Encode(),
		slackNow, testSlackSecret))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d (%s)", w.Code, w.Body)
	}
	if got := ackText(t, w); !strings.Contains(got, "database at level medium") {
		t.Fatalf("ack %q", got)
	}

	evs := env.pub.events()
	if len(evs) != 1 || evs[0].Type != events.TypeTriggerSlack {
		t.Fatalf("published %v", evs)
	}
	got := decodeTrigger(t, evs[0])
	want := events.Trigger{Kind: "slack", By: "steve", ResponseURL: respURL, EventID: evs[0].ID}
	if got.Trigger != want || got.Level != "medium" || strings.Join(got.Tasks, ",") != "database" ||
		got.Channel != "C2147483705" {
		t.Fatalf("trigger %+v", got)
	}
	// The answer comes from the run, not from here.
	select {
	case s := <-fs.texts:
		t.Fatalf("posted %q before any run", s)
	default:
	}
}

func TestSlack_OptimizeAllowedUsers(t *testing.T) {
	fs := newFakeSlack(t)
	env := slackEnv(t, fs, nil, "U0000000001")
	w := env.do(slackRequest(slackForm("optimize", fs.srv.URL+"/c").Encode(), slackNow, testSlackSecret))
	if got := ackText(t, w); !strings.Contains(got, "not allowed") || len(env.pub.events()) != 0 {
		t.Fatalf("ack %q, published %d", got, len(env.pub.events()))
	}
}

func TestSlack_OptimizePublishFails(t *testing.T) {
	fs := newFakeSlack(t)
	env := slackEnv(t, fs, nil)
	env.pub.setFail(func(context.Context, events.Event) error { return errors.New("no stream") })
	w := env.do(slackRequest(slackForm("optimize", fs.srv.URL+"/c").Encode(), slackNow, testSlackSecret))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
}

func TestSlack_CloseWaitsForAnswers(t *testing.T) {
	fs := newFakeSlack(t)
	cmds := &fakeCommands{block: make(chan struct{})}
	env := slackEnv(t, fs, cmds)
	w := env.do(slackRequest(slackForm("status", fs.srv.URL+"/c").Encode(), slackNow, testSlackSecret))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Close cancels the job's context; the blocked command returns and
	// the job posts its failure answer before Close returns.
	if err := env.h.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := fs.next(t); !strings.Contains(got, "could not") {
		t.Fatalf("answer %q", got)
	}
}

func TestSlack_Busy(t *testing.T) {
	fs := newFakeSlack(t)
	cmds := &fakeCommands{block: make(chan struct{})}
	env := slackEnv(t, fs, cmds)
	defer close(cmds.block)

	for i := range maxJobs + 1 {
		body := slackForm("status", fs.srv.URL+"/c/"+strconv.Itoa(i)).Encode()
		w := env.do(slackRequest(body, slackNow, testSlackSecret))
		busy := strings.Contains(ackText(t, w), "busy")
		if busy != (i == maxJobs) {
			t.Fatalf("request %d: busy = %v", i, busy)
		}
	}
}

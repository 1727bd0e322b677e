package slack_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/slack"
	"github.com/tend-dev/tend/internal/fake/slackfake"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func spec(t testing.TB, settings string) config.Integration {
	t.Helper()
	doc := "integrations:\n  - name: chat\n    type: slack\n" + indent(settings)
	cfg, err := config.Parse("tend.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return cfg.Integrations[0]
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		b.WriteString("    " + strings.TrimSpace(l) + "\n")
	}
	return b.String()
}

func newBot(t testing.TB, fake *slackfake.Server, extra string) (*slack.Integration, *integrations.MemRefs) {
	t.Helper()
	refs := integrations.NewMemRefs()
	settings := extra
	for _, kv := range [][2]string{{"token", slackfake.Token}, {"channel", `"#alerts"`},
		{"api_url", fake.APIURL()}} {
		if !strings.Contains(extra, kv[0]+":") {
			settings += "\n" + kv[0] + ": " + kv[1]
		}
	}
	s := spec(t, settings)
	in, err := slack.New(s, integrations.Deps{Refs: refs, Hub: "hub-1"})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return in, refs
}

func alert(t testing.TB, status string, mod func(*events.Alert)) events.Event {
	t.Helper()
	th := 90.0
	a := events.Alert{Fingerprint: "fp0123456789abcd", Rule: "cpu_high", Status: status,
		Severity: "critical", Summary: "CPU at 93.5% on web-1 <prod> & co", Metric: "host.cpu.percent",
		Host: "web-1", Value: 93.5, Threshold: &th, Labels: map[string]string{"host": "web-1", "env": "prod"},
		StartsAt: start, Links: map[string]string{"dashboard": "http://127.0.0.1:9740/d/cpu"}}
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		end := start.Add(7 * time.Minute)
		a.EndsAt = &end
		a.Value = 41
		typ = events.TypeAlertResolved
	}
	if mod != nil {
		mod(&a)
	}
	ev, err := events.New(typ, "tend/test", "", a)
	if err != nil {
		t.Fatal(err)
	}
	ev.Time = start
	ev.ID = "ev-" + status
	return ev
}

// golden compares got, indented JSON, with testdata/name.
func golden(t *testing.T, name string, got any) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(got); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal(b, want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, b)
	}
}

// body is a recorded request as JSON, blocks decoded.
func body(r slackfake.Request) map[string]any {
	out := map[string]any{"method": r.Method}
	for k, v := range r.Form {
		if k == "blocks" {
			var blocks any
			_ = json.Unmarshal([]byte(v[0]), &blocks)
			out[k] = blocks
			continue
		}
		out[k] = v[0]
	}
	return out
}

func TestDeliver_AlertLife(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	in, refs := newBot(t, fake, "")
	ctx := context.Background()

	rc, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil))
	if err != nil {
		t.Fatalf("firing: %v", err)
	}
	key := integrations.RefKey("slack", "chat", "fp0123456789abcd")
	if ref, _ := refs.Get(ctx, key); ref != slackfake.Channel+"/"+rc.Ref {
		t.Fatalf("ref = %q, want %s/%s", ref, slackfake.Channel, rc.Ref)
	}

	repeat := alert(t, events.StatusFiring, func(a *events.Alert) { a.Repeat = true; a.Value = 97 })
	rc2, err := in.Deliver(ctx, repeat)
	if err != nil || rc2.Ref != rc.Ref {
		t.Fatalf("repeat: ref %q, %v; want the first ts %q", rc2.Ref, err, rc.Ref)
	}
	if _, err := in.Deliver(ctx, alert(t, events.StatusResolved, nil)); err != nil {
		t.Fatalf("resolved: %v", err)
	}

	msgs := fake.Messages(slackfake.Channel)
	if len(msgs) != 1 {
		t.Fatalf("channel holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Updates != 1 || !strings.Contains(m.Text, "[RESOLVED]") {
		t.Errorf("message updated %d times, text %q; want once, resolved", m.Updates, m.Text)
	}
	if len(m.Replies) != 2 || !strings.Contains(m.Replies[1].Text, "[RESOLVED]") {
		t.Errorf("thread = %+v, want the repeat then the resolution", m.Replies)
	}
	if _, err := refs.Get(ctx, key); !errors.Is(err, integrations.ErrNoRef) {
		t.Errorf("ref kept after resolution: %v", err)
	}

	reqs := fake.Requests()
	for _, r := range reqs {
		if r.TokenInBody {
			t.Errorf("%s carried the token in its body", r.Method)
		}
	}
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	golden(t, "firing.json", body(reqs[0]))
	golden(t, "repeat_reply.json", body(reqs[1]))
	golden(t, "resolved_update.json", body(reqs[2]))
	golden(t, "resolved_reply.json", body(reqs[3]))

	// A new firing after the resolution starts a new message.
	if _, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil)); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Messages(slackfake.Channel)); n != 2 {
		t.Errorf("after a new firing the channel holds %d messages, want 2", n)
	}
}

func TestDeliver_UpdateOfLostMessagePostsAnew(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	in, refs := newBot(t, fake, "")
	ctx := context.Background()
	key := integrations.RefKey("slack", "chat", "fp0123456789abcd")
	_ = refs.Put(ctx, key, slackfake.Channel+"/1111.000001")

	if _, err := in.Deliver(ctx, alert(t, events.StatusResolved, nil)); err != nil {
		t.Fatalf("resolved: %v", err)
	}
	msgs := fake.Messages(slackfake.Channel)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "[RESOLVED]") {
		t.Fatalf("messages = %+v, want one resolved message", msgs)
	}
}

func TestDeliver_Failures(t *testing.T) {
	tests := []struct {
		name       string
		settings   string
		fail       *slackfake.Failure
		permanent  bool
		reason     string
		status     int
		retryAfter time.Duration
	}{
		{name: "invalid_auth", settings: "token: xoxb-wrong-token-9999", permanent: true, reason: "invalid_auth",
			status: 200},
		{name: "channel_not_found", settings: "channel: \"#nowhere\"", permanent: true,
			reason: "channel_not_found", status: 200},
		{name: "not_in_channel", fail: &slackfake.Failure{Error: "not_in_channel"}, permanent: true,
			reason: "not_in_channel", status: 200},
		{name: "msg_too_long", fail: &slackfake.Failure{Error: "msg_too_long"}, permanent: true,
			reason: "msg_too_long", status: 200},
		{name: "internal_error", fail: &slackfake.Failure{Error: "internal_error"}, reason: "internal_error",
			status: 200},
		{name: "fatal_error", fail: &slackfake.Failure{Error: "fatal_error"}, reason: "fatal_error", status: 200},
		{name: "http 503", fail: &slackfake.Failure{Status: 503, Error: "service_unavailable"},
			reason: "http 503", status: 503},
		{name: "http 400", fail: &slackfake.Failure{Status: 400, Error: "invalid_request"}, permanent: true,
			reason: "http 400", status: 400},
		{name: "429 retry-after", fail: &slackfake.Failure{Status: 429, Error: "ratelimited", RetryAfter: 7},
			reason: "ratelimited", status: 429, retryAfter: 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New()
			defer fake.Close()
			if tt.fail != nil {
				fake.FailNext(1, *tt.fail)
			}
			in, _ := newBot(t, fake, tt.settings)
			_, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
			var e *integrations.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *integrations.Error", err)
			}
			if e.Permanent != tt.permanent || e.Reason != tt.reason || e.Status != tt.status ||
				e.RetryAfter != tt.retryAfter {
				t.Errorf("got permanent=%v reason=%q status=%d retry_after=%s; want %v %q %d %s",
					e.Permanent, e.Reason, e.Status, e.RetryAfter, tt.permanent, tt.reason, tt.status, tt.retryAfter)
			}
			noSecret(t, err, slackfake.Token, "xoxb-wrong-token-9999")
		})
	}
}

func TestDeliver_Timeout(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	fake.Hang()
	in, _ := newBot(t, fake, "timeout: 100ms")

	_, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || e.Permanent || e.Reason != "timeout" {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	noSecret(t, err, slackfake.Token)
}

func TestDeliver_RateLimitedThenThreads(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	in, _ := newBot(t, fake, "")
	ctx := context.Background()

	fake.RateLimit(1, 3)
	_, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || e.RetryAfter != 3*time.Second {
		t.Fatalf("err = %v, want ratelimited with Retry-After 3s", err)
	}
	for _, ev := range []events.Event{alert(t, events.StatusFiring, nil), alert(t, events.StatusResolved, nil)} {
		if _, err := in.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	msgs := fake.Messages(slackfake.Channel)
	if len(msgs) != 1 || msgs[0].Updates != 1 || len(msgs[0].Replies) != 1 {
		t.Fatalf("messages = %+v, want one, updated once, one reply", msgs)
	}
}

func TestDeliver_Limits(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	in, _ := newBot(t, fake, "")

	long := strings.Repeat("é", 10_000)
	ev := alert(t, events.StatusFiring, func(a *events.Alert) {
		a.Rule = strings.Repeat("r", 300)
		a.Summary = long
		a.Labels = map[string]string{}
		for i := range 600 {
			a.Labels[fmt.Sprintf("label_%03d", i)] = long[:3000]
		}
	})
	if _, err := in.Deliver(context.Background(), ev); err != nil {
		t.Fatalf("an oversized alert must be cut to fit, not fail: %v", err)
	}
	msgs := fake.Messages(slackfake.Channel)
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	var blocks []json.RawMessage
	if err := json.Unmarshal(msgs[0].Blocks, &blocks); err != nil || len(blocks) != slackfake.MaxBlocks {
		t.Fatalf("blocks = %d (%v), want %d", len(blocks), err, slackfake.MaxBlocks)
	}
	if !strings.Contains(string(msgs[0].Blocks), "… (truncated)") ||
		!strings.Contains(string(msgs[0].Blocks), "more blocks left out") {
		t.Error("cut text carries no marker")
	}
}

func TestDeliver_Run(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	in, _ := newBot(t, fake, "")
	ctx := context.Background()
	for _, st := range []string{"started", "completed"} {
		run := events.Run{ID: "run-42", Status: st, Level: "medium", Trigger: events.Trigger{Kind: "cli"}}
		if st == "completed" {
			run.Tasks = []events.TaskResult{{Task: "database", Verdict: "improved",
				Measures: []events.Measurement{{Name: "dead tuples", Verdict: "better",
					Before: events.Stats{N: 3, Median: 120412}, After: events.Stats{N: 3}}}}}
		}
		ev, _ := events.New(events.TypePrefix+"optimization."+st, "tend/test", "", run)
		if _, err := in.Deliver(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	msgs := fake.Messages(slackfake.Channel)
	if len(msgs) != 1 || msgs[0].Updates != 1 || len(msgs[0].Replies) != 1 ||
		!strings.Contains(msgs[0].Replies[0].Text, "COMPLETED") {
		t.Fatalf("messages = %+v", msgs)
	}
	if !strings.Contains(string(msgs[0].Blocks), "dead tuples: 120,412 → 0") {
		t.Errorf("the run's measure is missing: %s", msgs[0].Blocks)
	}
}

func TestDeliver_TextTemplate(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	in, _ := newBot(t, fake, "title_template: '{{.Severity | upper}} {{.Alert.Rule}}'\n"+
		"text_template: 'value {{number .Alert.Value}}'")
	if _, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil)); err != nil {
		t.Fatal(err)
	}
	b := string(fake.Messages(slackfake.Channel)[0].Blocks)
	if !strings.Contains(b, "CRITICAL cpu_high") || !strings.Contains(b, "value 93.5") {
		t.Fatalf("templates not applied: %s", b)
	}
}

func TestDeliver_Webhook(t *testing.T) {
	tests := []struct {
		name       string
		fail       *slackfake.Failure
		badURL     bool
		permanent  bool
		reason     string
		retryAfter time.Duration
	}{
		{name: "ok"},
		{name: "invalid_payload", fail: &slackfake.Failure{Status: 400, Error: "invalid_payload"},
			permanent: true, reason: "invalid_payload"},
		{name: "no_service", badURL: true, permanent: true, reason: "no_service"},
		{name: "500", fail: &slackfake.Failure{Status: 500, Error: "rollup_error"}, reason: "rollup_error"},
		{name: "429", fail: &slackfake.Failure{Status: 429, Error: "rate_limited", RetryAfter: 4},
			reason: "rate_limited", retryAfter: 4 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New()
			defer fake.Close()
			hook := fake.WebhookURL(slackfake.Channel)
			if tt.badURL {
				hook += "x"
			}
			if tt.fail != nil {
				fake.FailNext(1, *tt.fail)
			}
			in, err := slack.New(spec(t, "webhook_url: "+hook), integrations.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
			if tt.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				msgs := fake.Messages(slackfake.Channel)
				if len(msgs) != 1 {
					t.Fatalf("%d messages", len(msgs))
				}
				golden(t, "webhook.json", body(fake.Requests()[0]))
				return
			}
			var e *integrations.Error
			if !errors.As(err, &e) || e.Permanent != tt.permanent || e.Reason != tt.reason ||
				e.RetryAfter != tt.retryAfter {
				t.Fatalf("err = %#v, want permanent=%v reason=%q retry_after=%s", err, tt.permanent, tt.reason,
					tt.retryAfter)
			}
			noSecret(t, err, hook, strings.TrimPrefix(hook, "http://"), "/services/")
		})
	}
}

func TestDeliver_WebhookTimeout(t *testing.T) {
	fake := slackfake.New()
	defer fake.Close()
	fake.Hang()
	hook := fake.WebhookURL(slackfake.Channel)
	in, err := slack.New(spec(t, "webhook_url: "+hook+"\ntimeout: 100ms"), integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || e.Permanent || e.Reason != "timeout" {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	noSecret(t, err, hook, "/services/")
}

func TestNew_ConfigErrors(t *testing.T) {
	tests := []struct {
		name, settings, want string
	}{
		{"nothing", "channel: x", "needs token and channel, or webhook_url"},
		{"no channel", "token: xoxb-1", "channel is required"},
		{"both", "token: xoxb-1\nchannel: x\nwebhook_url: http://127.0.0.1/services/x", "not both"},
		{"bad template", "token: xoxb-1\nchannel: x\ntitle_template: '{{.Nope}}'", "tend.yaml:6: " +
			"integrations[0].title_template"},
		{"unknown key", "token: xoxb-1\nchannel: x\nchanel: y", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := slack.New(spec(t, tt.settings), integrations.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			noSecret(t, err, "xoxb-1")
		})
	}
}

func TestRegistered(t *testing.T) {
	in, err := integrations.New(spec(t, "token: xoxb-1\nchannel: x"), integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := in.(*slack.Integration); !ok {
		t.Fatalf("got %T", in)
	}
}

func noSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range secrets {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error text %q holds a secret", err.Error())
		}
	}
}

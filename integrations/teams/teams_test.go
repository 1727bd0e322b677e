package teams_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/teams"
	"github.com/tend-dev/tend/internal/fake/teamsfake"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func newTeams(t testing.TB, settings string) *teams.Integration {
	t.Helper()
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimSpace(settings), "\n") {
		b.WriteString("    " + l + "\n")
	}
	doc := "integrations:\n  - name: ops\n    type: teams\n" + b.String()
	cfg, err := config.Parse("tend.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	in, err := teams.New(cfg.Integrations[0], integrations.Deps{Hub: "hub-1"})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return in
}

func alert(t testing.TB, status string, mod func(*events.Alert)) events.Event {
	t.Helper()
	th := 90.0
	a := events.Alert{Fingerprint: "fp0123456789abcd", Rule: "cpu_high", Status: status,
		Severity: "critical", Summary: "CPU at 93.5% on web-1", Metric: "host.cpu.percent",
		Host: "web-1", Value: 93.5, Threshold: &th, Labels: map[string]string{"host": "web-1"},
		StartsAt: start, Links: map[string]string{"dashboard": "http://127.0.0.1:9740/d/cpu"}}
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		end := start.Add(7 * time.Minute)
		a.EndsAt = &end
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
	return ev
}

func golden(t *testing.T, name string, raw []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		t.Fatal(err)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, buf.Bytes())
	}
}

func TestDeliver_Success(t *testing.T) {
	tests := []struct {
		name, format, golden string
		hook                 func(*teamsfake.Server) string
		status               int
	}{
		{"adaptive", "adaptive", "adaptive.json", (*teamsfake.Server).WorkflowURL, 202},
		{"messagecard", "messagecard", "messagecard.json", (*teamsfake.Server).ConnectorURL, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := teamsfake.New()
			defer fake.Close()
			in := newTeams(t, fmt.Sprintf("webhook_url: %q\nformat: %s", tt.hook(fake), tt.format))
			ctx := context.Background()

			rc, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil))
			if err != nil || rc.Status != tt.status {
				t.Fatalf("firing: %+v, %v", rc, err)
			}
			if _, err := in.Deliver(ctx, alert(t, events.StatusResolved, nil)); err != nil {
				t.Fatalf("resolved: %v", err)
			}
			cards := fake.Cards()
			if len(cards) != 2 || !strings.Contains(cards[1].Title, "[RESOLVED]") {
				t.Fatalf("cards = %+v, want firing then resolved", cards)
			}
			golden(t, tt.golden, cards[0].Raw)
		})
	}
}

func TestDeliver_Failures(t *testing.T) {
	tests := []struct {
		name       string
		format     string
		fail       teamsfake.Failure
		permanent  bool
		reason     string
		status     int
		retryAfter time.Duration
	}{
		{name: "400", fail: teamsfake.Failure{Status: 400, Body: `{"error":{"code":"InvalidRequestContent"}}`},
			permanent: true, reason: "http 400", status: 400},
		{name: "403", fail: teamsfake.Failure{Status: 403, Body: "forbidden"}, permanent: true,
			reason: "http 403", status: 403},
		{name: "500", fail: teamsfake.Failure{Status: 500, Body: "boom"}, reason: "http 500", status: 500},
		{name: "429 retry-after", fail: teamsfake.Failure{Status: 429, Body: "slow down", RetryAfter: 9},
			reason: "http 429", status: 429, retryAfter: 9 * time.Second},
		{name: "200 with 429 text", format: "messagecard", fail: teamsfake.ConnectorThrottled(),
			reason: "teams http 429", status: 429},
		{name: "200 with 413 text", format: "messagecard", fail: teamsfake.Failure{Body: "Webhook message " +
			"delivery failed with error: Microsoft Teams endpoint returned HTTP error 413 with ContextId x."},
			permanent: true, reason: "teams http 413", status: 413},
		{name: "200 with other text", format: "messagecard", fail: teamsfake.Failure{Body: "Bad payload"},
			permanent: true, reason: "teams refused", status: 200},
		{name: "200 with error on workflow", fail: teamsfake.Failure{Body: "Microsoft Teams endpoint " +
			"returned HTTP error 502"}, reason: "teams http 502", status: 502},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := teamsfake.New()
			defer fake.Close()
			hook := fake.WorkflowURL()
			if tt.format == "messagecard" {
				hook = fake.ConnectorURL()
			} else {
				tt.format = "adaptive"
			}
			in := newTeams(t, fmt.Sprintf("webhook_url: %q\nformat: %s", hook, tt.format))
			fake.FailNext(1, tt.fail)

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
			noSecret(t, err, hook)
			if len(fake.Cards()) != 0 {
				t.Error("a failed post left a card")
			}
		})
	}
}

func TestDeliver_Timeout(t *testing.T) {
	fake := teamsfake.New()
	defer fake.Close()
	fake.Hang()
	hook := fake.WorkflowURL()
	in := newTeams(t, fmt.Sprintf("webhook_url: %q\ntimeout: 100ms", hook))

	_, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || e.Permanent || e.Reason != "timeout" {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
	noSecret(t, err, hook)
}

func TestDeliver_TrimsFacts(t *testing.T) {
	for _, format := range []string{"adaptive", "messagecard"} {
		t.Run(format, func(t *testing.T) {
			fake := teamsfake.New()
			defer fake.Close()
			hook := fake.WorkflowURL()
			if format == "messagecard" {
				hook = fake.ConnectorURL()
			}
			in := newTeams(t, fmt.Sprintf("webhook_url: %q\nformat: %s", hook, format))
			ev := alert(t, events.StatusFiring, func(a *events.Alert) {
				a.Summary = strings.Repeat("s", 40_000)
				for i := range 500 {
					a.Labels[fmt.Sprintf("label_%03d", i)] = strings.Repeat("v", 100)
				}
			})
			if _, err := in.Deliver(context.Background(), ev); err != nil {
				t.Fatalf("an oversized card must be trimmed, not fail: %v", err)
			}
			cards := fake.Cards()
			if len(cards) != 1 || len(cards[0].Raw) > 27648 {
				t.Fatalf("cards = %d, size %d", len(cards), len(cards[0].Raw))
			}
			if !strings.Contains(string(cards[0].Raw), "more facts left out") {
				t.Error("the card does not say facts were left out")
			}
		})
	}
}

func TestNew_ConfigErrors(t *testing.T) {
	tests := []struct{ name, settings, want string }{
		{"no url", "format: adaptive", "teams needs webhook_url"},
		{"bad format", "webhook_url: http://127.0.0.1/x?sig=secret\nformat: card", "unknown format"},
		{"bad template", "webhook_url: http://127.0.0.1/x?sig=secret\ntext_template: '{{'",
			"integrations[0].text_template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := "integrations:\n  - name: ops\n    type: teams\n"
			for _, l := range strings.Split(tt.settings, "\n") {
				doc += "    " + l + "\n"
			}
			cfg, err := config.Parse("tend.yaml", []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			_, err = integrations.New(cfg.Integrations[0], integrations.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			noSecret(t, err, "sig=secret")
		})
	}
}

func noSecret(t *testing.T, err error, hook string) {
	t.Helper()
	if err == nil {
		return
	}
	u, _ := url.Parse(hook)
	for _, s := range []string{hook, u.Path, u.RawQuery} {
		if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error text %q holds a secret %q", err.Error(), s)
		}
	}
}

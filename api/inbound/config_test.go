package inbound

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/tend-dev/tend/config"
)

func node(t *testing.T, text string) config.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
		t.Fatal(err)
	}
	return config.Node{File: "tend.yaml", Path: "inbound", Node: doc.Content[0]}
}

func TestDecode(t *testing.T) {
	s, err := Decode(node(t, `
max_body: 512KiB
github:
  secret: s3cret
  events: [issue_comment, push]
slack:
  signing_secret: abc
alerts:
  - name: am
    token: tok
  - name: script
    hmac_secret: mac
`))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := s.MaxBody.Bytes(); n != 512<<10 || s.PublishTimeout.D().String() != "800ms" {
		t.Fatalf("max body %d, publish timeout %v", n, s.PublishTimeout)
	}
	if s.GitHub.Secret != "s3cret" || fmt.Sprint(s.GitHub.Branches) != "[main]" ||
		fmt.Sprint(s.Slack.ResponseHosts) != "[hooks.slack.com]" || len(s.Alerts) != 2 {
		t.Fatalf("settings %+v %+v %+v", *s.GitHub, *s.Slack, s.Alerts)
	}
}

func TestDecode_Empty(t *testing.T) {
	s, err := Decode(config.Node{Path: "inbound"})
	if err != nil {
		t.Fatal(err)
	}
	if s.GitHub != nil || s.Slack != nil || s.MaxBody != "1MiB" {
		t.Fatalf("settings %+v", s)
	}
}

func TestDecode_Errors(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"no secret", "github:\n  branches: [main]\n", "tend.yaml:2: inbound.github.secret: is required"},
		{"unknown event", "github:\n  secret: x\n  events: [push, star]\n",
			`tend.yaml:3: inbound.github.events[1]: unknown event "star"`},
		{"no signing secret", "slack: {}\n", "inbound.slack.signing_secret: is required"},
		{"source without credential", "alerts:\n  - name: am\n", "tend.yaml:2: inbound.alerts[0]: needs a token"},
		{"source twice", "alerts:\n  - {name: am, token: a}\n  - {name: am, token: b}\n",
			`tend.yaml:3: inbound.alerts[1].name: "am" is used twice`},
		{"bad source name", "alerts:\n  - {name: a/b, token: a}\n", "inbound.alerts[0].name: want letters"},
		{"bad size", "max_body: lots\n", `tend.yaml:1: inbound.max_body: bad size "lots"`},
		{"huge size", "max_body: 1024MiB\n", "ceiling"},
		{"unknown key", "githb: {}\n", "unknown key"},
		{"bad duration", "publish_timeout: soon\n", "bad duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(node(t, tt.text))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestSecret_NeverShown(t *testing.T) {
	s := Settings{
		GitHub: &GitHub{Secret: "gh-raw"},
		Slack:  &Slack{SigningSecret: "sl-raw"},
		Alerts: []AlertSource{{Name: "am", Token: "tok-raw", HMACSecret: "mac-raw"}},
	}
	js, _ := json.Marshal(s)
	ym, _ := yaml.Marshal(s)
	var logged strings.Builder
	slog.New(slog.NewTextHandler(&logged, nil)).Info("x", "github", s.GitHub, "token", s.Alerts[0].Token)
	for _, out := range []string{
		string(js), string(ym), logged.String(),
		fmt.Sprintf("%v %+v %#v %s %q %x", *s.GitHub, *s.Slack, s.Alerts, s.Alerts[0].Token,
			s.Alerts[0].HMACSecret, s.GitHub.Secret),
	} {
		if strings.Contains(out, "raw") || strings.Contains(out, "7261") {
			t.Fatalf("secret shown in %s", out)
		}
	}
	_, err := New(Settings{GitHub: &GitHub{Secret: "gh-raw", Events: []string{"star"}}},
		Deps{Publisher: &fakePublisher{}, Seen: &MemSeen{}})
	if err == nil || strings.Contains(err.Error(), "raw") {
		t.Fatalf("New error %v", err)
	}
}

func TestNew_Deps(t *testing.T) {
	if _, err := New(Settings{}, Deps{}); err != ErrNoPublisher {
		t.Fatalf("err = %v", err)
	}
	if _, err := New(githubSettings(), Deps{Publisher: &fakePublisher{}}); err != ErrNoSeen {
		t.Fatalf("err = %v", err)
	}
}

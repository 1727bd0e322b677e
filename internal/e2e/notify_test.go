package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/internal/fake/slackfake"
	"github.com/tend-dev/tend/internal/fake/smtpfake"
	"github.com/tend-dev/tend/internal/fake/teamsfake"
)

// notifyConfig routes the probe rule's alerts to Slack, Teams and email,
// each a fake in this test process.
const notifyConfig = `
collector:
  interval: 1s
  sources:
    - name: probe
      exec:
        command: ["cat", "{{DIR}}/value.txt"]
rules:
  - name: probe_high
    metric: probe.value
    above: 50
    for: 0s
    severity: warning
integrations:
  - name: chat
    type: slack
    token: %s
    channel: "#alerts"
    api_url: %s
    retry: {initial: 200ms, max_interval: 2s}
  - name: ops
    type: teams
    webhook_url: %q
    retry: {initial: 200ms, max_interval: 2s}
  - name: mail
    type: smtp
    host: %s
    port: %d
    username: %s
    password: %s
    from: tend <tend@example.test>
    to: [ops@example.test, dana@example.test]
    ca_file: {{DIR}}/ca.pem
    retry: {initial: 200ms, max_interval: 2s}
routes:
  - match: {type: alert}
    to: [chat, ops, mail]
`

func TestServe_ProbeNotifiesSlackTeamsAndMail(t *testing.T) {
	slack := slackfake.New()
	defer slack.Close()
	teams := teamsfake.New()
	defer teams.Close()
	mail := smtpfake.New()
	defer mail.Close()

	h := NewHub(t, fmt.Sprintf(notifyConfig, slackfake.Token, slack.APIURL(), teams.WorkflowURL(),
		mail.Host(), mail.Port(), smtpfake.Username, smtpfake.Password))
	h.WriteFile("ca.pem", string(mail.CertPEM()))
	h.WriteFile("value.txt", "10\n")
	if out, err := h.Run("config", "check", h.Config); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	h.Start()

	// Slack's first answer is a rate limit: the firing must arrive later,
	// not be lost.
	slack.RateLimit(1, 1)
	h.WriteFile("value.txt", "90\n")
	Eventually(t, 15*time.Second, "the firing in Slack, Teams and the mailbox", func() bool {
		return len(slack.Messages(slackfake.Channel)) == 1 && len(teams.Cards()) >= 1 &&
			len(mail.Mailbox()) >= 1
	})
	h.WriteFile("value.txt", "10\n")
	Eventually(t, 15*time.Second, "the resolution in Slack, Teams and the mailbox", func() bool {
		msgs := slack.Messages(slackfake.Channel)
		return len(msgs) == 1 && msgs[0].Updates == 1 && len(msgs[0].Replies) == 1 &&
			len(teams.Cards()) >= 2 && len(mail.Mailbox()) >= 2
	})

	msgs := slack.Messages(slackfake.Channel)
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "[RESOLVED]") || len(msgs[0].Replies) != 1 {
		t.Errorf("Slack holds %+v; want one message, updated to resolved, with one reply", msgs)
	}
	calls := 0
	for _, r := range slack.Requests() {
		if r.TokenInBody {
			t.Errorf("a Slack call carried the token in its body")
		}
		calls++
	}
	if calls != 4 { // rate-calls post, post, update, reply
		t.Errorf("Slack got %d calls, want 4", calls)
	}

	cards := teams.Cards()
	if len(cards) != 2 || !strings.Contains(cards[0].Title, "[FIRING]") ||
		!strings.Contains(cards[1].Title, "[RESOLVED]") {
		t.Errorf("Teams got %d cards: %+v", len(cards), cards)
	}

	box := mail.Mailbox()
	if len(box) != 2 {
		t.Fatalf("mailbox holds %d messages, want 2", len(box))
	}
	first, err := box[0].Message()
	if err != nil {
		t.Fatal(err)
	}
	second, err := box[1].Message()
	if err != nil {
		t.Fatal(err)
	}
	id := first.Header.Get("Message-ID")
	if id == "" || second.Header.Get("In-Reply-To") != id || second.Header.Get("References") != id {
		t.Errorf("mails not in one thread: first %q, second in-reply-to %q references %q", id,
			second.Header.Get("In-Reply-To"), second.Header.Get("References"))
	}
	if !box[0].TLS || len(box[0].To) != 2 {
		t.Errorf("mail sent without TLS or to %v", box[0].To)
	}
	if t.Failed() {
		t.Logf("hub logs:\n%s", h.Logs())
	}
}

func TestConfigCheck_CatchesTemplateErrors(t *testing.T) {
	h := NewHub(t, `
integrations:
  - name: chat
    type: slack
    token: xoxb-123-secret
    channel: "#alerts"
    title_template: '{{.Titel}}'
  - name: mail
    type: smtp
    host: 127.0.0.1
    from: tend@example.test
    to: [ops@example.test]
    html_template: '{{range}}'
`)
	out, err := h.Run("config", "check", h.Config)
	if err == nil {
		t.Fatalf("config check accepted bad templates:\n%s", out)
	}
	for _, want := range []string{
		"tend.yaml:7: integrations[0].title_template",
		"can't evaluate field Titel",
		"tend.yaml:13: integrations[1].html_template",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	if strings.Contains(out, "xoxb-123-secret") {
		t.Errorf("config check printed the token:\n%s", out)
	}
}

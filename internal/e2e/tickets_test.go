package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/tend-dev/tend/internal/fake/confluencefake"
	"github.com/tend-dev/tend/internal/fake/githubfake"
	"github.com/tend-dev/tend/internal/fake/jirafake"
)

// ticketConfig routes the probe rule's alerts to a fake JIRA. Both hubs
// share one NATS; only hub A samples the probe. reopen_within is 0 so a
// second firing must create, which is the step a killed hub can leave
// half done.
const ticketConfig = `
hub: %s
collector:
  interval: 1s
  sources:
    - name: %s
      exec:
        command: ["cat", "{{DIR}}/value.txt"]
rules:
  - name: probe_high
    metric: probe.value
    above: 50
    for: 0s
    severity: warning
integrations:
  - name: tickets
    type: jira
    url: %s
    email: %s
    api_token: %s
    project: OPS
    reopen_within: 0s
    timeout: 5s
    retry: {initial: 200ms, max_interval: 2s}
routes:
  - match: {type: alert}
    to: [tickets]
`

// startNATS runs a JetStream server in the test process, outliving any hub.
func startNATS(t *testing.T) string {
	t.Helper()
	ns, err := server.NewServer(&server.Options{
		Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("nats not ready")
	}
	t.Cleanup(ns.Shutdown)
	return ns.ClientURL()
}

func openIssues(srv *jirafake.Server) []jirafake.Issue {
	var out []jirafake.Issue
	for _, iss := range srv.Issues() {
		if iss.Status != jirafake.StatusDone {
			out = append(out, iss)
		}
	}
	return out
}

// Two hubs on one NATS file one JIRA issue per problem, and a hub killed
// after JIRA made the issue but before it heard back leaves no duplicate:
// the other hub takes the redelivery, finds the issue by its label and
// comments on it.
func TestServe_TwoHubsAndAKilledHubMakeOneTicket(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out a JetStream ack wait of 35 s")
	}
	url := startNATS(t)
	jira := jirafake.New(jirafake.Config{})
	defer jira.Close()
	c := jira.Config()

	a := NewHub(t, fmt.Sprintf(ticketConfig, "hub-a", "probe", jira.URL, c.Email, c.APIToken))
	a.Args = []string{"--nats-url", url}
	a.WriteFile("value.txt", "10\n")
	b := NewHub(t, fmt.Sprintf(ticketConfig, "hub-b", "idle", jira.URL, c.Email, c.APIToken))
	b.Args = []string{"--nats-url", url}
	b.WriteFile("value.txt", "1\n")
	a.Start()
	b.Start()

	a.WriteFile("value.txt", "90\n")
	Eventually(t, 15*time.Second, "one JIRA issue", func() bool { return len(jira.Issues()) == 1 })
	a.WriteFile("value.txt", "10\n")
	Eventually(t, 15*time.Second, "the issue done", func() bool {
		iss, _ := jira.Issue("OPS-1")
		return iss.Status == jirafake.StatusDone
	})
	if n := len(jira.Issues()); n != 1 {
		t.Fatalf("two hubs filed %d issues for one firing", n)
	}

	// Only hub A runs now, so it takes the next firing. JIRA makes the
	// issue but holds the answer, and hub A dies waiting for it.
	b.Stop()
	jira.HoldAnswers(time.Minute)
	a.WriteFile("value.txt", "90\n")
	Eventually(t, 15*time.Second, "a second issue created", func() bool { return len(jira.Issues()) == 2 })
	a.Kill()
	jira.HoldAnswers(0)

	b.Start()
	Eventually(t, 60*time.Second, "hub B to redeliver the firing", func() bool {
		iss, _ := jira.Issue("OPS-2")
		return len(iss.Comments) >= 1
	})
	open := openIssues(jira)
	if len(open) != 1 || open[0].Key != "OPS-2" {
		t.Fatalf("open issues %v, want OPS-2 only", keys(open))
	}
	iss, _ := jira.Issue("OPS-2")
	if !strings.HasPrefix(iss.Comments[0].Body, "*Firing again*") {
		t.Errorf("redelivery comment %q", iss.Comments[0].Body)
	}
	if n := len(jira.Issues()); n != 2 {
		t.Fatalf("%d issues in all, want 2 (one per firing)", n)
	}
}

func keys(list []jirafake.Issue) []string {
	out := make([]string, len(list))
	for i, iss := range list {
		out[i] = iss.Key
	}
	return out
}

// ticketsConfig routes the probe rule's alerts to fake JIRA, GitHub and
// Confluence at once.
const ticketsConfig = `
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
  - name: tickets
    type: jira
    url: %s
    email: %s
    api_token: %s
    project: OPS
    retry: {initial: 200ms, max_interval: 2s}
  - name: gh
    type: github
    url: %s
    token: %s
    repo: tend-dev/app
    labels: [tend]
    retry: {initial: 200ms, max_interval: 2s}
  - name: wiki
    type: confluence
    url: %s
    email: %s
    api_token: %s
    space: OPS
    alerts: true
    retry: {initial: 200ms, max_interval: 2s}
routes:
  - match: {type: alert}
    to: [tickets, gh, wiki]
`

func TestServe_ProbeFilesAndClosesTickets(t *testing.T) {
	jira := jirafake.New(jirafake.Config{})
	defer jira.Close()
	gh := githubfake.New(githubfake.Config{})
	defer gh.Close()
	wiki := confluencefake.New(confluencefake.Config{})
	defer wiki.Close()
	jc, wc := jira.Config(), wiki.Config()

	h := NewHub(t, fmt.Sprintf(ticketsConfig, jira.URL, jc.Email, jc.APIToken,
		gh.URL, gh.Config().Token, wiki.BaseURL(), wc.Email, wc.APIToken))
	h.WriteFile("value.txt", "10\n")
	if out, err := h.Run("config", "check", h.Config); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	h.Start()

	// GitHub's first answer is a secondary rate limit: the issue must come
	// later, not be dead-lettered.
	gh.Fail(githubfake.SecondaryLimit(1))
	h.WriteFile("value.txt", "90\n")
	Eventually(t, 15*time.Second, "a JIRA issue, a GitHub issue and a page", func() bool {
		return len(jira.Issues()) == 1 && len(gh.Issues("tend-dev/app")) == 1 && len(wiki.Pages()) == 1
	})
	h.WriteFile("value.txt", "10\n")
	Eventually(t, 15*time.Second, "all three resolved", func() bool {
		iss, _ := jira.Issue("OPS-1")
		g, _ := gh.Issue("tend-dev/app", 1)
		pages := wiki.Pages()
		return iss.Status == jirafake.StatusDone && g.State == "closed" &&
			len(pages) == 1 && strings.Count(pages[0].Body, "<h2>") == 2
	})
	if n, m := len(jira.Issues()), len(gh.Issues("tend-dev/app")); n != 1 || m != 1 {
		t.Fatalf("%d JIRA and %d GitHub issues, want one each", n, m)
	}
	out := h.MustRun("integrations", "--format", "json")
	for _, name := range []string{"tickets", "gh", "wiki"} {
		if !strings.Contains(out, name) {
			t.Errorf("tend integrations lacks %s:\n%s", name, out)
		}
	}
}

// runConfig lets a signed GitHub push start an optimization run (an exec
// task) whose progress comes back as the commit's tend/optimize status.
const runConfig = `
collector:
  interval: 1s
  sources:
    - name: probe
      exec:
        command: ["echo", "1"]
inbound:
  github: {secret: %s, branches: [main]}
optimizer:
  enabled: true
  samples: 3
  sample_interval: 50ms
  tasks:
    exec: {command: ["true"], measure: ["echo", "5"], metric: queue, unit: jobs}
integrations:
  - name: gh
    type: github
    url: %s
    token: %s
    repo: tend-dev/app
    retry: {initial: 200ms, max_interval: 2s}
routes:
  - match: {type: optimization}
    to: [gh]
`

func TestServe_GitHubPushSetsCommitStatus(t *testing.T) {
	gh := githubfake.New(githubfake.Config{})
	defer gh.Close()
	const secret = "whsec-e2e"
	h := NewHub(t, fmt.Sprintf(runConfig, secret, gh.URL, gh.Config().Token))
	if out, err := h.Run("config", "check", h.Config); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	h.Start()

	sha := "0123456789abcdef0123456789abcdef01234567"
	body := fmt.Sprintf(`{"ref":"refs/heads/main","after":%q,`+
		`"repository":{"full_name":"tend-dev/app"},"sender":{"login":"dana"}}`, sha)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addr+"/hooks/github", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "push")
	req.Header.Set("X-GitHub-Delivery", "7f2c1a80-0000-4000-8000-000000000001")
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("webhook answered %d:\n%s", resp.StatusCode, h.Logs())
	}

	Eventually(t, 20*time.Second, "pending then success on the commit", func() bool {
		sts := gh.Statuses("tend-dev/app", sha)
		return len(sts) >= 2 && sts[len(sts)-1].State != "pending"
	})
	sts := gh.Statuses("tend-dev/app", sha)
	if sts[0].State != "pending" || sts[len(sts)-1].State != "success" || sts[0].Context != "tend/optimize" {
		t.Fatalf("statuses %+v, want pending then success on tend/optimize", sts)
	}
}

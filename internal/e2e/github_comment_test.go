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

	"github.com/tend-dev/tend/internal/fake/githubfake"
)

// commentConfig runs an exec task whose measure reads a queue length the
// command shrinks, so the run has real before and after numbers.
const commentConfig = `
inbound:
  github: {secret: %s}
optimizer:
  enabled: true
  samples: 3
  sample_interval: 50ms
  tasks:
    exec:
      command: ["sh", "-c", "echo 3 > {{DIR}}/queue"]
      measure: ["cat", "{{DIR}}/queue"]
      metric: queue length
      unit: jobs
integrations:
  - name: gh
    type: github
    url: %s
    token: %s
    repo: tend-dev/app
routes:
  - match: {type: optimization}
    to: [gh]
`

func postComment(t *testing.T, h *Hub, secret, delivery, association string, issue int) int {
	t.Helper()
	body := fmt.Sprintf(`{"action":"created","issue":{"number":%d,"pull_request":{"url":"x"}},`+
		`"comment":{"body":"please\n/tend optimize exec --level medium","author_association":%q,`+
		`"user":{"login":"dana","type":"User"}},"repository":{"full_name":"tend-dev/app"},`+
		`"sender":{"login":"dana","type":"User"}}`, issue, association)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	req, _ := http.NewRequest(http.MethodPost, "http://"+h.Addr+"/hooks/github", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-GitHub-Event", "issue_comment")
	req.Header.Set("X-GitHub-Delivery", delivery)
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServe_GitHubCommentRunsAndReports: a maintainer's `/tend optimize`
// comment on a pull request starts one run, whose report (before → after)
// comes back as a comment; a redelivery and an outsider's comment start
// nothing.
func TestServe_GitHubCommentRunsAndReports(t *testing.T) {
	gh := githubfake.New(githubfake.Config{})
	defer gh.Close()
	pr := gh.AddPull("tend-dev/app", "Speed up the queue")
	const secret = "comment-secret"
	h := NewHub(t, fmt.Sprintf(commentConfig, secret, gh.URL, gh.Config().Token))
	h.WriteFile("queue", "250\n")
	h.Start()

	const delivery = "5b0c2a80-0000-4000-8000-00000000c0de"
	if code := postComment(t, h, secret, delivery, "MEMBER", pr); code/100 != 2 {
		t.Fatalf("webhook answered %d:\n%s", code, h.Logs())
	}
	if code := postComment(t, h, secret, delivery, "MEMBER", pr); code/100 != 2 {
		t.Fatalf("redelivery answered %d", code)
	}
	if code := postComment(t, h, "wrong", "5b0c2a80-0000-4000-8000-00000000bad0", "MEMBER", pr); code != 401 {
		t.Fatalf("bad signature answered %d, want 401", code)
	}
	if code := postComment(t, h, secret, "5b0c2a80-0000-4000-8000-0000000000e1", "NONE", pr); code/100 != 2 {
		t.Fatalf("outsider's comment answered %d", code)
	}

	var comments []githubfake.Comment
	Eventually(t, 30*time.Second, "the run's report on the pull request", func() bool {
		is, ok := gh.Issue("tend-dev/app", pr)
		comments = is.Comments
		return ok && len(comments) > 0 && strings.Contains(comments[len(comments)-1].Body, "→")
	})
	time.Sleep(2 * time.Second)
	is, _ := gh.Issue("tend-dev/app", pr)
	reports := 0
	for _, c := range is.Comments {
		if strings.Contains(c.Body, "→") {
			reports++
		}
	}
	if reports != 1 {
		t.Fatalf("want one run report, got %d comments:\n%+v", reports, is.Comments)
	}
	last := is.Comments[len(is.Comments)-1].Body
	if !strings.Contains(last, "250") || !strings.Contains(last, "3") || !strings.Contains(last, "improved") {
		t.Fatalf("report lacks before/after numbers:\n%s", last)
	}
	runs := h.MustRun("runs", "--format", "json")
	if strings.Count(runs, `"id"`) != 1 {
		t.Fatalf("want exactly one run:\n%s", runs)
	}
}

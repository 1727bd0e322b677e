package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

const testSHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"

func githubSettings() Settings {
	return Settings{GitHub: &GitHub{Secret: testGitHubSecret, Branches: []string{"main"}}}
}

func commentPayload(assoc, body string) string {
	b, _ := json.Marshal(body)
	return fmt.Sprintf(`{"action":"created",
 "issue":{"number":42,"title":"Slow queries","pull_request":{"url":"https://api.github.com/repos/acme/shop/pulls/42"}},
 "comment":{"id":1,"body":%s,"author_association":%q,"user":{"login":"octo"}},
 "repository":{"full_name":"acme/shop","name":"shop","owner":{"login":"acme"}},
 "sender":{"login":"octo"}}`, b, assoc)
}

func pushPayload(ref string) string {
	return fmt.Sprintf(`{"ref":%q,"before":"0000000000000000000000000000000000000000",
 "after":%q,"deleted":false,
 "repository":{"full_name":"acme/shop","name":"shop"},
 "pusher":{"name":"octo","email":"octo@example.com"},"sender":{"login":"octo"}}`, ref, testSHA)
}

func workflowPayload(action, branch string) string {
	return fmt.Sprintf(`{"action":%q,
 "workflow_run":{"id":7,"name":"ci","head_branch":%q,"head_sha":%q,"status":"completed",
  "conclusion":"success","actor":{"login":"octo"}},
 "repository":{"full_name":"acme/shop"},"sender":{"login":"octo"}}`, action, branch, testSHA)
}

func dispatchBody(action, client string) string {
	return fmt.Sprintf(`{"action":%q,"branch":"main","client_payload":%s,
 "repository":{"full_name":"acme/shop"},"sender":{"login":"deploy-bot"}}`, action, client)
}

// githubRequest signs body as GitHub does, as JSON or as a form.
func githubRequest(event, delivery, body, secret string, form bool) *http.Request {
	raw, ct := body, "application/json"
	if form {
		raw, ct = url.Values{"payload": {body}}.Encode(), "application/x-www-form-urlencoded"
	}
	r := httptest.NewRequest(http.MethodPost, "/hooks/github", strings.NewReader(raw))
	r.Header.Set("Content-Type", ct)
	r.Header.Set("X-GitHub-Event", event)
	r.Header.Set("X-GitHub-Delivery", delivery)
	if secret != "" {
		r.Header.Set("X-Hub-Signature-256", "sha256="+hmacHex(secret, []byte(raw)))
	}
	return r
}

func decodeTrigger(t *testing.T, ev events.Event) Trigger {
	t.Helper()
	var tr Trigger
	if err := ev.Decode(&tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestGitHub_Signature(t *testing.T) {
	body := commentPayload("MEMBER", "/tend optimize database --level high")
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		runs   int
	}{
		{"signed json", func() *http.Request {
			return githubRequest("issue_comment", "d-1", body, testGitHubSecret, false)
		}, http.StatusAccepted, 1},
		{"signed form", func() *http.Request {
			return githubRequest("issue_comment", "d-1", body, testGitHubSecret, true)
		}, http.StatusAccepted, 1},
		{"form with charset", func() *http.Request {
			r := githubRequest("issue_comment", "d-1", body, testGitHubSecret, true)
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
			return r
		}, http.StatusAccepted, 1},
		{"missing signature", func() *http.Request {
			return githubRequest("issue_comment", "d-1", body, "", false)
		}, http.StatusUnauthorized, 0},
		{"wrong secret", func() *http.Request {
			return githubRequest("issue_comment", "d-1", body, "not-the-secret", false)
		}, http.StatusUnauthorized, 0},
		{"wrong secret form", func() *http.Request {
			return githubRequest("issue_comment", "d-1", body, "not-the-secret", true)
		}, http.StatusUnauthorized, 0},
		{"tampered body", func() *http.Request {
			r := githubRequest("issue_comment", "d-1", body, testGitHubSecret, false)
			r.Body = http.NoBody
			r2 := httptest.NewRequest(http.MethodPost, "/hooks/github",
				strings.NewReader(strings.Replace(body, "database", "everything", 1)))
			r2.Header = r.Header
			return r2
		}, http.StatusUnauthorized, 0},
		{"sha1 header only", func() *http.Request {
			r := githubRequest("issue_comment", "d-1", body, testGitHubSecret, false)
			r.Header.Set("X-Hub-Signature", "sha1=00")
			r.Header.Del("X-Hub-Signature-256")
			return r
		}, http.StatusUnauthorized, 0},
		{"sha1 prefix in sha256 header", func() *http.Request {
			r := githubRequest("issue_comment", "d-1", body, testGitHubSecret, false)
			r.Header.Set("X-Hub-Signature-256", "sha1="+hmacHex(testGitHubSecret, []byte(body)))
			return r
		}, http.StatusUnauthorized, 0},
		{"garbage signature", func() *http.Request {
			r := githubRequest("issue_comment", "d-1", body, testGitHubSecret, false)
			r.Header.Set("X-Hub-Signature-256", "sha256=zz")
			return r
		}, http.StatusUnauthorized, 0},
		{"text body", func() *http.Request {
			r := githubRequest("issue_comment", "d-1", body, testGitHubSecret, false)
			r.Header.Set("Content-Type", "text/plain")
			return r
		}, http.StatusUnsupportedMediaType, 0},
		{"missing delivery id", func() *http.Request {
			return githubRequest("issue_comment", "", body, testGitHubSecret, false)
		}, http.StatusBadRequest, 0},
		{"delivery id not a key", func() *http.Request {
			return githubRequest("issue_comment", "a.b>c", body, testGitHubSecret, false)
		}, http.StatusBadRequest, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, githubSettings(), nil)
			w := env.do(tt.req())
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if got := len(env.pub.events()); got != tt.runs {
				t.Fatalf("published %d triggers, want %d", got, tt.runs)
			}
			if tt.status == http.StatusUnauthorized {
				if n := len(env.log.lines("github webhook rejected")); n != 1 {
					t.Fatalf("got %d rejection log lines, want 1:\n%s", n, env.log)
				}
			}
			env.checkNoSecret(t)
		})
	}
}

func TestGitHub_CommentTrigger(t *testing.T) {
	env := newEnv(t, githubSettings(), nil)
	body := commentPayload("COLLABORATOR", "Looks slow.\n\n/tend optimize database cache --level=high\nthanks")
	w := env.do(githubRequest("issue_comment", "72d3162e-cc78-11e3-81ab-4c9367dc0958", body,
		testGitHubSecret, false))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d (%s)", w.Code, w.Body)
	}

	evs := env.pub.events()
	if len(evs) != 1 {
		t.Fatalf("published %d events, want 1", len(evs))
	}
	ev := evs[0]
	if ev.ID != "72d3162e-cc78-11e3-81ab-4c9367dc0958" || ev.Type != events.TypeTriggerGitHub {
		t.Fatalf("event id %q type %q", ev.ID, ev.Type)
	}
	got := decodeTrigger(t, ev)
	want := events.Trigger{Kind: "github", By: "octo", Repo: "acme/shop", Issue: 42,
		EventID: "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
	if got.Trigger != want {
		t.Fatalf("trigger = %+v, want %+v", got.Trigger, want)
	}
	if strings.Join(got.Tasks, ",") != "database,cache" || got.Level != "high" || !got.PullRequest {
		t.Fatalf("tasks %v level %q pr %v", got.Tasks, got.Level, got.PullRequest)
	}
	if !strings.Contains(w.Body.String(), `"accepted"`) {
		t.Fatalf("answer %s", w.Body)
	}
}

func TestGitHub_Redelivery(t *testing.T) {
	env := newEnv(t, githubSettings(), nil)
	body := commentPayload("OWNER", "/tend optimize")

	for i := range 3 {
		w := env.do(githubRequest("issue_comment", "same-delivery", body, testGitHubSecret, i == 1))
		want := http.StatusOK
		if i == 0 {
			want = http.StatusAccepted
		}
		if w.Code != want {
			t.Fatalf("delivery %d: status = %d, want %d (%s)", i, w.Code, want, w.Body)
		}
	}
	// The same signed body under a fresh delivery id is a replay.
	w := env.do(githubRequest("issue_comment", "other-delivery", body, testGitHubSecret, false))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "duplicate") {
		t.Fatalf("replay: status = %d (%s)", w.Code, w.Body)
	}
	if n := len(env.pub.events()); n != 1 {
		t.Fatalf("published %d triggers, want 1", n)
	}
}

func TestGitHub_CommentAuthors(t *testing.T) {
	tests := []struct {
		assoc string
		runs  int
	}{
		{"OWNER", 1}, {"MEMBER", 1}, {"COLLABORATOR", 1},
		{"CONTRIBUTOR", 0}, {"FIRST_TIME_CONTRIBUTOR", 0}, {"FIRST_TIMER", 0}, {"NONE", 0},
		{"MANNEQUIN", 0}, {"", 0}, {"owner", 0},
	}
	for _, tt := range tests {
		t.Run(tt.assoc, func(t *testing.T) {
			env := newEnv(t, githubSettings(), nil)
			body := commentPayload(tt.assoc, "/tend optimize database")
			w := env.do(githubRequest("issue_comment", "d-2", body, testGitHubSecret, false))
			if got := len(env.pub.events()); got != tt.runs {
				t.Fatalf("published %d, want %d", got, tt.runs)
			}
			if tt.runs == 0 {
				if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "ignored") {
					t.Fatalf("status = %d (%s)", w.Code, w.Body)
				}
				if len(env.log.lines("outside contributor")) != 1 {
					t.Fatalf("ignored command not logged:\n%s", env.log)
				}
			}
		})
	}
}

func TestGitHub_Events(t *testing.T) {
	tests := []struct {
		name    string
		event   string
		body    string
		status  int
		trigger *Trigger
	}{
		{"ping", "ping", `{"zen":"Keep it logically awesome.","hook_id":1}`, http.StatusOK, nil},
		{"comment without command", "issue_comment", commentPayload("OWNER", "nice"), http.StatusOK, nil},
		{"comment edited", "issue_comment",
			strings.Replace(commentPayload("OWNER", "/tend optimize"), `"created"`, `"edited"`, 1),
			http.StatusOK, nil},
		{"other subcommand", "issue_comment", commentPayload("OWNER", "/tend status"), http.StatusOK, nil},
		{"bad level", "issue_comment", commentPayload("OWNER", "/tend optimize --level max"),
			http.StatusOK, nil},
		{"bot comment", "issue_comment", strings.Replace(commentPayload("MEMBER", "/tend optimize"),
			`"login":"octo"}`, `"login":"tend[bot]","type":"Bot"}`, 1), http.StatusOK, nil},
		{"quoted command", "issue_comment", commentPayload("OWNER", "> /tend optimize"),
			http.StatusOK, nil},
		{"push to main", "push", pushPayload("refs/heads/main"), http.StatusAccepted, &Trigger{
			Trigger: events.Trigger{Kind: "github", By: "octo", Repo: "acme/shop", SHA: testSHA},
			Event:   "push", Ref: "main",
		}},
		{"push to feature", "push", pushPayload("refs/heads/feature"), http.StatusOK, nil},
		{"push tag", "push", pushPayload("refs/tags/main"), http.StatusOK, nil},
		{"workflow completed", "workflow_run", workflowPayload("completed", "main"),
			http.StatusAccepted, &Trigger{
				Trigger: events.Trigger{Kind: "github", By: "octo", Repo: "acme/shop", SHA: testSHA},
				Event:   "workflow_run", Ref: "main", Workflow: "ci", Conclusion: "success",
			}},
		{"workflow requested", "workflow_run", workflowPayload("requested", "main"), http.StatusOK, nil},
		{"workflow on feature", "workflow_run", workflowPayload("completed", "dev"), http.StatusOK, nil},
		{"dispatch", "repository_dispatch",
			dispatchBody("tend-optimize", `{"tasks":["database"],"level":"low","sha":"`+testSHA+`"}`),
			http.StatusAccepted, &Trigger{
				Trigger: events.Trigger{Kind: "github", By: "deploy-bot", Repo: "acme/shop", SHA: testSHA},
				Tasks:   []string{"database"}, Level: "low", Event: "repository_dispatch", Ref: "main",
			}},
		{"dispatch without payload", "repository_dispatch", dispatchBody("tend-optimize", "null"),
			http.StatusAccepted, &Trigger{
				Trigger: events.Trigger{Kind: "github", By: "deploy-bot", Repo: "acme/shop"},
				Event:   "repository_dispatch", Ref: "main",
			}},
		{"dispatch other type", "repository_dispatch", dispatchBody("deploy", "{}"), http.StatusOK, nil},
		{"dispatch bad level", "repository_dispatch",
			dispatchBody("tend-optimize", `{"level":"max"}`), http.StatusBadRequest, nil},
		{"unknown event", "star", `{"action":"created"}`, http.StatusOK, nil},
		{"bad json", "push", `{"ref":`, http.StatusBadRequest, nil},
		{"wrong json type", "push", `{"ref":5}`, http.StatusBadRequest, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, githubSettings(), nil)
			w := env.do(githubRequest(tt.event, "d-3", tt.body, testGitHubSecret, false))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			evs := env.pub.events()
			if tt.trigger == nil {
				if len(evs) != 0 {
					t.Fatalf("published %d events, want none", len(evs))
				}
				if tt.status == http.StatusBadRequest && len(env.log.lines("bad github payload")) != 1 {
					t.Fatalf("bad payload not logged:\n%s", env.log)
				}
				return
			}
			if len(evs) != 1 {
				t.Fatalf("published %d events, want 1", len(evs))
			}
			want := *tt.trigger
			want.Trigger.EventID = "d-3"
			got := decodeTrigger(t, evs[0])
			if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
				t.Fatalf("trigger\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestGitHub_EventsFilter(t *testing.T) {
	s := githubSettings()
	s.GitHub.Events = []string{"push"}
	env := newEnv(t, s, nil)
	w := env.do(githubRequest("issue_comment", "d-4", commentPayload("OWNER", "/tend optimize"),
		testGitHubSecret, false))
	if w.Code != http.StatusOK || len(env.pub.events()) != 0 {
		t.Fatalf("status = %d, published %d", w.Code, len(env.pub.events()))
	}
}

func TestGitHub_Repos(t *testing.T) {
	tests := []struct {
		repos []string
		runs  int
	}{
		{nil, 1}, {[]string{"ACME/Shop"}, 1}, {[]string{"acme/other"}, 0},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.repos), func(t *testing.T) {
			s := githubSettings()
			s.GitHub.Repos = tt.repos
			env := newEnv(t, s, nil)
			env.do(githubRequest("push", "d-10", pushPayload("refs/heads/main"), testGitHubSecret, false))
			if n := len(env.pub.events()); n != tt.runs {
				t.Fatalf("published %d, want %d", n, tt.runs)
			}
		})
	}
}

func TestGitHub_BodyLimit(t *testing.T) {
	s := githubSettings()
	s.MaxBody = "1KiB"
	env := newEnv(t, s, nil)
	body := commentPayload("OWNER", "/tend optimize "+strings.Repeat("x", 2000))
	w := env.do(githubRequest("issue_comment", "d-5", body, testGitHubSecret, false))
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("status = %d, want 413", w.Code)
	}
}

func TestGitHub_PublishFailure(t *testing.T) {
	env := newEnv(t, githubSettings(), nil)
	env.pub.setFail(func(context.Context, events.Event) error { return errors.New("no stream") })
	body := commentPayload("OWNER", "/tend optimize")

	w := env.do(githubRequest("issue_comment", "d-6", body, testGitHubSecret, false))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
	if env.seen.Len() != 0 {
		t.Fatalf("seen keeps %d keys after a failed publish", env.seen.Len())
	}

	// GitHub redelivers with the same id once the bus is back.
	env.pub.setFail(nil)
	w = env.do(githubRequest("issue_comment", "d-6", body, testGitHubSecret, false))
	if w.Code != http.StatusAccepted || len(env.pub.events()) != 1 {
		t.Fatalf("redelivery: status = %d, published %d", w.Code, len(env.pub.events()))
	}
}

func TestGitHub_SlowBusAnswersInTime(t *testing.T) {
	s := githubSettings()
	s.PublishTimeout = 0 // the default, 800ms
	env := newEnv(t, s, nil)
	env.pub.setFail(func(ctx context.Context, _ events.Event) error {
		<-ctx.Done()
		return context.Cause(ctx)
	})
	start := time.Now()
	w := env.do(githubRequest("issue_comment", "d-7", commentPayload("OWNER", "/tend optimize"),
		testGitHubSecret, false))
	if took := time.Since(start); w.Code != http.StatusServiceUnavailable || took > time.Second {
		t.Fatalf("status = %d after %v, want 503 within 1s", w.Code, took)
	}
	if len(env.log.lines("inbound publish timed out")) != 1 {
		t.Fatalf("timeout cause not logged:\n%s", env.log)
	}
}

func TestGitHub_SeenDown(t *testing.T) {
	env := newEnv(t, githubSettings(), func(d *Deps) { d.Seen = failingSeen{} })
	w := env.do(githubRequest("issue_comment", "d-8", commentPayload("OWNER", "/tend optimize"),
		testGitHubSecret, false))
	if w.Code != http.StatusServiceUnavailable || len(env.pub.events()) != 0 {
		t.Fatalf("status = %d, published %d", w.Code, len(env.pub.events()))
	}
}

func TestGitHub_NotConfigured(t *testing.T) {
	env := newEnv(t, Settings{}, nil)
	w := env.do(githubRequest("ping", "d-9", `{}`, testGitHubSecret, false))
	if w.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404", w.Code)
	}
}

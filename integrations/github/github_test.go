package github_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/github"
	"github.com/tend-dev/tend/internal/fake/githubfake"
)

const repo = "tend-dev/app"

func spec(t testing.TB, settings string) config.Integration {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(settings), &doc); err != nil {
		t.Fatalf("parse settings: %v", err)
	}
	return config.Integration{
		Name:     "gh",
		Type:     "github",
		Timeout:  config.Duration(2 * time.Second),
		Settings: config.Node{File: "tend.yaml", Path: "integrations[1]", Node: doc.Content[0]},
	}
}

func newGitHub(t testing.TB, srv *githubfake.Server, refs integrations.Refs, extra string) *github.Integration {
	t.Helper()
	settings := fmt.Sprintf("url: %s\ntoken: %s\nrepo: %s\n%s", srv.URL, srv.Config().Token, repo, extra)
	in, err := github.New(spec(t, settings), integrations.Deps{Refs: refs})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return in
}

func alert(t testing.TB, status, fp, summary string) events.Event {
	t.Helper()
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		typ = events.TypeAlertResolved
	}
	ev, err := events.New(typ, "tend/test", fp, events.Alert{
		Fingerprint: fp, Rule: "disk_full", Status: status, Severity: "critical",
		Summary: summary, Host: "web-1", Metric: "disk.used_pct", Value: 97.5,
		StartsAt: time.Now().Add(-time.Minute),
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func runEvent(t testing.TB, typ string, trig events.Trigger) events.Event {
	t.Helper()
	status := strings.TrimPrefix(typ, events.TypePrefix+"optimization.")
	ev, err := events.New(typ, "tend/test", "run1", events.Run{
		ID: "run1", Status: status, Level: "low", Trigger: trig,
		Summary: []string{"database: VACUUM on 3 tables, dead tuples 120,412 → 0"},
		Tasks:   []events.TaskResult{{Task: "database", Verdict: "improved"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func deliver(t *testing.T, in *github.Integration, ev events.Event) integrations.Receipt {
	t.Helper()
	r, err := in.Deliver(context.Background(), ev)
	if err != nil {
		t.Fatalf("Deliver %s: %v", ev.Type, err)
	}
	return r
}

func TestDeliver_FiringThriceThenResolved(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	refs := integrations.NewMemRefs()
	in := newGitHub(t, srv, refs, "labels: [ops]\n")

	for i := 0; i < 3; i++ {
		if r := deliver(t, in, alert(t, events.StatusFiring, "fp1", "disk almost full")); r.Ref != repo+"#1" {
			t.Fatalf("firing %d: ref %q", i, r.Ref)
		}
	}
	deliver(t, in, alert(t, events.StatusResolved, "fp1", "disk almost full"))

	issues := srv.Issues(repo)
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	iss := issues[0]
	if iss.State != "closed" || iss.StateReason != "completed" {
		t.Errorf("state %q (%q), want closed (completed)", iss.State, iss.StateReason)
	}
	if len(iss.Comments) != 3 || !strings.HasPrefix(iss.Comments[2].Body, "**Resolved**") {
		t.Errorf("%d comments, want 2 repeats and the resolution", len(iss.Comments))
	}
	if !strings.HasPrefix(iss.Body, github.Marker("fp1")) || strings.Join(iss.Labels, ",") != "ops,tend-fp1" {
		t.Errorf("body starts %q, labels %v", iss.Body[:40], iss.Labels)
	}
	if got, _ := refs.Get(context.Background(), integrations.RefKey("github", "gh", "fp1")); got != repo+"#1" {
		t.Errorf("ref %q", got)
	}
}

func TestDeliver_ReopenWindow(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "reopen_within: 1h\n")

	deliver(t, in, alert(t, events.StatusFiring, "fp2", "x"))
	deliver(t, in, alert(t, events.StatusResolved, "fp2", "x"))
	if r := deliver(t, in, alert(t, events.StatusFiring, "fp2", "x")); r.Ref != repo+"#1" {
		t.Fatalf("inside the window: ref %q, want #1 reopened", r.Ref)
	}
	if iss, _ := srv.Issue(repo, 1); iss.State != "open" || iss.Reopened != 1 || len(srv.Issues(repo)) != 1 {
		t.Fatalf("issue #1 %s, reopened %d times, %d issues", iss.State, iss.Reopened, len(srv.Issues(repo)))
	}

	srv.SetClosed(repo, 1, time.Now().Add(-2*time.Hour))
	if r := deliver(t, in, alert(t, events.StatusFiring, "fp2", "x")); r.Ref != repo+"#2" {
		t.Fatalf("outside the window: ref %q, want a new #2", r.Ref)
	}
}

func TestDeliver_LongTextIsCut(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "")

	long := strings.Repeat("é", 70000)
	deliver(t, in, alert(t, events.StatusFiring, "fp3", "one\ntwo "+long))
	deliver(t, in, alert(t, events.StatusFiring, "fp3", long))
	iss := srv.Issues(repo)[0]
	if n := utf8.RuneCountInString(iss.Body); n > github.MaxBody || !strings.HasPrefix(iss.Body, github.Marker("fp3")) {
		t.Errorf("body of %d characters", n)
	}
	if n := utf8.RuneCountInString(iss.Title); n > github.MaxTitle || strings.Contains(iss.Title, "\n") {
		t.Errorf("title of %d characters: %q", n, iss.Title[:30])
	}
	if n := utf8.RuneCountInString(iss.Comments[0].Body); n > github.MaxBody {
		t.Errorf("comment of %d characters", n)
	}
}

func TestDeliver_ConcurrentHubsMakeOneOpenIssue(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	refs := integrations.NewMemRefs()
	hubs := []*github.Integration{newGitHub(t, srv, refs, ""), newGitHub(t, srv, refs, "")}

	const rounds = 20
	for n := 0; n < rounds; n++ {
		ev := alert(t, events.StatusFiring, fmt.Sprintf("race%d", n), "x")
		var wg sync.WaitGroup
		got := make([]string, len(hubs))
		for i, h := range hubs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := h.Deliver(context.Background(), ev)
				if err != nil {
					t.Errorf("hub %d: %v", i, err)
				}
				got[i] = r.Ref
			}()
		}
		wg.Wait()
		if got[0] != got[1] {
			t.Errorf("round %d: hubs answered %v", n, got)
		}
	}
	open := map[string]int{}
	dups := 0
	for _, iss := range srv.Issues(repo) {
		if iss.State == "open" {
			for _, l := range iss.Labels {
				open[l]++
			}
		} else if iss.StateReason == "not_planned" && len(iss.Labels) == 0 {
			dups++
		}
	}
	t.Logf("%d of %d rounds raced to two creations", dups, rounds)
	if len(open) != rounds {
		t.Fatalf("%d fingerprints with an open issue, want %d", len(open), rounds)
	}
	for l, n := range open {
		if n != 1 {
			t.Errorf("%s: %d open issues, want 1", l, n)
		}
	}
}

func TestDeliver_RunReportsBack(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "")
	pr := srv.AddPull(repo, "speed up queries")
	sha := "0123456789abcdef0123456789abcdef01234567"
	trig := events.Trigger{Kind: "github", Repo: repo, Issue: pr, SHA: sha}

	deliver(t, in, runEvent(t, events.TypeOptimizationRequested, trig))
	deliver(t, in, runEvent(t, events.TypeOptimizationStarted, trig))
	r := deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, trig))
	if r.Ref != fmt.Sprintf("%s#%d", repo, pr) {
		t.Errorf("ref %q", r.Ref)
	}
	sts := srv.Statuses(repo, sha)
	if len(sts) != 2 || sts[0].State != "pending" || sts[1].State != "success" || sts[1].Context != "tend/optimize" {
		t.Fatalf("statuses %+v, want pending then success on tend/optimize", sts)
	}
	iss, _ := srv.Issue(repo, pr)
	if len(iss.Comments) != 1 || !strings.Contains(iss.Comments[0].Body, "dead tuples 120,412 → 0") {
		t.Fatalf("comments %+v, want the run report once", iss.Comments)
	}

	deliver(t, in, runEvent(t, events.TypeOptimizationFailed, events.Trigger{Repo: repo, SHA: sha}))
	if sts := srv.Statuses(repo, sha); sts[len(sts)-1].State != "failure" {
		t.Errorf("last status %q, want failure", sts[len(sts)-1].State)
	}

	_, err := in.Deliver(context.Background(), runEvent(t, events.TypeOptimizationCompleted,
		events.Trigger{Repo: "someone/else", Issue: 1}))
	var e *integrations.Error
	if !errors.As(err, &e) || !e.Permanent || e.Reason != "repo not allowed" {
		t.Errorf("foreign repo: %v, want permanent repo not allowed", err)
	}
}

func TestDeliver_Failures(t *testing.T) {
	reset := time.Now().Add(90 * time.Second)
	tests := []struct {
		name      string
		fault     *githubfake.Fault
		badToken  bool
		delay     bool
		permanent bool
		reason    string
		retryMin  time.Duration
		retryMax  time.Duration
		text      string
	}{
		{name: "422 validation", permanent: true, reason: "http 422", text: "Validation Failed; body: too long",
			fault: &githubfake.Fault{Status: 422, Body: `{"message":"Validation Failed",` +
				`"errors":[{"field":"body","code":"custom","message":"too long"}]}`}},
		{name: "401", badToken: true, permanent: true, reason: "http 401", text: "check token"},
		{name: "404", permanent: true, reason: "http 404", fault: &githubfake.Fault{Status: 404}},
		{name: "500", reason: "http 500", fault: &githubfake.Fault{Status: 500}},
		{name: "429 retry-after", reason: "rate limited", retryMin: 5 * time.Second, retryMax: 5 * time.Second,
			fault: &githubfake.Fault{Status: 429, Header: http.Header{"Retry-After": {"5"}}}},
		{name: "403 secondary", reason: "secondary rate limit", retryMin: 60 * time.Second, retryMax: 60 * time.Second,
			fault: ptr(githubfake.SecondaryLimit(60))},
		{name: "403 primary", reason: "rate limited", retryMin: 80 * time.Second, retryMax: 92 * time.Second,
			fault: ptr(githubfake.PrimaryLimit(reset))},
		{name: "429 primary", reason: "rate limited", retryMin: 80 * time.Second, retryMax: 92 * time.Second,
			fault: &githubfake.Fault{Status: 429, Header: http.Header{
				"X-Ratelimit-Remaining": {"0"}, "X-Ratelimit-Reset": {fmt.Sprint(reset.Unix())}}}},
		{name: "403 forbidden", permanent: true, reason: "http 403",
			fault: &githubfake.Fault{Status: 403, Body: `{"message":"Resource not accessible by integration"}`}},
		{name: "timeout", delay: true, reason: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := githubfake.New(githubfake.Config{Token: "ghp_s3cr3t"})
			defer srv.Close()
			token := srv.Config().Token
			if tt.badToken {
				token = "ghp_wrong_s3cr3t"
			}
			settings := fmt.Sprintf("url: %s\ntoken: %s\nrepo: %s\n", srv.URL, token, repo)
			in, err := github.New(spec(t, settings), integrations.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			if tt.fault != nil {
				srv.Fail(*tt.fault)
			}
			ctx := context.Background()
			if tt.delay {
				srv.SetDelay(time.Minute)
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, 50*time.Millisecond)
				defer cancel()
			}
			_, err = in.Deliver(ctx, alert(t, events.StatusFiring, "fpx", "x"))
			var e *integrations.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *integrations.Error", err, err)
			}
			if e.Permanent != tt.permanent || e.Reason != tt.reason ||
				e.RetryAfter < tt.retryMin || e.RetryAfter > tt.retryMax {
				t.Errorf("got permanent=%v reason=%q retry=%v, want %v %q %v..%v (%v)", e.Permanent,
					e.Reason, e.RetryAfter, tt.permanent, tt.reason, tt.retryMin, tt.retryMax, err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q lacks %q", err, tt.text)
			}
			if strings.Contains(err.Error(), "s3cr3t") {
				t.Errorf("error %q shows the token", err)
			}
		})
	}
}

func TestNew_BadSettings(t *testing.T) {
	tests := []struct{ name, settings, want string }{
		{"no token", "repo: a/b", "token: required"},
		{"bad repo", "token: t\nrepo: ab", "want owner/name"},
		{"no repo", "token: t", "repo: required"},
		{"bad url", "token: t\nrepo: a/b\nurl: ghe.example.com", "want the http or https base URL"},
		{"unknown key", "token: t\nrepo: a/b\nrepository: x", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := github.New(spec(t, tt.settings), integrations.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDeliver_TestEventChecksToken(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, nil, "")
	ev, _ := events.New(events.TypeTest, "tend/test", "", events.Test{Message: "hi"})
	if r := deliver(t, in, ev); r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200", r.Status)
	}
}

func TestRegistered(t *testing.T) {
	for _, typ := range integrations.Types() {
		if typ == "github" {
			return
		}
	}
	t.Fatalf("github not registered: %v", integrations.Types())
}

func ptr[T any](v T) *T { return &v }

// A hub that died after opening an issue, before storing its number, leaves
// Refs pointing at the previous, closed issue: the open one must still be
// found by its label.
func TestDeliver_RefToClosedIssueDoesNotHideOpenOne(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	a := newGitHub(t, srv, integrations.NewMemRefs(), "reopen_within: 0s\n")
	b := newGitHub(t, srv, integrations.NewMemRefs(), "reopen_within: 0s\n")

	deliver(t, a, alert(t, events.StatusFiring, "fp7", "x"))
	deliver(t, a, alert(t, events.StatusResolved, "fp7", "x"))
	deliver(t, b, alert(t, events.StatusFiring, "fp7", "x"))
	if r := deliver(t, a, alert(t, events.StatusFiring, "fp7", "x")); r.Ref != repo+"#2" || len(srv.Issues(repo)) != 2 {
		t.Fatalf("ref %q with %d issues, want a comment on #2", r.Ref, len(srv.Issues(repo)))
	}
}

// A problem that came back more than a page of times still reopens its
// latest issue rather than filing yet another.
func TestDeliver_ReopenAfterManyRecurrences(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "reopen_within: 1h\n")

	const old = 55
	for n := 1; n <= old; n++ {
		deliver(t, in, alert(t, events.StatusFiring, "fp8", "x"))
		srv.SetClosed(repo, n, time.Now().Add(-48*time.Hour+time.Duration(n)*time.Minute))
	}
	deliver(t, in, alert(t, events.StatusFiring, "fp8", "x"))
	deliver(t, in, alert(t, events.StatusResolved, "fp8", "x"))
	r := deliver(t, in, alert(t, events.StatusFiring, "fp8", "x"))
	if want := fmt.Sprintf("%s#%d", repo, old+1); r.Ref != want || len(srv.Issues(repo)) != old+1 {
		t.Fatalf("ref %q with %d issues, want %s reopened", r.Ref, len(srv.Issues(repo)), want)
	}
}

func TestDeliver_MentionsInEventTextNotifyNobody(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "")
	deliver(t, in, alert(t, events.StatusFiring, "fp9", "ping @acme/everyone and dana@example.com"))
	deliver(t, in, alert(t, events.StatusFiring, "fp9", "@root again"))
	iss := srv.Issues(repo)[0]
	for _, body := range []string{iss.Body, iss.Comments[0].Body} {
		if strings.Contains(body, "@acme") || strings.Contains(body, "\n@root") || strings.Contains(body, " @root") {
			t.Errorf("body keeps a live mention:\n%s", body)
		}
	}
	if !strings.Contains(iss.Body, "dana@example.com") {
		t.Errorf("an email address was changed:\n%s", iss.Body)
	}
}

func TestIntegration_Close(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, nil, "")
	var _ integrations.Closer = in
	if err := in.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestDeliver_RunStartedByAlertReportsOnItsIssue(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	in := newGitHub(t, srv, integrations.NewMemRefs(), "")
	deliver(t, in, alert(t, events.StatusFiring, "fp11", "x"))
	trig := events.Trigger{Kind: "alert", Fingerprint: "fp11"}
	deliver(t, in, runEvent(t, events.TypeOptimizationStarted, trig))
	r := deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, trig))
	iss, _ := srv.Issue(repo, 1)
	if r.Ref != repo+"#1" || len(iss.Comments) != 1 || !strings.Contains(iss.Comments[0].Body, "dead tuples") {
		t.Fatalf("ref %q comments %+v, want the report once on #1", r.Ref, iss.Comments)
	}
}

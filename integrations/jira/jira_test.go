package jira_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/internal/textcap"
	"github.com/tend-dev/tend/integrations/jira"
	"github.com/tend-dev/tend/internal/fake/jirafake"
)

func spec(t testing.TB, settings string) config.Integration {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(settings), &doc); err != nil {
		t.Fatalf("parse settings: %v", err)
	}
	return config.Integration{
		Name:     "ops",
		Type:     "jira",
		Timeout:  config.Duration(2 * time.Second),
		Settings: config.Node{File: "tend.yaml", Path: "integrations[0]", Node: doc.Content[0]},
	}
}

func newJira(t testing.TB, srv *jirafake.Server, refs integrations.Refs, extra string) *jira.Integration {
	t.Helper()
	c := srv.Config()
	settings := fmt.Sprintf("url: %s\nemail: %s\napi_token: %s\nproject: OPS\n%s",
		srv.URL, c.Email, c.APIToken, extra)
	in, err := jira.New(spec(t, settings), integrations.Deps{Refs: refs})
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

func deliver(t *testing.T, in *jira.Integration, ev events.Event) integrations.Receipt {
	t.Helper()
	r, err := in.Deliver(context.Background(), ev)
	if err != nil {
		t.Fatalf("Deliver %s: %v", ev.Type, err)
	}
	return r
}

func TestDeliver_FiringThriceThenResolved(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	refs := integrations.NewMemRefs()
	in := newJira(t, srv, refs, "")

	for i := 0; i < 3; i++ {
		r := deliver(t, in, alert(t, events.StatusFiring, "fp1", "disk almost full"))
		if r.Ref != "OPS-1" {
			t.Fatalf("firing %d: ref %q, want OPS-1", i, r.Ref)
		}
	}
	r := deliver(t, in, alert(t, events.StatusResolved, "fp1", "disk almost full"))
	if r.Ref != "OPS-1" {
		t.Fatalf("resolved: ref %q, want OPS-1", r.Ref)
	}

	issues := srv.Issues()
	if len(issues) != 1 {
		t.Fatalf("%d issues, want 1", len(issues))
	}
	iss := issues[0]
	if iss.Status != jirafake.StatusDone || strings.Join(iss.Transitions, ",") != "Done" {
		t.Errorf("status %q after transitions %v, want Done", iss.Status, iss.Transitions)
	}
	var repeats, resolved int
	for _, c := range iss.Comments {
		switch {
		case strings.HasPrefix(c.Body, "*Firing again*"):
			repeats++
		case strings.HasPrefix(c.Body, "*Resolved*"):
			resolved++
		}
	}
	if repeats != 2 || resolved != 1 || len(iss.Comments) != 3 {
		t.Errorf("comments: %d repeats, %d resolved, %d in all; want 2, 1, 3", repeats, resolved, len(iss.Comments))
	}
	if !contains(iss.Labels, "tend-fp1") || iss.Priority != "Highest" {
		t.Errorf("labels %v priority %q, want tend-fp1 and Highest", iss.Labels, iss.Priority)
	}
	if got, _ := refs.Get(context.Background(), integrations.RefKey("jira", "ops", "fp1")); got != "OPS-1" {
		t.Errorf("ref %q, want OPS-1", got)
	}

	// A second resolved event finds nothing open and changes nothing.
	deliver(t, in, alert(t, events.StatusResolved, "fp1", "disk almost full"))
	if got, _ := srv.Issue("OPS-1"); len(got.Comments) != 3 {
		t.Errorf("repeated resolve added a comment")
	}
}

func TestDeliver_ReopenWindow(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	in := newJira(t, srv, integrations.NewMemRefs(), "reopen_within: 2h\n")

	deliver(t, in, alert(t, events.StatusFiring, "fp2", "load high"))
	deliver(t, in, alert(t, events.StatusResolved, "fp2", "load high"))
	r := deliver(t, in, alert(t, events.StatusFiring, "fp2", "load high"))
	if r.Ref != "OPS-1" || len(srv.Issues()) != 1 {
		t.Fatalf("firing inside the window: ref %q, %d issues; want OPS-1 reopened", r.Ref, len(srv.Issues()))
	}
	iss, _ := srv.Issue("OPS-1")
	if iss.Status != jirafake.StatusToDo || strings.Join(iss.Transitions, ",") != "Done,Reopen" {
		t.Fatalf("status %q transitions %v, want To Do after Done,Reopen", iss.Status, iss.Transitions)
	}

	// Resolved three hours ago: outside the window, so a new issue.
	srv.SetResolved("OPS-1", time.Now().Add(-3*time.Hour))
	r = deliver(t, in, alert(t, events.StatusFiring, "fp2", "load high"))
	if r.Ref != "OPS-2" || len(srv.Issues()) != 2 {
		t.Fatalf("firing outside the window: ref %q, %d issues; want new OPS-2", r.Ref, len(srv.Issues()))
	}
}

func TestDeliver_LongSummaryIsOneLine(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	in := newJira(t, srv, integrations.NewMemRefs(), "")

	long := strings.Repeat("a", 150) + "\n" + strings.Repeat("b", 149)
	deliver(t, in, alert(t, events.StatusFiring, "fp3", long))
	iss := srv.Issues()[0]
	if n := textcap.Len16(iss.Summary); n > 255 || strings.ContainsAny(iss.Summary, "\r\n") {
		t.Fatalf("summary of %d units with newline=%v", n, strings.ContainsAny(iss.Summary, "\n"))
	}
	if !strings.HasSuffix(iss.Summary, textcap.Ellipsis) || !strings.Contains(iss.Summary, "a b") {
		t.Errorf("summary %q: want the newline as a space and an ellipsis", iss.Summary)
	}
}

func TestDeliver_SecondHubFindsIssueBySearch(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	a := newJira(t, srv, integrations.NewMemRefs(), "")
	b := newJira(t, srv, integrations.NewMemRefs(), "")

	deliver(t, a, alert(t, events.StatusFiring, "fp4", "x"))
	r := deliver(t, b, alert(t, events.StatusFiring, "fp4", "x"))
	if r.Ref != "OPS-1" || len(srv.Issues()) != 1 {
		t.Fatalf("second hub: ref %q, %d issues; want OPS-1 only", r.Ref, len(srv.Issues()))
	}
	deliver(t, b, alert(t, events.StatusResolved, "fp4", "x"))
	if iss, _ := srv.Issue("OPS-1"); iss.Status != jirafake.StatusDone {
		t.Errorf("status %q, want Done", iss.Status)
	}
}

func TestDeliver_StaleRefFallsBackToSearch(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	refs := integrations.NewMemRefs()
	_ = refs.Put(context.Background(), integrations.RefKey("jira", "ops", "fp5"), "OPS-404")
	in := newJira(t, srv, refs, "")

	r := deliver(t, in, alert(t, events.StatusFiring, "fp5", "x"))
	if r.Ref != "OPS-1" {
		t.Fatalf("ref %q, want a new OPS-1", r.Ref)
	}
}

// Two hubs share Refs and JIRA and take the same firing at once: the
// search after creating leaves one issue per fingerprint.
func TestDeliver_ConcurrentHubsMakeOneIssue(t *testing.T) {
	for _, noDelete := range []bool{false, true} {
		t.Run(fmt.Sprintf("no_delete=%v", noDelete), func(t *testing.T) {
			concurrentHubs(t, jirafake.Config{NoDelete: noDelete})
		})
	}
}

func concurrentHubs(t *testing.T, cfg jirafake.Config) {
	srv := jirafake.New(cfg)
	defer srv.Close()
	refs := integrations.NewMemRefs()
	hubs := []*jira.Integration{newJira(t, srv, refs, ""), newJira(t, srv, refs, "")}

	const rounds = 20
	for n := 0; n < rounds; n++ {
		ev := alert(t, events.StatusFiring, fmt.Sprintf("race%d", n), "x")
		var wg sync.WaitGroup
		refsGot := make([]string, len(hubs))
		for i, h := range hubs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := h.Deliver(context.Background(), ev)
				if err != nil {
					t.Errorf("hub %d: %v", i, err)
				}
				refsGot[i] = r.Ref
			}()
		}
		wg.Wait()
		if refsGot[0] != refsGot[1] {
			t.Errorf("round %d: hubs answered %v", n, refsGot)
		}
	}
	t.Logf("%d of %d rounds raced to two creations", srv.Requests()["DELETE /issue/{key}"], rounds)
	perFP := map[string]int{}
	for _, iss := range srv.Issues() {
		if iss.Status == jirafake.StatusDone {
			if len(iss.Comments) != 1 || !strings.HasPrefix(iss.Comments[0].Body, "Duplicate of") {
				t.Errorf("closed duplicate %s has comments %v", iss.Key, iss.Comments)
			}
			if len(iss.Labels) != 0 {
				t.Errorf("closed duplicate %s keeps labels %v", iss.Key, iss.Labels)
			}
			continue
		}
		for _, l := range iss.Labels {
			perFP[l]++
		}
	}
	if len(perFP) != rounds {
		t.Fatalf("%d fingerprints have issues, want %d", len(perFP), rounds)
	}
	for l, n := range perFP {
		if n != 1 {
			t.Errorf("%s: %d issues, want 1", l, n)
		}
	}
}

func TestDeliver_ServerDCToken(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	settings := fmt.Sprintf("url: %s\ntoken: %s\nproject: OPS\ncomponents: [db]\n"+
		"custom_fields: {customfield_10010: team-a}\npriorities: {critical: High}\nlabels: [tend]\n",
		srv.URL, srv.Config().PAT)
	in, err := jira.New(spec(t, settings), integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	deliver(t, in, alert(t, events.StatusFiring, "fp6", "x"))
	iss := srv.Issues()[0]
	if iss.Priority != "High" || strings.Join(iss.Components, ",") != "db" ||
		iss.CustomFields["customfield_10010"] != "team-a" || strings.Join(iss.Labels, ",") != "tend,tend-fp6" {
		t.Errorf("issue fields: priority %q components %v custom %v labels %v",
			iss.Priority, iss.Components, iss.CustomFields, iss.Labels)
	}
}

func TestDeliver_Failures(t *testing.T) {
	tests := []struct {
		name      string
		fault     *jirafake.Fault
		badToken  bool
		delay     bool
		settings  string
		permanent bool
		reason    string
		retry     time.Duration
		text      string
	}{
		{name: "400 jira errors", settings: "issue_type: ''\n", permanent: true, reason: "http 400",
			text: "issuetype: issue type is required"},
		{name: "401", badToken: true, permanent: true, reason: "http 401", text: "not authenticated"},
		{name: "500", fault: &jirafake.Fault{Status: 500}, reason: "http 500"},
		{name: "429 retry-after", reason: "http 429", retry: 7 * time.Second,
			fault: &jirafake.Fault{Status: 429, Header: http.Header{"Retry-After": {"7"}}}},
		{name: "503 retry-after", reason: "http 503", retry: 30 * time.Second,
			fault: &jirafake.Fault{Status: 503, Header: http.Header{"Retry-After": {"30"}}}},
		{name: "timeout", delay: true, reason: "timeout"},
		{name: "no done transition", settings: "done_transition: Close\n", permanent: true,
			reason: "no transition", text: "offers Start Progress, Done"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := jirafake.New(jirafake.Config{APIToken: "s3cr3t-token"})
			defer srv.Close()
			c := srv.Config()
			token := c.APIToken
			if tt.badToken {
				token = "wrong-s3cr3t"
			}
			settings := fmt.Sprintf("url: %s\nemail: %s\napi_token: %s\nproject: OPS\n%s",
				srv.URL, c.Email, token, tt.settings)
			in, err := jira.New(spec(t, settings), integrations.Deps{})
			if err != nil {
				t.Fatal(err)
			}
			ev := alert(t, events.StatusFiring, "fpx", "x")
			if tt.name == "no done transition" {
				deliver(t, in, ev)
				ev = alert(t, events.StatusResolved, "fpx", "x")
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

			_, err = in.Deliver(ctx, ev)
			var e *integrations.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T), want *integrations.Error", err, err)
			}
			if e.Permanent != tt.permanent || e.Reason != tt.reason || e.RetryAfter != tt.retry {
				t.Errorf("got permanent=%v reason=%q retry=%v, want %v %q %v (%v)",
					e.Permanent, e.Reason, e.RetryAfter, tt.permanent, tt.reason, tt.retry, err)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q lacks %q", err, tt.text)
			}
			for _, secret := range []string{"s3cr3t", srv.URL} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows %q", err, secret)
				}
			}
		})
	}
}

func TestNew_BadSettings(t *testing.T) {
	tests := []struct{ name, settings, want string }{
		{"no url", "email: a\napi_token: b\nproject: OPS", "integrations[0].url: required"},
		{"bad url", "url: ftp://x\nemail: a\napi_token: b\nproject: OPS", "want an http or https URL"},
		{"no auth", "url: https://x\nproject: OPS", "api_token: required"},
		{"both auths", "url: https://x\ntoken: t\nemail: a\napi_token: b\nproject: OPS", "not both"},
		{"no project", "url: https://x\ntoken: t", "project: required"},
		{"bad custom field", "url: https://x\ntoken: t\nproject: OPS\ncustom_fields: {team: a}", "customfield_10010"},
		{"unknown key", "url: https://x\ntoken: t\nproject: OPS\nprojekt: x", "unknown key"},
		{"bad duration", "url: https://x\ntoken: t\nproject: OPS\nreopen_within: soon", "bad duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := jira.New(spec(t, tt.settings), integrations.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDeliver_TestEventChecksCredentials(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	in := newJira(t, srv, nil, "")
	ev, _ := events.New(events.TypeTest, "tend/test", "", events.Test{Message: "hi"})
	if r := deliver(t, in, ev); r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200", r.Status)
	}
	if len(srv.Issues()) != 0 {
		t.Fatalf("a test event filed an issue")
	}
}

func TestRegistered(t *testing.T) {
	if !contains(integrations.Types(), "jira") {
		t.Fatalf("jira not registered: %v", integrations.Types())
	}
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// A hub that died after creating an issue, before storing its key, leaves
// Refs pointing at the previous, resolved issue: the open one must still be
// found by its label.
func TestDeliver_RefToResolvedIssueDoesNotHideOpenOne(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	a := newJira(t, srv, integrations.NewMemRefs(), "reopen_within: 0s\n")
	b := newJira(t, srv, integrations.NewMemRefs(), "reopen_within: 0s\n")

	deliver(t, a, alert(t, events.StatusFiring, "fp7", "x"))
	deliver(t, a, alert(t, events.StatusResolved, "fp7", "x"))
	deliver(t, b, alert(t, events.StatusFiring, "fp7", "x")) // OPS-2, stored only in b's refs
	r := deliver(t, a, alert(t, events.StatusFiring, "fp7", "x"))
	iss, _ := srv.Issue("OPS-2")
	if r.Ref != "OPS-2" || len(iss.Comments) != 1 || srv.Requests()["POST /issue"] != 2 {
		t.Fatalf("ref %q, %d comments on OPS-2, %d creations; want one comment and no third issue",
			r.Ref, len(iss.Comments), srv.Requests()["POST /issue"])
	}
}

// The search endpoint follows the JIRA answering: Cloud credentials against
// Data Center fall back to the classic search once, then stay there.
func TestDeliver_SearchEndpointFallback(t *testing.T) {
	srv := jirafake.New(jirafake.Config{DataCenter: true})
	defer srv.Close()
	in := newJira(t, srv, nil, "")
	for i := 0; i < 3; i++ {
		deliver(t, in, alert(t, events.StatusFiring, fmt.Sprintf("fp%d", i), "x"))
	}
	req := srv.Requests()
	if req["GET /search/jql"] != 1 || req["GET /search"] < 3 || len(srv.Issues()) != 3 {
		t.Fatalf("requests %v, want one 404 from /search/jql then classic searches", req)
	}
}

// A workflow without a reopen transition files a new issue rather than
// dead-lettering the firing.
func TestDeliver_NoReopenTransitionFilesNew(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	in := newJira(t, srv, integrations.NewMemRefs(), "reopen_transition: Resurrect\n")
	deliver(t, in, alert(t, events.StatusFiring, "fp10", "x"))
	deliver(t, in, alert(t, events.StatusResolved, "fp10", "x"))
	if r := deliver(t, in, alert(t, events.StatusFiring, "fp10", "x")); r.Ref != "OPS-2" {
		t.Fatalf("ref %q, want a new OPS-2", r.Ref)
	}
}

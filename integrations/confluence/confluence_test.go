package confluence_test

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
	"github.com/tend-dev/tend/integrations/confluence"
	"github.com/tend-dev/tend/internal/fake/confluencefake"
)

func spec(t testing.TB, settings string) config.Integration {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(settings), &doc); err != nil {
		t.Fatalf("parse settings: %v", err)
	}
	return config.Integration{
		Name:     "wiki",
		Type:     "confluence",
		Timeout:  config.Duration(2 * time.Second),
		Settings: config.Node{File: "tend.yaml", Path: "integrations[2]", Node: doc.Content[0]},
	}
}

func newConfluence(t testing.TB, srv *confluencefake.Server, refs integrations.Refs, extra string) *confluence.Integration {
	t.Helper()
	c := srv.Config()
	settings := fmt.Sprintf("url: %s\nemail: %s\napi_token: %s\nspace: OPS\n%s",
		srv.BaseURL(), c.Email, c.APIToken, extra)
	in, err := confluence.New(spec(t, settings), integrations.Deps{Refs: refs})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return in
}

func runEvent(t testing.TB, typ, id, fp string) events.Event {
	t.Helper()
	ev, err := events.New(typ, "tend/test", id, events.Run{
		ID: id, Status: "completed", Level: "low",
		Trigger: events.Trigger{Kind: "alert", Fingerprint: fp},
		Summary: []string{"database: VACUUM <all> & analyze"},
		Tasks:   []events.TaskResult{{Task: "database", Verdict: "improved"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func alertEvent(t testing.TB, status, fp string) events.Event {
	t.Helper()
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		typ = events.TypeAlertResolved
	}
	ev, err := events.New(typ, "tend/test", fp, events.Alert{
		Fingerprint: fp, Rule: "disk_full", Status: status, Severity: "critical",
		Summary: `disk <b>"full"</b> & more`, Host: "web-1", StartsAt: time.Now(),
		Links: map[string]string{"runbook": "javascript:alert(1)", "dash": "https://dash.example/d?a=1&b=2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func deliver(t *testing.T, in *confluence.Integration, ev events.Event) integrations.Receipt {
	t.Helper()
	r, err := in.Deliver(context.Background(), ev)
	if err != nil {
		t.Fatalf("Deliver %s: %v", ev.Type, err)
	}
	return r
}

// apis runs a test against a site with the version 1 API, a newer Cloud
// site without it (found out by api: auto), and with api: v2 set.
var apis = []struct {
	name  string
	fake  confluencefake.Config
	extra string
}{
	{"v1", confluencefake.Config{}, ""},
	{"auto to v2", confluencefake.Config{NoV1: true}, ""},
	{"v2", confluencefake.Config{NoV1: true}, "api: v2\n"},
}

func TestDeliver_IncidentPage(t *testing.T) {
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) { incidentPage(t, api.fake, api.extra) })
	}
}

func incidentPage(t *testing.T, cfg confluencefake.Config, extra string) {
	srv := confluencefake.New(cfg)
	defer srv.Close()
	parent := srv.AddPage("OPS", "tend", "<p>reports</p>")
	refs := integrations.NewMemRefs()
	in := newConfluence(t, srv, refs, extra+"alerts: true\nparent: '"+parent+"'\n")

	firing := alertEvent(t, events.StatusFiring, "fp1")
	r1 := deliver(t, in, firing)
	r2 := deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, "run1", "fp1"))
	deliver(t, in, firing) // a retried delivery appends nothing
	r3 := deliver(t, in, alertEvent(t, events.StatusResolved, "fp1"))
	if r1.Ref == "" || r1.Ref != r2.Ref || r2.Ref != r3.Ref {
		t.Fatalf("refs %q %q %q, want one page", r1.Ref, r2.Ref, r3.Ref)
	}

	p, ok := srv.PageByTitle("OPS", "tend incident fp1")
	if !ok || p.ID != r1.Ref || p.Parent != parent || p.Version != 3 {
		t.Fatalf("page %+v, want version 3 under %s", p, parent)
	}
	if n := strings.Count(p.Body, "<h2>"); n != 3 {
		t.Errorf("%d sections, want 3 (firing, run, resolved)", n)
	}
	for _, want := range []string{
		"disk &lt;b&gt;&#34;full&#34;&lt;/b&gt; &amp; more",
		"VACUUM &lt;all&gt; &amp; analyze",
		`<a href="https://dash.example/d?a=1&amp;b=2">dash</a>`,
		"runbook: javascript:alert(1)",
	} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("body lacks %q", want)
		}
	}
	if got, _ := refs.Get(context.Background(), integrations.RefKey("confluence", "wiki", "fp1")); got != p.ID {
		t.Errorf("ref %q, want %s", got, p.ID)
	}
}

func TestDeliver_DayPageAndAlertsOff(t *testing.T) {
	srv := confluencefake.New(confluencefake.Config{})
	defer srv.Close()
	in := newConfluence(t, srv, nil, "page_per: day\n")

	if r := deliver(t, in, alertEvent(t, events.StatusFiring, "fp1")); r.Ref != "" {
		t.Fatalf("alerts are off but a page was written")
	}
	deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, "run1", "fp1"))
	deliver(t, in, runEvent(t, events.TypeOptimizationFailed, "run2", "fp2"))
	pages := srv.Pages()
	day := time.Now().UTC().Format("2006-01-02")
	if len(pages) != 1 || pages[0].Title != "tend log "+day || strings.Count(pages[0].Body, "<h2>") != 2 {
		t.Fatalf("pages %+v, want one day page with two runs", pages)
	}
}

func TestDeliver_ReportReplacesItsPage(t *testing.T) {
	srv := confluencefake.New(confluencefake.Config{})
	defer srv.Close()
	in := newConfluence(t, srv, integrations.NewMemRefs(), "")

	rep := func(md string) events.Event {
		ev, _ := events.New(events.TypeReport, "tend/test", "daily", events.Report{
			Name: "daily", Title: "Daily 2026-12-04", Markdown: md,
			Since: time.Now().Add(-24 * time.Hour), Until: time.Now(),
		})
		return ev
	}
	r1 := deliver(t, in, rep("# Summary\nCPU <90% & fine"))
	r2 := deliver(t, in, rep("# Summary\nCPU at 95%"))
	deliver(t, in, rep("# Summary\nCPU at 95%"))
	p, _ := srv.Page(r1.Ref)
	if r1.Ref != r2.Ref || p.Version != 2 || p.Title != "tend report: Daily 2026-12-04" {
		t.Fatalf("page %+v, want one page at version 2", p)
	}
	if !strings.Contains(p.Body, "<h2>Summary</h2><p>CPU at 95%</p>") {
		t.Errorf("body %q", p.Body)
	}
}

func TestDeliver_ConflictRefetchesOnce(t *testing.T) {
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) { conflictRefetchesOnce(t, api.fake, api.extra) })
	}
}

func conflictRefetchesOnce(t *testing.T, cfg confluencefake.Config, extra string) {
	srv := confluencefake.New(cfg)
	defer srv.Close()
	in := newConfluence(t, srv, integrations.NewMemRefs(), extra)

	r := deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, "run1", "fp1"))
	srv.EditBeforeUpdates("<p>note by a person</p>")
	deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, "run2", "fp1"))
	p, _ := srv.Page(r.Ref)
	if p.Version != 3 || !strings.Contains(p.Body, "note by a person") || !strings.Contains(p.Body, "run2") {
		t.Fatalf("version %d body %q: want the person's note kept and run2 added", p.Version, p.Body)
	}

	srv.EditBeforeUpdates("<p>a</p>", "<p>b</p>")
	_, err := in.Deliver(context.Background(), runEvent(t, events.TypeOptimizationCompleted, "run3", "fp1"))
	var e *integrations.Error
	if !errors.As(err, &e) || e.Permanent || e.Status != http.StatusConflict {
		t.Fatalf("two conflicts: %v, want a retryable 409", err)
	}
	// The router's next attempt succeeds.
	deliver(t, in, runEvent(t, events.TypeOptimizationCompleted, "run3", "fp1"))
	if p, _ := srv.Page(r.Ref); !strings.Contains(p.Body, "run3") {
		t.Fatalf("run3 missing after the retry")
	}
}

func TestDeliver_ConcurrentHubsShareOnePage(t *testing.T) {
	for _, api := range apis {
		t.Run(api.name, func(t *testing.T) { concurrentHubs(t, api.fake, api.extra) })
	}
}

func concurrentHubs(t *testing.T, cfg confluencefake.Config, extra string) {
	srv := confluencefake.New(cfg)
	defer srv.Close()
	hubs := []*confluence.Integration{
		newConfluence(t, srv, integrations.NewMemRefs(), extra),
		newConfluence(t, srv, integrations.NewMemRefs(), extra),
	}
	var wg sync.WaitGroup
	for i, h := range hubs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ev := runEvent(t, events.TypeOptimizationCompleted, fmt.Sprintf("run%d", i), "fp9")
			for try := 0; try < 3; try++ {
				_, err := h.Deliver(context.Background(), ev)
				var e *integrations.Error
				if err == nil || (errors.As(err, &e) && e.Permanent) {
					if err != nil {
						t.Errorf("hub %d: %v", i, err)
					}
					return
				}
			}
			t.Errorf("hub %d: still failing after 3 attempts", i)
		}()
	}
	wg.Wait()
	pages := srv.Pages()
	if len(pages) != 1 || !strings.Contains(pages[0].Body, "run0") || !strings.Contains(pages[0].Body, "run1") {
		t.Fatalf("%d pages, want one with both runs", len(pages))
	}
}

func TestDeliver_Failures(t *testing.T) {
	tests := []struct {
		name      string
		fault     *confluencefake.Fault
		badToken  bool
		delay     bool
		settings  string
		permanent bool
		reason    string
		retry     time.Duration
		text      string
	}{
		{name: "unknown space", settings: "space: NOPE\n", permanent: true, reason: "http 404", text: "No space with key"},
		{name: "unknown parent", settings: "parent: '42'\n", permanent: true, reason: "http 400", text: "parent ID"},
		{name: "401", badToken: true, permanent: true, reason: "http 401", text: "not authenticated"},
		{name: "500", fault: &confluencefake.Fault{Status: 500}, reason: "http 500"},
		{name: "429 retry-after", reason: "http 429", retry: 9 * time.Second,
			fault: &confluencefake.Fault{Status: 429, Header: http.Header{"Retry-After": {"9"}}}},
		{name: "timeout", delay: true, reason: "timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := confluencefake.New(confluencefake.Config{APIToken: "s3cr3t"})
			defer srv.Close()
			c := srv.Config()
			token := c.APIToken
			if tt.badToken {
				token = "wrong-s3cr3t"
			}
			settings := fmt.Sprintf("url: %s\nemail: %s\napi_token: %s\n", srv.BaseURL(), c.Email, token)
			if !strings.Contains(tt.settings, "space:") {
				settings += "space: OPS\n"
			}
			in, err := confluence.New(spec(t, settings+tt.settings), integrations.Deps{})
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
			_, err = in.Deliver(ctx, runEvent(t, events.TypeOptimizationCompleted, "run1", "fp1"))
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
		{"no url", "token: t\nspace: OPS", "url: required"},
		{"no auth", "url: https://x/wiki\nspace: OPS", "api_token: required"},
		{"no space", "url: https://x/wiki\ntoken: t", "space: required"},
		{"bad page_per", "url: https://x/wiki\ntoken: t\nspace: OPS\npage_per: week", "want incident or day"},
		{"bad api", "url: https://x/wiki\ntoken: t\nspace: OPS\napi: v3", "want auto, v1 or v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := confluence.New(spec(t, tt.settings), integrations.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDeliver_BearerAndTestEvent(t *testing.T) {
	srv := confluencefake.New(confluencefake.Config{})
	defer srv.Close()
	settings := fmt.Sprintf("url: %s\ntoken: %s\nspace: OPS\n", srv.BaseURL(), srv.Config().PAT)
	in, err := confluence.New(spec(t, settings), integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	ev, _ := events.New(events.TypeTest, "tend/test", "", events.Test{Message: "hi"})
	if r := deliver(t, in, ev); r.Status != http.StatusOK {
		t.Fatalf("status %d", r.Status)
	}
}

func TestRegistered(t *testing.T) {
	for _, typ := range integrations.Types() {
		if typ == "confluence" {
			return
		}
	}
	t.Fatalf("confluence not registered: %v", integrations.Types())
}

func TestDeliver_V2UnknownSpaceIsPermanent(t *testing.T) {
	srv := confluencefake.New(confluencefake.Config{NoV1: true})
	defer srv.Close()
	c := srv.Config()
	settings := fmt.Sprintf("url: %s\nemail: %s\napi_token: %s\nspace: NOPE\n", srv.BaseURL(), c.Email, c.APIToken)
	in, err := confluence.New(spec(t, settings), integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Deliver(context.Background(), runEvent(t, events.TypeOptimizationCompleted, "run1", "fp1"))
	var e *integrations.Error
	if !errors.As(err, &e) || !e.Permanent || !strings.Contains(err.Error(), "no space with key NOPE") {
		t.Fatalf("error %v, want a permanent unknown space", err)
	}
}

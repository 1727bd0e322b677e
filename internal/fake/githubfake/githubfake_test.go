package githubfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tend-dev/tend/internal/fake/githubfake"
)

func call(t *testing.T, srv *githubfake.Server, method, path string, body any, auth bool) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, srv.URL+"/api/v3"+path, strings.NewReader(string(b)))
	if auth {
		req.Header.Set("Authorization", "Bearer "+srv.Config().Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func TestServer_EnforcesGitHubRules(t *testing.T) {
	srv := githubfake.New(githubfake.Config{})
	defer srv.Close()
	issue := func(body string) map[string]any {
		return map[string]any{"title": "t", "body": body, "labels": []string{"tend-x"}}
	}
	tests := []struct {
		name, method, path string
		body               any
		auth               bool
		status             int
		want               string
	}{
		{"no auth", "GET", "/repos/tend-dev/app", nil, false, 401, "Bad credentials"},
		{"body too long", "POST", "/repos/tend-dev/app/issues", issue(strings.Repeat("é", 65537)), true, 422,
			`"field":"body","message":"body is too long (maximum is 65536 characters)"`},
		{"create", "POST", "/repos/tend-dev/app/issues", issue(strings.Repeat("é", 65536)), true, 201, `"number":1`},
		{"list by label", "GET", "/repos/tend-dev/app/issues?labels=tend-x&state=all", nil, true, 200, `"number":1`},
		{"list other label", "GET", "/repos/tend-dev/app/issues?labels=tend-y", nil, true, 200, `[]`},
		{"search", "GET", "/search/issues?q=repo:tend-dev/app+label:tend-x+is:issue+is:open", nil, true, 200,
			`"total_count":1`},
		{"bad status", "POST", "/repos/tend-dev/app/statuses/0123456789",
			map[string]string{"state": "done"}, true, 422, "state"},
		{"status", "POST", "/repos/tend-dev/app/statuses/0123456789",
			map[string]string{"state": "pending", "context": "c"}, true, 201, "pending"},
		{"unknown repo", "GET", "/repos/x/y/issues", nil, true, 404, "Not Found"},
	}
	for _, tt := range tests {
		status, body := call(t, srv, tt.method, tt.path, tt.body, tt.auth)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %.200s, want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
	}

	srv.Fail(githubfake.SecondaryLimit(30))
	req, _ := http.NewRequest("GET", srv.URL+"/repos/tend-dev/app", nil)
	req.Header.Set("Authorization", "token "+srv.Config().Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "30" {
		t.Errorf("secondary limit: %d retry-after %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

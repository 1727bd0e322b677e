package confluencefake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tend-dev/tend/internal/fake/confluencefake"
)

func call(t *testing.T, srv *confluencefake.Server, method, path string, body any, auth bool) (int, string) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, srv.BaseURL()+path, strings.NewReader(string(b)))
	if auth {
		req.SetBasicAuth(srv.Config().Email, srv.Config().APIToken)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func page(title, body string, version int) map[string]any {
	return map[string]any{
		"type": "page", "title": title, "space": map[string]string{"key": "OPS"},
		"version": map[string]int{"number": version},
		"body":    map[string]any{"storage": map[string]string{"value": body, "representation": "storage"}},
	}
}

func TestServer_EnforcesConfluenceRules(t *testing.T) {
	srv := confluencefake.New(confluencefake.Config{})
	defer srv.Close()
	tests := []struct {
		name, method, path string
		body               any
		auth               bool
		status             int
		want               string
	}{
		{"no auth", "GET", "/rest/api/content", nil, false, 401, "authentication required"},
		{"unescaped text", "POST", "/rest/api/content", page("p", "<p>a < b & c</p>", 0), true, 400, "Error parsing xhtml"},
		{"create", "POST", "/rest/api/content", page("p", "<p>a &lt; b &amp; c</p>", 0), true, 200, `"id":"65537"`},
		{"same title", "POST", "/rest/api/content", page("p", "<p>x</p>", 0), true, 400, "already exists"},
		{"by title", "GET", "/rest/api/content?title=p&spaceKey=OPS&expand=version", nil, true, 200, `"number":1`},
		{"stale version", "PUT", "/rest/api/content/65537", page("p", "<p>y</p>", 1), true, 409, "Current version is: 1"},
		{"update", "PUT", "/rest/api/content/65537", page("p", "<p>y</p>", 2), true, 200, `"number":2`},
		{"unknown id", "GET", "/rest/api/content/1", nil, true, 404, "No content found"},
	}
	for _, tt := range tests {
		status, body := call(t, srv, tt.method, tt.path, tt.body, tt.auth)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
	}
}

package jirafake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/tend-dev/tend/internal/fake/jirafake"
)

func call(t *testing.T, srv *jirafake.Server, method, path, body string, auth bool) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	if auth {
		req.SetBasicAuth(srv.Config().Email, srv.Config().APIToken)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func create(summary string) string {
	b, _ := json.Marshal(map[string]any{"fields": map[string]any{
		"project": map[string]string{"key": "OPS"}, "issuetype": map[string]string{"name": "Task"},
		"summary": summary, "labels": []string{"tend-x"},
	}})
	return string(b)
}

func TestServer_EnforcesJiraRules(t *testing.T) {
	srv := jirafake.New(jirafake.Config{})
	defer srv.Close()
	tests := []struct {
		name, method, path, body string
		auth                     bool
		status                   int
		want                     string
	}{
		{"no auth", "GET", "/rest/api/2/myself", "", false, 401, `"errorMessages":["You are not authenticated."]`},
		{"long summary", "POST", "/rest/api/2/issue", create(strings.Repeat("a", 256)), true, 400,
			`"errors":{"summary":"Summary must be less than 255 characters."}`},
		{"newline", "POST", "/rest/api/2/issue", create("a\nb"), true, 400, `"summary":"The summary is invalid`},
		{"create", "POST", "/rest/api/2/issue", create(strings.Repeat("a", 255)), true, 201, `"key":"OPS-1"`},
		{"search", "GET", jql(`labels = "tend-x" AND statusCategory != Done`), "", true, 200, `"key":"OPS-1"`},
		{"search done", "GET", jql(`labels = "tend-x" AND statusCategory = Done`), "", true, 200, `"issues":[]`},
		{"bad jql", "GET", jql(`assignee in (x)`), "", true, 400, "Error in the JQL Query"},
		{"classic search gone", "GET", "/rest/api/2/search?jql=" + escape(`labels = "tend-x"`), "", true, 410,
			"has been removed"},
		{"transitions", "GET", "/rest/api/2/issue/OPS-1/transitions", "", true, 200, `"name":"Done"`},
		{"bad transition", "POST", "/rest/api/2/issue/OPS-1/transitions", `{"transition":{"id":"41"}}`, true, 400,
			"Transition id '41' is not valid"},
		{"done", "POST", "/rest/api/2/issue/OPS-1/transitions", `{"transition":{"id":"31"}}`, true, 204, ""},
		{"unknown issue", "POST", "/rest/api/2/issue/OPS-9/comment", `{"body":"x"}`, true, 404, "Issue does not exist"},
	}
	for _, tt := range tests {
		status, body := call(t, srv, tt.method, tt.path, tt.body, tt.auth)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
	}
	if iss, _ := srv.Issue("OPS-1"); iss.Status != jirafake.StatusDone || iss.Resolved == nil {
		t.Errorf("OPS-1 %s, want Done with a resolution date", iss.Status)
	}
}

func jql(q string) string { return "/rest/api/2/search/jql?jql=" + escape(q) }

func escape(s string) string {
	return strings.NewReplacer(" ", "%20", `"`, "%22", "=", "%3D", "!", "%21", "(", "%28", ")", "%29").Replace(s)
}

func TestServer_DataCenterSearch(t *testing.T) {
	srv := jirafake.New(jirafake.Config{DataCenter: true})
	defer srv.Close()
	if status, _ := call(t, srv, "GET", "/rest/api/2/search/jql?jql=", "", true); status != 404 {
		t.Errorf("search/jql on Data Center: %d, want 404", status)
	}
	status, body := call(t, srv, "GET", "/rest/api/2/search?jql=", "", true)
	if status != 200 || !strings.Contains(body, `"total":0`) {
		t.Errorf("classic search on Data Center: %d %s", status, body)
	}
}

package slackfake_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/tend-dev/tend/internal/fake/slackfake"
)

func call(t *testing.T, s *slackfake.Server, method, token string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.APIURL()+method, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestServer_Rules(t *testing.T) {
	s := slackfake.New()
	defer s.Close()
	post := url.Values{"channel": {"#alerts"}, "text": {"hi"}}
	tests := []struct {
		name, method, token string
		form                url.Values
		status              int
		code                string
	}{
		{"no token", "chat.postMessage", "", post, 200, "not_authed"},
		{"bad token", "chat.postMessage", "xoxb-nope", post, 200, "invalid_auth"},
		{"unknown channel", "chat.postMessage", slackfake.Token,
			url.Values{"channel": {"#nope"}, "text": {"hi"}}, 200, "channel_not_found"},
		{"no text", "chat.postMessage", slackfake.Token, url.Values{"channel": {"#alerts"}}, 200, "no_text"},
		{"update unknown ts", "chat.update", slackfake.Token,
			url.Values{"channel": {slackfake.Channel}, "ts": {"1.2"}, "text": {"x"}}, 200, "message_not_found"},
		{"header too long", "chat.postMessage", slackfake.Token, url.Values{"channel": {"#alerts"},
			"blocks": {`[{"type":"header","text":{"type":"plain_text","text":"` + strings.Repeat("h", 151) +
				`"}}]`}}, 200, "invalid_blocks"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := call(t, s, tt.method, tt.token, tt.form)
			if status != tt.status || out["ok"] != false || out["error"] != tt.code {
				t.Fatalf("got %d %v, want %d %s", status, out, tt.status, tt.code)
			}
		})
	}

	s.RateLimit(2, 5)
	for range 2 {
		req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"chat.postMessage", strings.NewReader(post.Encode()))
		req.Header.Set("Authorization", "Bearer "+slackfake.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "5" {
			t.Fatalf("got %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if status, out := call(t, s, "chat.postMessage", slackfake.Token, post); status != 200 || out["ok"] != true {
		t.Fatalf("after the rate limit: %d %v", status, out)
	}
}

func TestServer_WebhookAnswers(t *testing.T) {
	s := slackfake.New()
	defer s.Close()
	hook := s.WebhookURL(slackfake.Channel)
	tests := []struct{ url, body, want string }{
		{hook, `not json`, "invalid_payload"},
		{hook, `{"channel":"x"}`, "no_text"},
		{hook + "x", `{"text":"hi"}`, "no_service"},
		{hook, `{"text":"hi"}`, "ok"},
	}
	for _, tt := range tests {
		resp, err := http.Post(tt.url, "application/json", strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != tt.want {
			t.Errorf("%s: got %q, want %q", tt.body, b, tt.want)
		}
	}
}

func TestServer_Concurrent(t *testing.T) {
	s := slackfake.New()
	defer s.Close()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			form := url.Values{"channel": {"#alerts"}, "text": {"x"}}
			req, _ := http.NewRequest(http.MethodPost, s.APIURL()+"chat.postMessage",
				strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Authorization", "Bearer "+slackfake.Token)
			if resp, err := http.DefaultClient.Do(req); err != nil {
				t.Error(err)
			} else {
				resp.Body.Close()
			}
			_ = s.Messages(slackfake.Channel)
		})
	}
	wg.Wait()
	if n := len(s.Messages(slackfake.Channel)); n != 20 {
		t.Fatalf("%d messages, want 20", n)
	}
}

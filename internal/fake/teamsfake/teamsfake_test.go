package teamsfake_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/tend-dev/tend/internal/fake/teamsfake"
)

func post(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

const card = `{"type":"message","attachments":[{"contentType":"application/vnd.microsoft.card.adaptive",` +
	`"content":{"type":"AdaptiveCard","version":"1.4","body":[{"type":"TextBlock","text":"hello"}]}}]}`

func TestServer_Workflow(t *testing.T) {
	s := teamsfake.New()
	defer s.Close()
	hook := s.WorkflowURL()
	tests := []struct {
		name, url, body string
		status          int
	}{
		{"ok", hook, card, 202},
		{"not a message", hook, `{"type":"card"}`, 400},
		{"wrong content type", hook, strings.Replace(card, "adaptive\"", "hero\"", 1), 400},
		{"no body", hook, strings.Replace(card, `[{"type":"TextBlock","text":"hello"}]`, `[]`, 1), 400},
		{"too big", hook, strings.Replace(card, "hello", strings.Repeat("x", teamsfake.MaxBytes), 1), 413},
		{"unsigned", strings.Split(hook, "?")[0], card, 401},
	}
	for _, tt := range tests {
		if status, body := post(t, tt.url, tt.body); status != tt.status {
			t.Errorf("%s: got %d %s, want %d", tt.name, status, body, tt.status)
		}
	}
	if cards := s.Cards(); len(cards) != 1 || cards[0].Title != "hello" || cards[0].Kind != teamsfake.Workflow {
		t.Fatalf("cards = %+v", cards)
	}
}

func TestServer_Connector(t *testing.T) {
	s := teamsfake.New()
	defer s.Close()
	hook := s.ConnectorURL()
	if status, body := post(t, hook, `{"@type":"MessageCard","title":"t","summary":"s"}`); status != 200 ||
		body != "1" {
		t.Fatalf("got %d %q", status, body)
	}
	if status, body := post(t, hook, `{"title":"t"}`); status != 400 || !strings.Contains(body, "Summary or Text") {
		t.Fatalf("got %d %q", status, body)
	}
	s.FailNext(1, teamsfake.ConnectorThrottled())
	if status, body := post(t, hook, `{"summary":"s"}`); status != 200 || !strings.Contains(body, "HTTP error 429") {
		t.Fatalf("got %d %q", status, body)
	}
}

func TestServer_Concurrent(t *testing.T) {
	s := teamsfake.New()
	defer s.Close()
	hook := s.WorkflowURL()
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := http.Post(hook, "application/json", strings.NewReader(card))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			_ = s.Cards()
		})
	}
	wg.Wait()
	if n := len(s.Cards()); n != 20 {
		t.Fatalf("%d cards, want 20", n)
	}
}

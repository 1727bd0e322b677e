package inbound

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

// alwaysFirst is a Seen for benchmarks that replay one request.
type alwaysFirst struct{}

func (alwaysFirst) FirstTime(context.Context, string) (bool, error) { return true, nil }

// nopPublisher stores nothing.
type nopPublisher struct{}

func (nopPublisher) Publish(context.Context, events.Event) error { return nil }

func benchMux(b *testing.B, s Settings) *http.ServeMux {
	b.Helper()
	h, err := New(s, Deps{Publisher: nopPublisher{}, Seen: alwaysFirst{},
		Now: func() time.Time { return slackNow }})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	h.Register(mux)
	return mux
}

// BenchmarkGitHubWebhook: verify, parse and answer one issue_comment,
// without the bus.
func BenchmarkGitHubWebhook(b *testing.B) {
	mux := benchMux(b, githubSettings())
	body := commentPayload("MEMBER", "/tend optimize database --level high")
	for b.Loop() {
		r := githubRequest("issue_comment", "bench", body, testGitHubSecret, false)
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		if w.Code != http.StatusAccepted {
			b.Fatalf("status = %d", w.Code)
		}
	}
}

// BenchmarkAlertmanagerWebhook: authenticate and turn the two-alert
// testdata payload into events, without the bus.
func BenchmarkAlertmanagerWebhook(b *testing.B) {
	mux := benchMux(b, alertSettings())
	body := mustRead(b, "testdata/alertmanager.json")
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, withToken(alertRequest("am", body), testToken))
		if w.Code != http.StatusAccepted {
			b.Fatalf("status = %d", w.Code)
		}
	}
}

// BenchmarkSlackCommand: verify and acknowledge /tend optimize.
func BenchmarkSlackCommand(b *testing.B) {
	mux := benchMux(b, Settings{Slack: &Slack{SigningSecret: testSlackSecret}})
	body := slackForm("optimize database", "https://hooks.slack.com/commands/1/2/3").Encode()
	for b.Loop() {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, slackRequest(body, slackNow, testSlackSecret))
		if w.Code != http.StatusOK {
			b.Fatalf("status = %d", w.Code)
		}
	}
}

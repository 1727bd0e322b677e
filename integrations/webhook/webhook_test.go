package webhook_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/webhook"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func newHook(t *testing.T, url, extra string) integrations.Integration {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - name: h\n    type: webhook\n    timeout: 300ms\n    url: "+url+"\n    secret: "+secret+"\n"+extra))
	if err != nil {
		t.Fatal(err)
	}
	in, err := integrations.New(cfg.Integrations[0], integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func event(t *testing.T) events.Event {
	ev, err := events.New(events.TypeAlertFiring, "test", "fp", events.Alert{Fingerprint: "fp", Status: "firing", Rule: "r"})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestWebhook_SignsTheStandardWebhooksWay(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, must(io.ReadAll(r.Body))
	}))
	defer srv.Close()

	ev := event(t)
	if _, err := newHook(t, srv.URL, "").Deliver(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
	if got.Header.Get("webhook-id") != ev.ID {
		t.Fatalf("webhook-id = %q, want the event id", got.Header.Get("webhook-id"))
	}
	ts, err := strconv.ParseInt(got.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil || time.Since(time.Unix(ts, 0)) > time.Minute {
		t.Fatalf("bad webhook-timestamp %q", got.Header.Get("webhook-timestamp"))
	}
	key, _ := webhook.DecodeSecret(secret)
	if want := webhook.Sign(key, ev.ID, ts, body); got.Header.Get("webhook-signature") != want {
		t.Fatalf("signature %q, want %q", got.Header.Get("webhook-signature"), want)
	}
	back, err := events.Unmarshal(body)
	if err != nil || back.ID != ev.ID {
		t.Fatalf("body is not the CloudEvent: %v", err)
	}
}

func TestWebhook_ClassifiesAnswers(t *testing.T) {
	cases := []struct {
		name       string
		handler    http.HandlerFunc
		permanent  bool
		ok         bool
		retryAfter time.Duration
	}{
		{"200", func(w http.ResponseWriter, _ *http.Request) {}, false, true, 0},
		{"204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }, false, true, 0},
		{"400", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(400) }, true, false, 0},
		{"404", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) }, true, false, 0},
		{"503", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(503) }, false, false, 0},
		{"429 seconds", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(429)
		}, false, false, 7 * time.Second},
		{"timeout", func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(2 * time.Second):
			}
		}, false, false, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.handler)
			defer srv.Close()
			_, err := newHook(t, srv.URL+"/path?token=s3cr3t", "").Deliver(context.Background(), event(t))
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ie *integrations.Error
			if !errors.As(err, &ie) {
				t.Fatalf("want *integrations.Error, got %T %v", err, err)
			}
			if ie.Permanent != c.permanent || ie.RetryAfter != c.retryAfter {
				t.Fatalf("got permanent=%v retry-after=%s (%v)", ie.Permanent, ie.RetryAfter, ie)
			}
			if strings.Contains(err.Error(), "s3cr3t") || strings.Contains(err.Error(), secret) {
				t.Fatalf("error leaks a secret: %v", err)
			}
		})
	}
}

func TestWebhook_RefusesRedirectToAnotherHost(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		t.Error("payload followed a redirect to another host")
	}))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, strings.Replace(other.URL, "127.0.0.1", "localhost", 1), http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	if _, err := newHook(t, srv.URL, "").Deliver(context.Background(), event(t)); err == nil {
		t.Fatal("want an error for a cross-host redirect")
	}
}

func TestWebhook_CutsHugeAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(500)
		chunk := strings.Repeat("x", 1<<20)
		for range 50 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	_, err := newHook(t, srv.URL, "    max_response: 1024\n").Deliver(context.Background(), event(t))
	if err == nil || len(err.Error()) > 2000 {
		t.Fatalf("want a short error, got %d bytes", len(err.Error()))
	}
}

func TestWebhook_BadSettingsNameTheKey(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - name: h\n    type: webhook\n    url: ftp://x\n    secret: nope\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = integrations.New(cfg.Integrations[0], integrations.Deps{})
	if err == nil || !strings.Contains(err.Error(), "t.yaml:4: integrations[0].url") {
		t.Fatalf("want an error at t.yaml:4 url, got %v", err)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

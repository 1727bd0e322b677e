package api_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	_ "github.com/tend-dev/tend/integrations/api"
)

func build(t *testing.T, yaml string) integrations.Integration {
	t.Helper()
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - name: a\n    type: api\n"+yaml))
	if err != nil {
		t.Fatal(err)
	}
	in, err := integrations.New(cfg.Integrations[0], integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func alert(t *testing.T) events.Event {
	ev, err := events.New(events.TypeAlertFiring, "t", "fp9", events.Alert{
		Fingerprint: "fp9", Rule: "disk_full", Status: "firing", Severity: "critical", Summary: `disk "/" full`})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestAPI_TemplatesMethodURLBodyAndAuth(t *testing.T) {
	var method, path, auth, body, idem string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		method, path, auth, body, idem = r.Method, r.URL.Path, r.Header.Get("Authorization"), string(b), r.Header.Get("Idempotency-Key")
		w.WriteHeader(201)
	}))
	defer srv.Close()

	in := build(t, `    method: put
    url: "`+srv.URL+`/incidents/{{.Alert.Fingerprint}}"
    body: '{"title": {{printf "%q" .Title}}, "severity": "{{.Severity}}"}'
    bearer_token: tok-123
    expect: [200, 201]
`)
	ev := alert(t)
	rc, err := in.Deliver(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	if rc.Status != 201 || method != "PUT" || path != "/incidents/fp9" || auth != "Bearer tok-123" || idem != ev.ID {
		t.Fatalf("got status %d %s %s auth %q idem %q", rc.Status, method, path, auth, idem)
	}
	if !strings.Contains(body, `"severity": "critical"`) || !strings.Contains(body, `disk_full`) {
		t.Fatalf("body %s", body)
	}
}

func TestAPI_UnexpectedStatusIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(202) }))
	defer srv.Close()
	in := build(t, "    url: "+srv.URL+"\n    username: u\n    password: p4ss\n    expect: [200]\n")
	_, err := in.Deliver(context.Background(), alert(t))
	var ie *integrations.Error
	if !errors.As(err, &ie) || !ie.Permanent {
		t.Fatalf("want permanent, got %v", err)
	}
	if strings.Contains(err.Error(), "p4ss") {
		t.Fatalf("password in error: %v", err)
	}
}

func TestAPI_BadTemplateIsAConfigError(t *testing.T) {
	cfg, err := config.Parse("t.yaml", []byte("integrations:\n  - name: a\n    type: api\n    url: 'http://x/{{.Nope'\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = integrations.New(cfg.Integrations[0], integrations.Deps{})
	if err == nil || !strings.Contains(err.Error(), "t.yaml:4: integrations[0].url: bad template") {
		t.Fatalf("got %v", err)
	}
}

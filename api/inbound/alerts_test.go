package inbound

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

func alertSettings() Settings {
	return Settings{Alerts: []AlertSource{
		{Name: "am", Token: testToken},
		{Name: "script", HMACSecret: testHMACSecret},
	}}
}

func alertRequest(name, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/hooks/alerts/"+name, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func withToken(r *http.Request, tok string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func withHMAC(r *http.Request, secret, body string) *http.Request {
	r.Header.Set("X-Tend-Signature", "sha256="+hmacHex(secret, []byte(body)))
	return r
}

func readFile(t *testing.T, name string) string { return mustRead(t, name) }

func mustRead(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

func decodeAlert(t *testing.T, ev events.Event) events.Alert {
	t.Helper()
	var a events.Alert
	if err := ev.Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAlerts_Alertmanager(t *testing.T) {
	env := newEnv(t, alertSettings(), nil)
	body := readFile(t, "testdata/alertmanager.json")

	w := env.do(withToken(alertRequest("am", body), testToken))
	if w.Code != http.StatusAccepted {
		t.Fatalf("status = %d (%s)", w.Code, w.Body)
	}
	evs := env.pub.events()
	if len(evs) != 2 {
		t.Fatalf("published %d events, want 2", len(evs))
	}

	fire, res := decodeAlert(t, evs[0]), decodeAlert(t, evs[1])
	wantFP := events.Fingerprint("DiskFull", map[string]string{
		"alertname": "DiskFull", "instance": "db1:9100", "mountpoint": "/var", "severity": "critical",
	})
	if fire.Fingerprint != wantFP || evs[0].Type != events.TypeAlertFiring ||
		evs[0].Subject != events.AlertSubject("firing", wantFP) {
		t.Fatalf("firing event %s %s fingerprint %s, want %s", evs[0].Type, evs[0].Subject, fire.Fingerprint, wantFP)
	}
	if fire.Kind != "external" || fire.Rule != "DiskFull" || fire.Severity != "critical" ||
		fire.Summary != "Disk /var on db1 is 97% full" || fire.Host != "db1:9100" ||
		fire.EndsAt != nil || fire.Links["alertmanager"] != "http://alertmanager.example:9093" {
		t.Fatalf("firing alert %+v", fire)
	}
	if !fire.StartsAt.Equal(time.Date(2026, 12, 4, 11, 50, 0, 123e6, time.UTC)) {
		t.Fatalf("starts at %v", fire.StartsAt)
	}
	if evs[1].Type != events.TypeAlertResolved || res.Status != "resolved" || res.EndsAt == nil ||
		res.Fingerprint == fire.Fingerprint {
		t.Fatalf("resolved event %s %+v", evs[1].Type, res)
	}

	// Alertmanager resends the group: the ids repeat, so JetStream drops it.
	w = env.do(withToken(alertRequest("am", body), testToken))
	again := env.pub.events()[2:]
	if w.Code != http.StatusAccepted || again[0].ID != evs[0].ID || again[1].ID != evs[1].ID {
		t.Fatalf("resend: status %d, ids %s %s, want %s %s", w.Code, again[0].ID, again[1].ID, evs[0].ID, evs[1].ID)
	}
	env.checkNoSecret(t)
}

func TestAlerts_Grafana(t *testing.T) {
	alerts, err := ParseAlerts([]byte(readFile(t, "testdata/grafana.json")))
	if err != nil {
		t.Fatal(err)
	}
	a := alerts[0]
	if len(alerts) != 1 || a.Rule != "HighLatency" || a.Severity != "warning" ||
		a.Links["dashboard"] != "https://grafana.example/d/xyz" || a.Summary != "p99 latency above 2s" {
		t.Fatalf("alerts %+v", alerts)
	}
}

func TestAlerts_TendJSON(t *testing.T) {
	single := `{"rule":"backup_age","status":"firing","severity":"critical","summary":"backup is 30h old",
 "host":"db1","value":30,"labels":{"job":"backup"},"fingerprint":"forged","kind":"threshold"}`
	list := `[{"rule":"backup_age","status":"resolved","labels":{"job":"backup"},
 "starts_at":"2026-12-04T08:00:00Z"},{"rule":"queue_depth","status":"firing"}]`
	group := `{"rule":"group","status":"firing",
 "alerts":[{"rule":"a","status":"firing"},{"rule":"b","status":"firing"}]}`

	tests := []struct {
		name  string
		body  string
		rules []string
	}{
		{"single", single, []string{"backup_age"}},
		{"list", list, []string{"backup_age", "queue_depth"}},
		{"group members", group, []string{"a", "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, alertSettings(), nil)
			w := env.do(withHMAC(alertRequest("script", tt.body), testHMACSecret, tt.body))
			if w.Code != http.StatusAccepted {
				t.Fatalf("status = %d (%s)", w.Code, w.Body)
			}
			evs := env.pub.events()
			if len(evs) != len(tt.rules) {
				t.Fatalf("published %d, want %d", len(evs), len(tt.rules))
			}
			for i, ev := range evs {
				a := decodeAlert(t, ev)
				if a.Rule != tt.rules[i] || a.Kind != "external" ||
					a.Fingerprint != events.Fingerprint(a.Rule, a.Labels) || a.StartsAt.IsZero() {
					t.Fatalf("alert %d: %+v", i, a)
				}
			}
		})
	}
}

func TestAlerts_Auth(t *testing.T) {
	body := `{"rule":"r","status":"firing"}`
	tests := []struct {
		name   string
		req    *http.Request
		status int
	}{
		{"token", withToken(alertRequest("am", body), testToken), http.StatusAccepted},
		{"token lower-case scheme", func() *http.Request {
			r := alertRequest("am", body)
			r.Header.Set("Authorization", "bearer "+testToken)
			return r
		}(), http.StatusAccepted},
		{"wrong token", withToken(alertRequest("am", body), "nope"), http.StatusUnauthorized},
		{"token prefix", withToken(alertRequest("am", body), testToken[:5]), http.StatusUnauthorized},
		{"no credential", alertRequest("am", body), http.StatusUnauthorized},
		{"basic auth", func() *http.Request {
			r := alertRequest("am", body)
			r.SetBasicAuth("am", testToken)
			return r
		}(), http.StatusUnauthorized},
		{"hmac", withHMAC(alertRequest("script", body), testHMACSecret, body), http.StatusAccepted},
		{"hmac of other body", withHMAC(alertRequest("script", body), testHMACSecret, body+" "),
			http.StatusUnauthorized},
		{"hmac wrong secret", withHMAC(alertRequest("script", body), "x", body), http.StatusUnauthorized},
		{"token on hmac source", withToken(alertRequest("script", body), testToken), http.StatusUnauthorized},
		{"unknown source", withToken(alertRequest("nobody", body), testToken), http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, alertSettings(), nil)
			w := env.do(tt.req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.status == http.StatusUnauthorized {
				if len(env.pub.events()) != 0 || len(env.log.lines("alerts rejected")) != 1 {
					t.Fatalf("published %d; log:\n%s", len(env.pub.events()), env.log)
				}
			}
			env.checkNoSecret(t)
		})
	}
}

func TestAlerts_BadPayload(t *testing.T) {
	tests := []struct{ name, body, want string }{
		{"not json", `{"rule":`, "decode alert"},
		{"scalar", `42`, "object or list"},
		{"empty", ``, "empty body"},
		{"empty list", `[]`, "no alerts"},
		{"no rule", `{"status":"firing"}`, "rule is required"},
		{"bad status", `{"rule":"r","status":"burning"}`, "want firing or resolved"},
		{"wrong type", `{"rule":"r","status":"firing","value":"high"}`, "decode alert"},
		{"am version", `{"version":"3","alerts":[]}`, "version"},
		{"am no alerts", `{"version":"4","alerts":[]}`, "no alerts"},
		{"am no alertname", `{"version":"4","alerts":[{"status":"firing","labels":{"a":"b"}}]}`, "alertname"},
		{"am bad time", `{"version":"4","alerts":[{"status":"firing","labels":{"alertname":"x"},` +
			`"startsAt":"yesterday"}]}`,
			"decode alertmanager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, alertSettings(), nil)
			w := env.do(withToken(alertRequest("am", tt.body), testToken))
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tt.want) {
				t.Fatalf("status = %d (%s), want 400 about %q", w.Code, w.Body, tt.want)
			}
			if len(env.log.lines("bad alert payload")) != 1 || len(env.pub.events()) != 0 {
				t.Fatalf("not logged once, or published:\n%s", env.log)
			}
		})
	}
}

func TestAlerts_TooMany(t *testing.T) {
	list := make([]events.Alert, maxAlerts+1)
	for i := range list {
		list[i] = events.Alert{Rule: "r", Status: "firing"}
	}
	body, _ := json.Marshal(list)
	if _, err := ParseAlerts(body); err == nil || !strings.Contains(err.Error(), "more than") {
		t.Fatalf("err = %v", err)
	}
}

func TestAlerts_PublishFails(t *testing.T) {
	env := newEnv(t, alertSettings(), nil)
	calls := 0
	env.pub.setFail(func(context.Context, events.Event) error {
		calls++
		if calls == 2 {
			return errors.New("stream full")
		}
		return nil
	})
	body := readFile(t, "testdata/alertmanager.json")
	w := env.do(withToken(alertRequest("am", body), testToken))
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 503", w.Code)
	}
}

package e2e

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

const alertmanagerPayload = `{
  "version": "4",
  "groupKey": "{}:{alertname=\"DiskFull\"}",
  "status": "firing",
  "receiver": "tend",
  "groupLabels": {"alertname": "DiskFull"},
  "commonLabels": {"alertname": "DiskFull", "severity": "critical"},
  "commonAnnotations": {"summary": "disk / is 97% full"},
  "externalURL": "http://alertmanager.invalid",
  "alerts": [{
    "status": "firing",
    "labels": {"alertname": "DiskFull", "severity": "critical", "instance": "db-1:9100"},
    "annotations": {"summary": "disk / is 97% full"},
    "startsAt": "2026-12-04T10:00:00Z",
    "endsAt": "0001-01-01T00:00:00Z",
    "generatorURL": "http://prometheus.invalid/graph",
    "fingerprint": "abc123"
  }]
}`

// TestInbound_AlertmanagerByCurl posts an Alertmanager webhook with a real
// curl; tend stores it before answering and routes it to the file sink.
func TestInbound_AlertmanagerByCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	h := NewHub(t, `
inbound:
  alerts:
    - name: am
      token: am-token-123
integrations:
  - name: out
    type: file
    path: {{DIR}}/out.jsonl
routes:
  - match: {type: alert}
    to: [out]
`)
	h.Start()
	url := "http://" + h.Addr + "/hooks/alerts/am"

	bad, _ := exec.Command(curl, "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
		"-H", "Authorization: Bearer wrong", "--data-binary", alertmanagerPayload, url).Output()
	if string(bad) != "401" {
		t.Fatalf("wrong token answered %s, want 401", bad)
	}
	out, err := exec.Command(curl, "-s", "-w", "\n%{http_code}", "-X", "POST",
		"-H", "Authorization: Bearer am-token-123", "-H", "Content-Type: application/json",
		"--data-binary", alertmanagerPayload, url).CombinedOutput()
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(out)), "202") && !strings.HasSuffix(strings.TrimSpace(string(out)), "200") {
		t.Fatalf("curl: %v\n%s", err, out)
	}

	var got []events.Event
	Eventually(t, 10*time.Second, "the alert in the file sink", func() bool {
		got = ReadEvents(t, h.Path("out.jsonl"))
		return len(got) >= 1
	})
	var a events.Alert
	if err := got[0].Decode(&a); err != nil {
		t.Fatal(err)
	}
	if a.Status != "firing" || a.Labels["instance"] != "db-1:9100" || a.Fingerprint == "" || a.Severity != "critical" {
		t.Fatalf("routed alert: %+v", a)
	}
	if strings.Contains(h.Logs(), "am-token-123") {
		t.Fatal("the token appears in the logs")
	}
}

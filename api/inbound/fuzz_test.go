package inbound

import (
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

// Run one with: go test -run='^$' -fuzz=FuzzFindOptimize -fuzztime=5s ./api/inbound

func FuzzFindOptimize(f *testing.F) {
	for _, s := range []string{
		"/tend optimize",
		"/tend optimize database cache --level high",
		"text\r\n/tend optimize --level=low db\n",
		"/tend optimize -l",
		"/tend status",
		"> /tend optimize",
		"/tend optimize \u00a0db \x00 --level=ÄGGRESSIVE",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		cmd, found, err := FindOptimize(body)
		if err != nil || !found {
			if len(cmd.Tasks) != 0 || cmd.Level != "" {
				t.Fatalf("command %+v returned with err %v found %v", cmd, err, found)
			}
			return
		}
		if len(cmd.Tasks) > maxTasks {
			t.Fatalf("%d tasks", len(cmd.Tasks))
		}
		for _, task := range cmd.Tasks {
			if !taskName.MatchString(task) {
				t.Fatalf("task %q accepted", task)
			}
		}
		if cmd.Level != "" && !contains(levels, cmd.Level) {
			t.Fatalf("level %q accepted", cmd.Level)
		}
	})
}

// checkAlerts holds what every parsed alert must satisfy.
func checkAlerts(t *testing.T, body []byte) {
	alerts, err := ParseAlerts(body)
	if err != nil {
		return
	}
	if len(alerts) == 0 || len(alerts) > maxAlerts {
		t.Fatalf("%d alerts", len(alerts))
	}
	for _, a := range alerts {
		if a.Rule == "" || a.Kind != kindExternal || a.Severity == "" || a.Summary == "" || len(a.Alerts) > 0 {
			t.Fatalf("alert %+v", a)
		}
		if a.Status != events.StatusFiring && a.Status != events.StatusResolved {
			t.Fatalf("status %q", a.Status)
		}
		if a.Fingerprint != events.Fingerprint(a.Rule, a.Labels) {
			t.Fatalf("fingerprint %q not derived from rule and labels", a.Fingerprint)
		}
		if _, err := events.New(events.TypeAlertFiring, "fuzz", "", a); err != nil {
			t.Fatalf("alert cannot be encoded: %v", err)
		}
		if AlertID(a) != AlertID(a) {
			t.Fatal("alert id not stable")
		}
	}
}

func FuzzAlertmanager(f *testing.F) {
	for _, name := range []string{"testdata/alertmanager.json", "testdata/grafana.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"version":"4","alerts":[{"status":"resolved","labels":{"alertname":"x"},` +
		`"startsAt":"2026-01-01T00:00:00Z","endsAt":"2026-01-01T01:00:00Z"}]}`))
	f.Add([]byte(`{"receiver":"r","version":"4","alerts":[{"status":"firing","labels":{"alertname":""}}]}`))
	f.Add([]byte(`{"groupKey":1}`))
	f.Fuzz(checkAlerts)
}

func FuzzTendAlerts(f *testing.F) {
	for _, s := range []string{
		`{"rule":"backup_age","status":"firing","labels":{"job":"backup"},"value":30}`,
		`[{"rule":"a","status":"resolved","starts_at":"2026-12-04T08:00:00Z"},{"rule":"b","status":"firing"}]`,
		`{"rule":"g","status":"firing","alerts":[{"rule":"a","status":"firing"}]}`,
		`{"rule":"t","status":"firing","threshold":1e308,"evidence":{"slope":-0}}`,
		`[]`, `null`, ` [ {} ] `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(checkAlerts)
}

func FuzzSlashCommand(f *testing.F) {
	f.Add([]byte(slackForm("optimize db --level high", "https://hooks.slack.com/commands/1/2/3").Encode()),
		int64(1764849600))
	f.Add([]byte("command=%2Ftend&user_id=U1&response_url=x&text=status"), int64(0))
	f.Add([]byte("command=%zz&a;b"), int64(-1))
	f.Add([]byte(""), int64(1<<62))
	f.Fuzz(func(t *testing.T, body []byte, stamp int64) {
		if cmd, err := ParseSlashCommand(body); err == nil {
			if cmd.Command == "" || cmd.UserID == "" || cmd.ResponseURL == "" {
				t.Fatalf("command %+v accepted", cmd)
			}
		}

		// A body signed with the secret verifies inside the window only,
		// and any other signature fails.
		now := time.Unix(1764849600, 0)
		ts := strconv.FormatInt(stamp, 10)
		hdr := http.Header{}
		hdr.Set("X-Slack-Request-Timestamp", ts)
		hdr.Set("X-Slack-Signature", "v0="+hmacHex(testSlackSecret, []byte("v0:"+ts+":"), body))
		_, err := verifySlack([]byte(testSlackSecret), hdr, body, now)
		inWindow := stamp >= now.Add(-slackWindow).Unix() && stamp <= now.Add(slackWindow).Unix()
		if (err == nil) != inWindow {
			t.Fatalf("stamp %d: err %v, in window %v", stamp, err, inWindow)
		}
		hdr.Set("X-Slack-Signature", "v0="+hmacHex("other", []byte("v0:"+ts+":"), body))
		if _, err := verifySlack([]byte(testSlackSecret), hdr, body, now); err == nil {
			t.Fatal("wrong secret verified")
		}
	})
}

func FuzzGitHubTrigger(f *testing.F) {
	f.Add("issue_comment", []byte(commentPayload("MEMBER", "/tend optimize db --level low")))
	f.Add("issue_comment", []byte(commentPayload("NONE", "/tend optimize")))
	f.Add("push", []byte(pushPayload("refs/heads/main")))
	f.Add("workflow_run", []byte(workflowPayload("completed", "main")))
	f.Add("repository_dispatch", []byte(dispatchBody("tend-optimize", `{"tasks":["a"],"level":"high"}`)))
	f.Add("repository_dispatch", []byte(dispatchBody("tend-optimize", `"tasks"`)))
	f.Add("push", []byte(url.Values{"payload": {"{}"}}.Encode()))
	g := &GitHub{Branches: []string{"main"}}
	f.Fuzz(func(t *testing.T, kind string, payload []byte) {
		trig, why, err := GitHubTrigger(kind, payload, g)
		if trig == nil {
			if err == nil && why == "" {
				t.Fatal("neither trigger, reason nor error")
			}
			return
		}
		if err != nil || trig.Trigger.Kind != "github" || trig.Trigger.Repo == "" || trig.Event != kind {
			t.Fatalf("trigger %+v, err %v", trig, err)
		}
		if _, err := ParseOptimize(trig.Tasks); err != nil {
			t.Fatalf("tasks %v: %v", trig.Tasks, err)
		}
		if trig.Level != "" && !contains(levels, trig.Level) {
			t.Fatalf("level %q", trig.Level)
		}
		if trig.Trigger.SHA != "" && !commitSHA.MatchString(trig.Trigger.SHA) {
			t.Fatalf("sha %q", trig.Trigger.SHA)
		}
	})
}

package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
	"github.com/tend-dev/tend/integrations/smtp"
	"github.com/tend-dev/tend/internal/fake/smtpfake"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

var start = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

func spec(t testing.TB, settings string) config.Integration {
	t.Helper()
	doc := "integrations:\n  - name: mail\n    type: smtp\n"
	for _, l := range strings.Split(strings.TrimSpace(settings), "\n") {
		doc += "    " + strings.TrimSpace(l) + "\n"
	}
	cfg, err := config.Parse("tend.yaml", []byte(doc))
	if err != nil {
		t.Fatalf("parse config: %v", err)
	}
	return cfg.Integrations[0]
}

// settings for fake, trusting its certificate; extra keys win.
func settings(t testing.TB, fake *smtpfake.Server, extra string) string {
	t.Helper()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, fake.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	s := extra
	for _, kv := range [][2]string{
		{"host", fake.Host()}, {"port", fmt.Sprint(fake.Port())}, {"username", smtpfake.Username},
		{"password", smtpfake.Password}, {"from", `"tend <tend@example.test>"`},
		{"to", "[ops@example.test, \"Dana <dana@example.test>\"]"}, {"ca_file", ca}, {"helo", "hub-1.test"},
	} {
		if !strings.Contains(extra, kv[0]+":") {
			s += "\n" + kv[0] + ": " + kv[1]
		}
	}
	return s
}

func newMail(t testing.TB, fake *smtpfake.Server, extra string) *smtp.Integration {
	t.Helper()
	in, err := smtp.New(spec(t, settings(t, fake, extra)), integrations.Deps{Hub: "hub-1"})
	if err != nil {
		t.Fatalf("new: %v", err)
	}
	return in
}

func alert(t testing.TB, status string, mod func(*events.Alert)) events.Event {
	t.Helper()
	th := 90.0
	a := events.Alert{Fingerprint: "fp0123456789abcd", Rule: "disque_plein", Status: status,
		Severity: "critical", Summary: "Disque presque plein — /var à 93,5 %", Metric: "host.disk.used_percent",
		Host: "web-1", Value: 93.5, Threshold: &th, Labels: map[string]string{"host": "web-1"},
		StartsAt: start, Links: map[string]string{"dashboard": "http://127.0.0.1:9740/d/disk"}}
	typ := events.TypeAlertFiring
	if status == events.StatusResolved {
		end := start.Add(7 * time.Minute)
		a.EndsAt = &end
		a.Value = 41
		typ = events.TypeAlertResolved
	}
	if mod != nil {
		mod(&a)
	}
	ev, err := events.New(typ, "tend/test", "", a)
	if err != nil {
		t.Fatal(err)
	}
	ev.Time = start
	ev.ID = "ev-" + status
	return ev
}

// parsed is a received mail, decoded.
type parsed struct {
	subject, rawSubject, id, inReplyTo, references string
	text, html                                     string
}

func parse(t *testing.T, m smtpfake.Mail) parsed {
	t.Helper()
	msg, err := m.Message()
	if err != nil {
		t.Fatal(err)
	}
	var p parsed
	p.rawSubject = msg.Header.Get("Subject")
	dec := new(mime.WordDecoder)
	if p.subject, err = dec.DecodeHeader(p.rawSubject); err != nil {
		t.Fatalf("decode subject: %v", err)
	}
	p.id = msg.Header.Get("Message-ID")
	p.inReplyTo = msg.Header.Get("In-Reply-To")
	p.references = msg.Header.Get("References")

	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q (%v), want multipart/alternative", mt, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(part)
		ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			p.text = string(b)
		case "text/html":
			p.html = string(b)
		default:
			t.Fatalf("unexpected part %s", ct)
		}
	}
	return p
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update): %v", err)
	}
	if !bytes.Equal([]byte(got), want) {
		t.Errorf("%s differs from the golden file; got:\n%s", name, got)
	}
}

func TestDeliver_AlertThread(t *testing.T) {
	fake := smtpfake.New()
	defer fake.Close()
	in := newMail(t, fake, "")
	ctx := context.Background()

	evs := []events.Event{
		alert(t, events.StatusFiring, nil),
		alert(t, events.StatusFiring, func(a *events.Alert) { a.Repeat = true }),
		alert(t, events.StatusResolved, nil),
	}
	evs[1].ID = "ev-repeat"
	for _, ev := range evs {
		rc, err := in.Deliver(ctx, ev)
		if err != nil || rc.Status != 250 {
			t.Fatalf("deliver %s: %+v, %v", ev.Type, rc, err)
		}
	}

	box := fake.Mailbox()
	if len(box) != 3 {
		t.Fatalf("mailbox holds %d mails, want 3", len(box))
	}
	root := fmt.Sprintf("<fp0123456789abcd.%d@tend>", start.Unix())
	firing, repeat, resolved := parse(t, box[0]), parse(t, box[1]), parse(t, box[2])

	if !box[0].TLS {
		t.Error("the session was not encrypted")
	}
	if got := strings.Join(box[0].To, ","); got != "ops@example.test,dana@example.test" {
		t.Errorf("recipients = %s", got)
	}
	if firing.subject != "[FIRING] critical: disque_plein on web-1" || firing.id != root || firing.inReplyTo != "" {
		t.Errorf("firing: subject %q id %q in-reply-to %q", firing.subject, firing.id, firing.inReplyTo)
	}
	if repeat.inReplyTo != root || repeat.id == root {
		t.Errorf("repeat: id %q in-reply-to %q, want a new id replying to %s", repeat.id, repeat.inReplyTo, root)
	}
	if resolved.inReplyTo != root || resolved.references != root ||
		resolved.subject != "[RESOLVED] critical: disque_plein on web-1" {
		t.Errorf("resolved: subject %q in-reply-to %q references %q", resolved.subject, resolved.inReplyTo,
			resolved.references)
	}
	if !strings.Contains(firing.text, "Disque presque plein — /var à 93,5 %") ||
		!strings.Contains(firing.html, "<table") {
		t.Errorf("parts lack the summary or the facts table:\n%s\n%s", firing.text, firing.html)
	}
	golden(t, "firing.txt", firing.text)
	golden(t, "firing.html", firing.html)
}

func TestDeliver_EncodedSubject(t *testing.T) {
	fake := smtpfake.New()
	defer fake.Close()
	in := newMail(t, fake, "title_template: '{{.Alert.Summary}}'")

	if _, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil)); err != nil {
		t.Fatal(err)
	}
	p := parse(t, fake.Mailbox()[0])
	if p.subject != "Disque presque plein — /var à 93,5 %" {
		t.Errorf("subject = %q", p.subject)
	}
	if !strings.Contains(p.rawSubject, "=?UTF-8?") {
		t.Errorf("raw subject %q is not RFC 2047 encoded", p.rawSubject)
	}
}

func TestDeliver_ImplicitTLS(t *testing.T) {
	fake := smtpfake.NewTLS()
	defer fake.Close()
	in := newMail(t, fake, "tls: implicit")
	if _, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil)); err != nil {
		t.Fatal(err)
	}
	if box := fake.Mailbox(); len(box) != 1 || !box[0].TLS {
		t.Fatalf("mailbox = %+v", box)
	}
}

func TestDeliver_Failures(t *testing.T) {
	tests := []struct {
		name      string
		extra     string
		fail      *smtpfake.Failure
		permanent bool
		reason    string
	}{
		{name: "rcpt 450", fail: &smtpfake.Failure{Stage: smtpfake.StageRcpt, Code: 450, Message: "mailbox busy"},
			reason: "smtp 450"},
		{name: "mail 421", fail: &smtpfake.Failure{Stage: smtpfake.StageMail, Code: 421, Message: "try later"},
			reason: "smtp 421"},
		{name: "data 451", fail: &smtpfake.Failure{Stage: smtpfake.StageData, Code: 451, Message: "local error"},
			reason: "smtp 451"},
		{name: "rcpt 550", fail: &smtpfake.Failure{Stage: smtpfake.StageRcpt, Code: 550, Message: "no such user"},
			permanent: true, reason: "smtp 550"},
		{name: "data 554", fail: &smtpfake.Failure{Stage: smtpfake.StageData, Code: 554, Message: "rejected"},
			permanent: true, reason: "smtp 554"},
		{name: "bad password", extra: "password: wrong-pass-123", permanent: true, reason: "smtp 535"},
		{name: "untrusted certificate", extra: "ca_file: ''", permanent: true, reason: "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := smtpfake.New()
			defer fake.Close()
			if tt.fail != nil {
				fake.FailNext(1, *tt.fail)
			}
			in := newMail(t, fake, tt.extra)
			_, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
			var e *integrations.Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v, want *integrations.Error", err)
			}
			t.Logf("error: %v", err)
			if e.Permanent != tt.permanent || e.Reason != tt.reason {
				t.Errorf("got permanent=%v reason=%q (%v); want %v %q", e.Permanent, e.Reason, err,
					tt.permanent, tt.reason)
			}
			for _, secret := range []string{smtpfake.Password, "wrong-pass-123"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error text %q holds the password", err.Error())
				}
			}
			if len(fake.Mailbox()) != 0 {
				t.Error("a failed send left a mail")
			}
		})
	}
}

func TestDeliver_RetryAfter4xxDelivers(t *testing.T) {
	fake := smtpfake.New()
	defer fake.Close()
	fake.FailNext(1, smtpfake.Failure{Stage: smtpfake.StageRcpt, Code: 451, Message: "greylisted"})
	in := newMail(t, fake, "")
	ctx := context.Background()

	if _, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil)); err == nil {
		t.Fatal("greylisted send succeeded")
	}
	if _, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil)); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if n := len(fake.Mailbox()); n != 1 {
		t.Fatalf("mailbox holds %d, want 1", n)
	}
}

func TestDeliver_Timeout(t *testing.T) {
	fake := smtpfake.New()
	defer fake.Close()
	fake.Hang()
	in := newMail(t, fake, "timeout: 200ms")

	_, err := in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || e.Permanent || e.Reason != "timeout" {
		t.Fatalf("err = %v, want a retryable timeout", err)
	}
}

func TestDeliver_CanceledMidSession(t *testing.T) {
	fake := smtpfake.New()
	defer fake.Close()
	fake.Hang()
	in := newMail(t, fake, "timeout: 30s")

	ctx, cancel := context.WithCancel(context.Background())
	timer := time.AfterFunc(100*time.Millisecond, cancel)
	defer timer.Stop()
	began := time.Now()
	_, err := in.Deliver(ctx, alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || e.Permanent || e.Reason != "canceled" {
		t.Fatalf("err = %v, want retryable canceled", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Fatalf("cancel took %s to end the session", d)
	}
}

func TestDeliver_StartTLSRequiredWithoutIt(t *testing.T) {
	// A listener that greets and offers no STARTTLS.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		buf := make([]byte, 512)
		_, _ = io.WriteString(c, "220 plain ESMTP\r\n")
		for {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			switch cmd := strings.ToUpper(string(buf[:n])); {
			case strings.HasPrefix(cmd, "EHLO"):
				_, _ = io.WriteString(c, "250-plain\r\n250 8BITMIME\r\n")
			case strings.HasPrefix(cmd, "QUIT"):
				_, _ = io.WriteString(c, "221 bye\r\n")
				return
			default:
				_, _ = io.WriteString(c, "502 no\r\n")
			}
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	s := spec(t, fmt.Sprintf("host: 127.0.0.1\nport: %d\nfrom: a@example.test\nto: b@example.test", port))
	in, err := smtp.New(s, integrations.Deps{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Deliver(context.Background(), alert(t, events.StatusFiring, nil))
	var e *integrations.Error
	if !errors.As(err, &e) || !e.Permanent {
		t.Fatalf("err = %v, want permanent: starttls is required", err)
	}
}

func TestThreadIDs_Run(t *testing.T) {
	tests := []struct{ status, id, parent string }{
		{"requested", "run.r-9@tend", ""},
		{"completed", "run.r-9.completed@tend", "run.r-9@tend"},
	}
	for _, tt := range tests {
		ev, _ := events.New(events.TypePrefix+"optimization."+tt.status, "t", "", events.Run{ID: "r-9",
			Status: tt.status})
		id, parent := smtp.ThreadIDs(renderOf(ev))
		if id != tt.id || parent != tt.parent {
			t.Errorf("%s: got %s, %s", tt.status, id, parent)
		}
	}
}

func TestNew_ConfigErrors(t *testing.T) {
	tests := []struct{ name, settings, want string }{
		{"no host", "from: a@example.test\nto: b@example.test", "smtp needs host"},
		{"no to", "host: 127.0.0.1\nfrom: a@example.test", "at least one recipient"},
		{"bad from", "host: 127.0.0.1\nfrom: nobody\nto: b@example.test", "not an address"},
		{"bad starttls", "host: h\nfrom: a@example.test\nto: b@example.test\nstarttls: maybe", "unknown starttls"},
		{"bad tls", "host: h\nfrom: a@example.test\nto: b@example.test\ntls: sometimes", "unknown tls"},
		{"password alone", "host: h\nfrom: a@example.test\nto: b@example.test\npassword: hunter2-secret",
			"together"},
		{"missing ca", "host: h\nfrom: a@example.test\nto: b@example.test\nca_file: /nonexistent/ca.pem",
			"read ca_file"},
		{"bad html template", "host: h\nfrom: a@example.test\nto: b@example.test\n" +
			"html_template: '{{.Nope}}'", "tend.yaml:7: integrations[0].html_template"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := integrations.New(spec(t, tt.settings), integrations.Deps{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "hunter2-secret") {
				t.Errorf("error text holds the password: %v", err)
			}
		})
	}
}

func renderOf(ev events.Event) render.View { return render.Of(ev) }

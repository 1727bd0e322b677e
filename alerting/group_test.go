package alerting

import (
	"fmt"
	"testing"
	"time"

	"github.com/tend-dev/tend/events"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

func after(d time.Duration) time.Time { return t0.Add(d) }

func alert(fp, status string, starts time.Time) events.Alert {
	return events.Alert{Fingerprint: fp, Rule: "disk_full", Status: status, Severity: "warning",
		Host: "db1", Labels: map[string]string{"host": "db1", "mount": fp}, StartsAt: starts}
}

func noMute(*Member, time.Time) []Reason { return nil }

// groupRun drives one group through observations and flushes.
type groupRun struct {
	t *testing.T
	p Policy
	g *Group
}

func newRun(t *testing.T, p Policy) *groupRun {
	return &groupRun{t: t, p: p}
}

func (r *groupRun) observe(a events.Alert, at time.Time, mute MuteFunc) *Notification {
	r.t.Helper()
	if r.g == nil {
		key, labels := r.p.GroupOf(0, a)
		r.g = NewGroup(0, key, labels, r.p.perAlert(), at)
	}
	r.g.Observe(a, fmt.Sprintf("%s-%s-%d", a.Fingerprint, a.Status, a.StartsAt.UnixNano()), false, time.Time{}, at)
	n, _ := r.g.Plan(r.p, at, mute)
	return n
}

func (r *groupRun) flush(at time.Time, mute MuteFunc) *Notification {
	n, _ := r.g.Plan(r.p, at, mute)
	return n
}

func TestGroup_PerAlertSendsEachChangeAtOnce(t *testing.T) {
	r := newRun(t, Policy{})
	n := r.observe(alert("a", "firing", t0), t0, noMute)
	if n == nil || n.ID != "a-firing-"+fmt.Sprint(t0.UnixNano()) || len(n.Alert.Alerts) != 0 {
		t.Fatalf("firing: %+v", n)
	}
	if !r.g.NextFlush.IsZero() {
		t.Fatalf("no repeat configured, yet next flush at %s", r.g.NextFlush)
	}
	n = r.observe(alert("a", "resolved", t0), after(time.Minute), noMute)
	if n == nil || n.Alert.Status != "resolved" || n.ID != "a-resolved-"+fmt.Sprint(t0.UnixNano()) {
		t.Fatalf("resolved: %+v", n)
	}
	if len(r.g.Members) != 0 {
		t.Fatalf("resolved member kept: %+v", r.g.Members)
	}
}

func TestGroup_WaitGathersThenOneNotification(t *testing.T) {
	p := Policy{GroupBy: []string{"host"}, Wait: 2 * time.Second, Interval: 10 * time.Second}
	r := newRun(t, p)
	for i, fp := range []string{"a", "b", "c"} {
		at := after(time.Duration(i) * 500 * time.Millisecond)
		if n := r.observe(alert(fp, "firing", at), at, noMute); n != nil {
			t.Fatalf("sent during group_wait: %+v", n)
		}
	}
	if want := after(2 * time.Second); !r.g.NextFlush.Equal(want) {
		t.Fatalf("next flush %s, want %s", r.g.NextFlush, want)
	}
	n := r.flush(after(2*time.Second), noMute)
	if n == nil || len(n.Alert.Alerts) != 3 || n.Alert.Status != "firing" || n.Alert.Labels["host"] != "db1" {
		t.Fatalf("want one notification of 3: %+v", n)
	}
	if n.Alert.Fingerprint != r.g.Fingerprint || n.Alert.Fingerprint == "a" {
		t.Fatalf("group fingerprint %q", n.Alert.Fingerprint)
	}

	// A resolution waits for group_interval, then tells the group again.
	if n := r.observe(alert("b", "resolved", after(500*time.Millisecond)), after(3*time.Second), noMute); n != nil {
		t.Fatalf("sent before group_interval: %+v", n)
	}
	n = r.flush(after(12*time.Second), noMute)
	if n == nil || len(n.Alert.Alerts) != 3 || n.Alert.Status != "firing" {
		t.Fatalf("want 2 firing + 1 resolved: %+v", n)
	}
	if len(r.g.Members) != 2 {
		t.Fatalf("resolved member kept after it was told: %d members", len(r.g.Members))
	}
}

func TestGroup_RepeatWhileFiring(t *testing.T) {
	r := newRun(t, Policy{Repeat: 2 * time.Second})
	first := r.observe(alert("a", "firing", t0), t0, noMute)
	if first == nil || first.Alert.Repeat {
		t.Fatalf("first: %+v", first)
	}
	if n := r.flush(after(time.Second), noMute); n != nil {
		t.Fatalf("repeat too early: %+v", n)
	}
	n := r.flush(after(2*time.Second), noMute)
	if n == nil || !n.Alert.Repeat || n.ID == first.ID {
		t.Fatalf("repeat: %+v", n)
	}
	n2 := r.flush(after(4*time.Second), noMute)
	if n2 == nil || n2.ID == n.ID {
		t.Fatalf("second repeat must have its own id: %+v vs %+v", n2, n)
	}
	if n := r.observe(alert("a", "resolved", t0), after(5*time.Second), noMute); n == nil || n.Alert.Repeat {
		t.Fatalf("resolution: %+v", n)
	}
	if !r.g.NextFlush.IsZero() || len(r.g.Members) != 0 {
		t.Fatalf("nothing left to repeat, yet %+v", r.g)
	}
}

func TestGroup_MutedAlertSentWhenMuteEnds(t *testing.T) {
	until := after(time.Minute)
	silenced := func(_ *Member, at time.Time) []Reason {
		if at.Before(until) {
			return []Reason{{Kind: MutedBySilence, ID: "s1", Until: until}}
		}
		return nil
	}
	r := newRun(t, Policy{})
	r.g = nil
	key, labels := r.p.GroupOf(0, alert("a", "firing", t0))
	r.g = NewGroup(0, key, labels, true, t0)
	r.g.Observe(alert("a", "firing", t0), "ev1", false, time.Time{}, t0)
	n, mutes := r.g.Plan(r.p, t0, silenced)
	if n != nil {
		t.Fatalf("silenced alert sent: %+v", n)
	}
	if len(mutes["a"]) != 1 || mutes["a"][0].ID != "s1" {
		t.Fatalf("mute reasons: %+v", mutes)
	}
	if !r.g.NextFlush.Equal(until) {
		t.Fatalf("next flush %s, want the silence's end %s", r.g.NextFlush, until)
	}
	n, mutes = r.g.Plan(r.p, until, silenced)
	if n == nil || n.ID != "ev1" || len(mutes["a"]) != 0 {
		t.Fatalf("after the silence: %+v, %+v", n, mutes)
	}
}

func TestGroup_ResolvedNeverToldIsDropped(t *testing.T) {
	muted := func(*Member, time.Time) []Reason { return []Reason{{Kind: MutedByWindow, ID: "w"}} }
	r := newRun(t, Policy{})
	if n := r.observe(alert("a", "firing", t0), t0, muted); n != nil {
		t.Fatalf("muted firing sent: %+v", n)
	}
	if n := r.observe(alert("a", "resolved", t0), after(time.Second), noMute); n != nil {
		t.Fatalf("resolution of an alert never sent was sent: %+v", n)
	}
	if len(r.g.Members) != 0 {
		t.Fatal("member kept")
	}
}

func TestGroup_ResolutionGoesThroughSilenceButNotFlapping(t *testing.T) {
	r := newRun(t, Policy{})
	if n := r.observe(alert("a", "firing", t0), t0, noMute); n == nil {
		t.Fatal("firing not sent")
	}
	silenced := func(*Member, time.Time) []Reason { return []Reason{{Kind: MutedBySilence, ID: "s"}} }
	if n := r.observe(alert("a", "resolved", t0), after(time.Second), silenced); n == nil {
		t.Fatal("resolution of a sent alert held by a silence")
	}

	r = newRun(t, Policy{})
	r.observe(alert("a", "firing", t0), t0, noMute)
	settle := after(time.Minute)
	flapping := func(m *Member, at time.Time) []Reason {
		if at.Before(settle) {
			return []Reason{{Kind: MutedByFlapping, Until: settle}}
		}
		return nil
	}
	if n := r.observe(alert("a", "resolved", t0), after(time.Second), flapping); n != nil {
		t.Fatalf("flapping resolution sent: %+v", n)
	}
	if n := r.observe(alert("a", "firing", after(2*time.Second)), after(2*time.Second), flapping); n != nil {
		t.Fatalf("flapping firing sent: %+v", n)
	}
	n := r.flush(settle, flapping)
	if n == nil || n.Alert.Status != "firing" || !n.Alert.StartsAt.Equal(after(2*time.Second)) {
		t.Fatalf("after settling want one firing of the new episode: %+v", n)
	}
	if n := r.flush(after(2*time.Minute), flapping); n != nil {
		t.Fatalf("sent twice: %+v", n)
	}
}

package alerting

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Policy is how one route groups and times its notifications.
type Policy struct {
	// GroupBy lists the labels alerts of one group share; none means one
	// group per alert fingerprint.
	GroupBy []string
	// Wait holds a new group's first notification, to gather its alerts.
	Wait time.Duration
	// Interval is the least time between two notifications of one group
	// telling of changes.
	Interval time.Duration
	// Repeat re-sends a group still firing this long after its last
	// notification; 0 never repeats.
	Repeat time.Duration
}

// PolicyOf reads a route's grouping settings.
func PolicyOf(r config.Route) Policy {
	return Policy{GroupBy: r.GroupBy, Wait: r.GroupWait.D(), Interval: r.GroupInterval.D(),
		Repeat: r.RepeatInterval.D()}
}

// perAlert reports whether every alert is its own group.
func (p Policy) perAlert() bool { return len(p.GroupBy) == 0 }

// GroupOf returns the group key of an alert on route, its fingerprint and
// the labels the group shares.
func (p Policy) GroupOf(route int, a events.Alert) (key string, labels map[string]string) {
	if p.perAlert() {
		return a.Fingerprint, a.Labels
	}
	all := LabelSet(a)
	labels = make(map[string]string, len(p.GroupBy))
	for _, l := range p.GroupBy {
		labels[l] = all[l]
	}
	return events.Fingerprint(fmt.Sprintf("route-%d", route), labels), labels
}

// Reason kinds.
const (
	MutedBySilence  = "silence"
	MutedByWindow   = "window"
	MutedByInhibit  = "inhibited"
	MutedByFlapping = "flapping"
)

// Reason explains why an alert was not sent on a route: the silence id,
// the window name, or the fingerprint of the inhibiting alert, and until
// when the mute lasts if that is known.
type Reason struct {
	Kind   string    `json:"kind"`
	ID     string    `json:"id,omitempty"`
	Detail string    `json:"detail,omitempty"`
	Until  time.Time `json:"until,omitzero"`
}

// String reads as "silence 3f2a… until 14:05".
func (r Reason) String() string {
	s := r.Kind
	if r.ID != "" {
		s += " " + r.ID
	}
	if r.Detail != "" {
		s += " (" + r.Detail + ")"
	}
	if !r.Until.IsZero() {
		s += " until " + r.Until.UTC().Format(time.RFC3339)
	}
	return s
}

// MuteFunc says why alert a is muted at t, if it is.
type MuteFunc func(m *Member, t time.Time) []Reason

// Member is one alert in a group.
type Member struct {
	Alert   events.Alert `json:"alert"`
	EventID string       `json:"event_id"`
	// Sent is the status last notified ("" for never) and SentStarts the
	// start of the episode it told of.
	Sent       string    `json:"sent,omitempty"`
	SentStarts time.Time `json:"sent_starts,omitzero"`
	// Flapping holds the alert's notifications until SettleAt.
	Flapping bool      `json:"flapping,omitempty"`
	SettleAt time.Time `json:"settle_at,omitzero"`
}

// pending reports whether the member has news the route has not told.
func (m *Member) pending() bool {
	if m.Alert.Status == events.StatusResolved {
		return m.Sent == events.StatusFiring
	}
	return m.Sent != events.StatusFiring || !m.SentStarts.Equal(m.Alert.StartsAt)
}

// Group is the state of one group of one route, kept in tend_state under
// group.<route>.<key>. It carries its own timers, so any hub, or a
// restarted one, can send what is due.
type Group struct {
	Route       int               `json:"route"`
	Key         string            `json:"key"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels,omitempty"`
	Created     time.Time         `json:"created"`
	// Seq counts the notifications sent.
	Seq          int                `json:"seq"`
	FirstPending time.Time          `json:"first_pending,omitzero"`
	LastSent     time.Time          `json:"last_sent,omitzero"`
	NextFlush    time.Time          `json:"next_flush,omitzero"`
	Members      map[string]*Member `json:"members"`
}

// NewGroup starts an empty group.
func NewGroup(route int, key string, labels map[string]string, perAlert bool, now time.Time) *Group {
	g := &Group{Route: route, Key: key, Fingerprint: key, Labels: labels, Created: now.UTC(),
		Members: map[string]*Member{}}
	if !perAlert {
		g.Fingerprint = "g" + key
	}
	return g
}

// Observe records the latest event of an alert in the group.
func (g *Group) Observe(a events.Alert, eventID string, flapping bool, settleAt, now time.Time) {
	m := g.Members[a.Fingerprint]
	if m == nil {
		m = &Member{}
		g.Members[a.Fingerprint] = m
	}
	m.Alert, m.EventID = a, eventID
	m.Flapping, m.SettleAt = flapping, settleAt
	if m.pending() && g.FirstPending.IsZero() {
		g.FirstPending = now.UTC()
	}
}

// Notification is what a flush decided to send.
type Notification struct {
	ID    string
	Alert events.Alert
}

// Plan decides, at now, what the group sends, and updates the group: who
// was told what, when it next needs a look (NextFlush), and which members
// are gone. It returns the notification to publish, if any, and the mute
// reasons of each member it held back; members sent or dropped have none.
func (g *Group) Plan(p Policy, now time.Time, mute MuteFunc) (*Notification, map[string][]Reason) {
	now = now.UTC()
	mutes := make(map[string][]Reason, len(g.Members))
	var included, pending []*Member
	var wake time.Time
	firing := false
	soonest := func(t time.Time) {
		if !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}

	for _, fp := range sortedKeys(g.Members) {
		m := g.Members[fp]
		reasons := mute(m, now)
		held := func(rs []Reason) {
			mutes[fp] = rs
			for _, r := range rs {
				soonest(r.Until)
			}
		}
		switch {
		case m.Alert.Status == events.StatusResolved && m.Sent != events.StatusFiring:
			// Never told it fired, so there is nothing to take back.
			delete(g.Members, fp)
		case m.Alert.Status == events.StatusResolved:
			// A resolution goes out even through a silence, so tickets
			// close; only flapping holds it, until the alert settles.
			if hasKind(reasons, MutedByFlapping) {
				held(onlyKind(reasons, MutedByFlapping))
				continue
			}
			included, pending = append(included, m), append(pending, m)
		case len(reasons) > 0:
			held(reasons)
		default:
			included = append(included, m)
			firing = true
			if m.pending() {
				pending = append(pending, m)
			}
		}
	}

	var n *Notification
	repeat := false
	switch {
	case len(pending) > 0:
		if g.FirstPending.IsZero() {
			g.FirstPending = now
		}
		allowed := g.LastSent.Add(p.Interval)
		if g.LastSent.IsZero() {
			allowed = g.FirstPending.Add(p.Wait)
		}
		if now.Before(allowed) {
			soonest(allowed)
			break
		}
		n = g.notification(p, now, included, false)
	case p.Repeat > 0 && firing && !g.LastSent.IsZero():
		g.FirstPending = time.Time{}
		due := g.LastSent.Add(p.Repeat)
		if now.Before(due) {
			soonest(due)
			break
		}
		repeat = true
		n = g.notification(p, now, included, true)
	default:
		g.FirstPending = time.Time{}
	}

	if n != nil {
		g.Seq++
		g.LastSent, g.FirstPending = now, time.Time{}
		n.ID = g.eventID(p, included, repeat)
		for _, m := range included {
			m.Sent, m.SentStarts = m.Alert.Status, m.Alert.StartsAt
			if m.Alert.Status == events.StatusResolved {
				delete(g.Members, m.Alert.Fingerprint)
			}
		}
		if p.Repeat > 0 && firing {
			soonest(now.Add(p.Repeat))
		}
	}
	g.NextFlush = wake
	return n, mutes
}

func onlyKind(rs []Reason, kind string) []Reason {
	var out []Reason
	for _, r := range rs {
		if r.Kind == kind {
			out = append(out, r)
		}
	}
	return out
}

func hasKind(rs []Reason, kind string) bool {
	for _, r := range rs {
		if r.Kind == kind {
			return true
		}
	}
	return false
}

// eventID names a notification so that a hub sending it twice (a retried
// flush, a crash before the group was saved) makes the same id, and
// JetStream keeps one. An alert that is its own group keeps the id of the
// alert event itself, so a receiver sees the id the rule engine made.
func (g *Group) eventID(p Policy, included []*Member, repeat bool) string {
	if p.perAlert() && len(included) == 1 {
		if repeat {
			return fmt.Sprintf("%s-r%d", included[0].EventID, g.Seq)
		}
		return included[0].EventID
	}
	return fmt.Sprintf("%s-%d-%d", g.Fingerprint, g.Created.UnixNano(), g.Seq)
}

var severityRank = map[string]int{"info": 1, "warning": 2, "error": 3, "critical": 4}

// notification builds what the group tells: the alert itself when it is
// its own group, else a summary holding every member it names.
func (g *Group) notification(p Policy, now time.Time, included []*Member, repeat bool) *Notification {
	if p.perAlert() && len(included) == 1 {
		a := included[0].Alert
		a.Repeat = repeat
		return &Notification{Alert: a}
	}
	a := events.Alert{
		Fingerprint: g.Fingerprint, Kind: "group", Status: events.StatusResolved,
		Labels: g.Labels, StartsAt: g.Created, Repeat: repeat,
	}
	rules, hosts := map[string]bool{}, map[string]bool{}
	nFiring := 0
	for _, m := range included {
		ma := m.Alert
		rules[ma.Rule], hosts[ma.Host] = true, true
		if ma.Status == events.StatusFiring {
			nFiring++
			a.Status = events.StatusFiring
			if severityRank[ma.Severity] >= severityRank[a.Severity] {
				a.Severity = ma.Severity
			}
		}
		a.Alerts = append(a.Alerts, ma)
	}
	if a.Severity == "" && len(included) > 0 {
		a.Severity = included[0].Alert.Severity
	}
	if len(rules) == 1 {
		a.Rule = included[0].Alert.Rule
	} else {
		a.Rule = strings.Join(sortedKeys(rules), ", ")
	}
	if len(hosts) == 1 {
		a.Host = included[0].Alert.Host
	}
	if a.Status == events.StatusResolved {
		end := now
		a.EndsAt = &end
	}
	a.Summary = fmt.Sprintf("%d firing, %d resolved", nFiring, len(included)-nFiring)
	if len(g.Labels) > 0 {
		parts := make([]string, 0, len(g.Labels))
		for _, k := range sortedKeys(g.Labels) {
			parts = append(parts, k+"="+g.Labels[k])
		}
		a.Summary += " for " + strings.Join(parts, ", ")
	}
	sort.Slice(a.Alerts, func(i, j int) bool { return a.Alerts[i].Fingerprint < a.Alerts[j].Fingerprint })
	return &Notification{Alert: a}
}

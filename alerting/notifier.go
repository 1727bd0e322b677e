package alerting

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/router"
)

// ConsumerName is the durable consumer every hub's notifier shares.
const ConsumerName = "notify"

// giveUpAfter bounds the retries of one alert event that cannot be handled.
const giveUpAfter = 2 * time.Minute

// Notifier is the alerting stage: it consumes alert events, mutes and
// groups them per route, and publishes each route's notifications. Hubs
// share its consumer; it is safe to run one per hub.
type Notifier struct {
	b        *bus.Bus
	kv       jetstream.KeyValue
	hub      string
	set      *Settings
	routes   []config.Route
	takes    []bool
	policies []Policy
	windows  [][]*Window
	log      *slog.Logger
	now      func() time.Time
	tick     time.Duration

	cons    jetstream.Consumer
	recheck chan struct{}

	mu       sync.Mutex
	silences map[string]*Silence
	firing   map[string]map[string]string // key token of a fingerprint → label set
	timers   map[string]time.Time         // group key → next flush
	mutes    map[string]string            // mute key → stored reasons
}

// New builds a notifier for cfg's routes with settings s (see [Load]). It
// does not touch the bus until [Notifier.Open].
func New(cfg *config.Config, s *Settings, b *bus.Bus, log *slog.Logger) *Notifier {
	n := &Notifier{
		b: b, kv: b.State, hub: cfg.Hub, set: s, routes: cfg.Routes,
		windows: s.routeWindows(cfg.Routes), log: log.With("part", "alerting"),
		now: time.Now, tick: 100 * time.Millisecond, recheck: make(chan struct{}, 1),
		silences: map[string]*Silence{}, firing: map[string]map[string]string{},
		timers: map[string]time.Time{}, mutes: map[string]string{},
	}
	for _, r := range cfg.Routes {
		n.takes = append(n.takes, router.TakesAlerts(r.Match))
		n.policies = append(n.policies, PolicyOf(r))
	}
	return n
}

// Open creates the shared consumer, so alert events stored after it
// returns are handled, and tells the router to deliver notifications.
func (n *Notifier) Open(ctx context.Context) error {
	cons, err := n.b.JS.CreateOrUpdateConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable:       ConsumerName,
		Description:   "tend alerting: silences, windows, inhibition, flapping, grouping",
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		// Short, so an event a killed hub held is soon offered again: no
		// other alert event moves until it is. After a crash of an embedded
		// bus that can be the last event, acknowledged but not yet stored as
		// such. A slow handling says it is still working (see consume);
		// handling an event twice is harmless.
		AckWait:        time.Second,
		MaxDeliver:     -1,
		FilterSubjects: []string{events.SubjectAlerts + ".>"},
		// One alert event at a time across all hubs: a resolution is never
		// handled before its firing, whichever hub takes either.
		MaxAckPending: 1,
	})
	if err != nil {
		return fmt.Errorf("create alerting consumer: %w", err)
	}
	n.cons = cons
	router.DeliverNotifications(n.b)
	return nil
}

// Run watches silences and groups, sends what falls due and handles alert
// events until ctx ends. It calls [Notifier.Open] if that was not done.
func (n *Notifier) Run(ctx context.Context) error {
	if n.cons == nil {
		if err := n.Open(ctx); err != nil {
			return err
		}
	}
	w, err := n.kv.WatchFiltered(ctx, []string{"silence.>", "firing.>", "group.>", "mute.>"})
	if err != nil {
		return fmt.Errorf("watch alerting state: %w", err)
	}
	defer func() { _ = w.Stop() }()

	// Know every silence and group before the first event is judged.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		n.apply(e)
	}

	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w.Updates():
				if !ok {
					return
				}
				if e != nil {
					n.apply(e)
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		n.timerLoop(ctx)
	}()
	n.log.Info("alerting started", "routes", len(n.routes), "windows", len(n.set.Windows),
		"inhibit_rules", len(n.set.Inhibit))
	err = n.consume(ctx)
	wg.Wait()
	return err
}

// apply keeps the local view of the watched keys current.
func (n *Notifier) apply(e jetstream.KeyValueEntry) {
	key := e.Key()
	gone := e.Operation() != jetstream.KeyValuePut
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case strings.HasPrefix(key, "silence."):
		id := strings.TrimPrefix(key, "silence.")
		if gone {
			delete(n.silences, id)
		} else if s, err := decodeSilence(e.Value()); err == nil {
			n.silences[id] = &s
		}
		n.poke()
	case strings.HasPrefix(key, "firing."):
		fp := strings.TrimPrefix(key, "firing.")
		var labels map[string]string
		if gone || json.Unmarshal(e.Value(), &labels) != nil {
			delete(n.firing, fp)
		} else {
			n.firing[fp] = labels
		}
	case strings.HasPrefix(key, "group."):
		var g struct {
			NextFlush time.Time `json:"next_flush"`
		}
		if gone || json.Unmarshal(e.Value(), &g) != nil {
			delete(n.timers, key)
		} else {
			n.timers[key] = g.NextFlush
		}
	case strings.HasPrefix(key, "mute."):
		if gone {
			delete(n.mutes, key)
		} else {
			n.mutes[key] = string(e.Value())
		}
	}
}

// poke asks the timer loop to look at every group: mutes changed.
func (n *Notifier) poke() {
	select {
	case n.recheck <- struct{}{}:
	default:
	}
}

// timerLoop sends what falls due: group waits, intervals and repeats, and
// the ends of silences, windows and flapping, which the groups record as
// their next flush.
func (n *Notifier) timerLoop(ctx context.Context) {
	t := time.NewTicker(n.tick)
	defer t.Stop()
	for {
		all := false
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-n.recheck:
			all = true
		}
		now := n.now()
		var due []string
		n.mu.Lock()
		for key, at := range n.timers {
			if all || (!at.IsZero() && !now.Before(at)) {
				due = append(due, key)
			}
		}
		n.mu.Unlock()
		for _, key := range due {
			route, gkey, ok := parseGroupKey(key)
			if !ok || route >= len(n.routes) {
				continue
			}
			if err := n.flush(ctx, route, gkey, nil, all); err != nil && ctx.Err() == nil {
				n.log.Warn("flush group", "route", route, "group", gkey, "error", err)
			}
		}
	}
}

func groupKey(route int, key string) string {
	return "group." + strconv.Itoa(route) + "." + keyToken(key)
}

// keyToken makes s safe as one token of a KV key. A fingerprint that is
// not already safe is hashed rather than mangled, so two never share a key.
func keyToken(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return "h" + hex.EncodeToString(sum[:8])
}

func parseGroupKey(k string) (int, string, bool) {
	rest, ok := strings.CutPrefix(k, "group.")
	if !ok {
		return 0, "", false
	}
	idx, key, ok := strings.Cut(rest, ".")
	route, err := strconv.Atoi(idx)
	return route, key, ok && err == nil
}

// consume handles alert events one at a time until ctx ends.
func (n *Notifier) consume(ctx context.Context) error {
	it, err := n.cons.Messages(jetstream.PullMaxMessages(16))
	if err != nil {
		return fmt.Errorf("consume alerts: %w", err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			n.log.Warn("next alert", "error", err)
			continue
		}
		if !n.handleUntilDone(ctx, msg) {
			return nil
		}
	}
}

// handleUntilDone keeps trying one event rather than skip it, since later
// events of the same alert must not overtake it, telling JetStream it is
// still at work. It reports false when ctx ended first.
func (n *Notifier) handleUntilDone(ctx context.Context, msg jetstream.Msg) bool {
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				_ = msg.InProgress()
			}
		}
	}()
	start := time.Now()
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		err := n.handle(ctx, msg)
		if err == nil {
			_ = msg.Ack()
			return true
		}
		if ctx.Err() != nil {
			_ = msg.Nak()
			return false
		}
		if time.Since(start) > giveUpAfter {
			// Every later alert waits behind this one: past a bus outage's
			// length, one lost alert event costs less than none delivered.
			n.log.Error("drop alert event after retrying", "subject", msg.Subject(), "error", err)
			_ = msg.Term()
			return true
		}
		n.log.Warn("handle alert", "subject", msg.Subject(), "delay", delay, "error", err)
		select {
		case <-ctx.Done():
			_ = msg.Nak()
			return false
		case <-time.After(delay):
		}
	}
}

// observation is an alert event on its way into a group.
type observation struct {
	alert    events.Alert
	eventID  string
	at       time.Time // the event's time
	flapping bool
	settleAt time.Time
	labels   map[string]string
}

func (n *Notifier) handle(ctx context.Context, msg jetstream.Msg) error {
	ev, err := events.Unmarshal(msg.Data())
	if err != nil || !ev.IsAlert() {
		return nil
	}
	var a events.Alert
	if err := ev.Decode(&a); err != nil || a.Fingerprint == "" {
		return nil
	}
	at := ev.Time
	if at.IsZero() {
		at = n.now()
	}

	obs := observation{alert: a, eventID: ev.ID, at: at}
	if n.set.Flapping.Enabled() {
		if obs.flapping, obs.settleAt, err = n.observeFlap(ctx, a, at); err != nil {
			return err
		}
	}
	source := false
	if len(n.set.Inhibit) > 0 {
		if source, err = n.track(ctx, a); err != nil {
			return err
		}
		if a.Status == events.StatusFiring && isTarget(n.set.Inhibit, LabelSet(a)) {
			// Another hub may have handled the source a moment ago; its
			// write may not have reached this hub's watch yet.
			if err := n.refreshFiring(ctx); err != nil {
				return err
			}
		}
	}

	for i, r := range n.routes {
		// The route's type is the router's to check on the notification.
		member := config.Match{Severity: r.Match.Severity, Labels: r.Match.Labels}
		if !n.takes[i] || !router.Matches(member, ev, &a) {
			continue
		}
		key, labels := n.policies[i].GroupOf(i, a)
		o := obs
		o.labels = labels
		if err := n.flush(ctx, i, key, &o, false); err != nil {
			return err
		}
	}
	if source {
		n.poke()
	}
	return nil
}

// observeFlap records a state change in flap.<fp> and reports whether the
// alert flaps, and when it settles if it keeps its state.
func (n *Notifier) observeFlap(ctx context.Context, a events.Alert, at time.Time) (bool, time.Time, error) {
	kv := bus.KV{Bucket: n.kv}
	key := "flap." + keyToken(a.Fingerprint)
	var st FlapState
	b, err := kv.Get(ctx, key)
	switch {
	case err == nil:
		_ = json.Unmarshal(b, &st)
	case !errors.Is(err, bus.ErrNotFound):
		return false, time.Time{}, err
	}
	flapping := st.Observe(n.set.Flapping, a.Status, at)
	if b, err = json.Marshal(st); err == nil {
		err = kv.Put(ctx, key, b)
	}
	if flapping {
		n.log.Debug("alert flapping", "fingerprint", a.Fingerprint, "changes", len(st.Changes))
	}
	return flapping, st.SettleAt(n.set.Flapping), err
}

// track keeps firing.<fp> for alerts that fire, so every hub can tell
// which alerts inhibit others; it reports whether a may inhibit any.
func (n *Notifier) track(ctx context.Context, a events.Alert) (bool, error) {
	kv := bus.KV{Bucket: n.kv}
	tok := keyToken(a.Fingerprint)
	key := "firing." + tok
	labels := LabelSet(a)
	n.mu.Lock()
	if a.Status == events.StatusFiring {
		n.firing[tok] = labels
	} else {
		delete(n.firing, tok)
	}
	n.mu.Unlock()
	if a.Status != events.StatusFiring {
		return isSource(n.set.Inhibit, labels), kv.Delete(ctx, key)
	}
	b, _ := json.Marshal(labels)
	return isSource(n.set.Inhibit, labels), kv.Put(ctx, key, b)
}

// refreshFiring reads every firing.<fp> key, replacing the watched view.
func (n *Notifier) refreshFiring(ctx context.Context) error {
	kv := bus.KV{Bucket: n.kv}
	keys, err := kv.Keys(ctx, "firing.>")
	if err != nil && !strings.Contains(err.Error(), "no keys") {
		return err
	}
	fresh := make(map[string]map[string]string, len(keys))
	for _, k := range keys {
		b, err := kv.Get(ctx, k)
		if errors.Is(err, bus.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		var labels map[string]string
		if json.Unmarshal(b, &labels) == nil {
			fresh[strings.TrimPrefix(k, "firing.")] = labels
		}
	}
	n.mu.Lock()
	n.firing = fresh
	n.mu.Unlock()
	return nil
}

// flush brings one group up to date: it adds obs if given, decides what to
// send, publishes it, and saves the group at the revision it read. When
// another hub saved first, it reads again and starts over; the
// notification ids repeat, so JetStream keeps one copy of a notification
// both hubs published. Without obs and force, a group not yet due is left
// alone.
func (n *Notifier) flush(ctx context.Context, route int, key string, obs *observation, force bool) error {
	kvKey := groupKey(route, key)
	p := n.policies[route]
	var lastErr error
	for range 8 {
		now := n.now()
		var g *Group
		var rev uint64
		var before []byte
		e, err := n.kv.Get(ctx, kvKey)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			if obs == nil {
				return nil
			}
			// Born at the event's time, not the clock's: a hub handling the
			// event again after a crash names the group's notifications alike.
			g = NewGroup(route, key, obs.labels, p.perAlert(), obs.at)
		case err != nil:
			return fmt.Errorf("read group %s: %w", kvKey, err)
		default:
			rev, before = e.Revision(), e.Value()
			g = &Group{}
			if err := json.Unmarshal(before, g); err != nil {
				n.log.Warn("drop unreadable group", "group", kvKey, "error", err)
				return n.kv.Delete(ctx, kvKey)
			}
			if g.Members == nil {
				g.Members = map[string]*Member{}
			}
		}
		if obs != nil {
			g.Observe(obs.alert, obs.eventID, obs.flapping, obs.settleAt, now)
		} else if !force && (g.NextFlush.IsZero() || now.Before(g.NextFlush)) {
			return nil
		}
		fps := sortedKeys(g.Members)
		note, mutes := g.Plan(p, now, n.muteFunc(route))
		if note != nil {
			if err := n.publish(ctx, g, note, now); err != nil {
				return err
			}
		}
		if lastErr = n.save(ctx, kvKey, g, rev, before); lastErr != nil {
			continue
		}
		n.recordMutes(ctx, route, fps, mutes, now)
		return nil
	}
	return fmt.Errorf("save group %s: %w", kvKey, lastErr)
}

// save stores g at revision rev (0: create), deletes it when empty, and
// skips the write when nothing changed.
func (n *Notifier) save(ctx context.Context, kvKey string, g *Group, rev uint64, before []byte) error {
	if len(g.Members) == 0 {
		if rev == 0 {
			return nil
		}
		return n.kv.Delete(ctx, kvKey, jetstream.LastRevision(rev))
	}
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if bytes.Equal(b, before) {
		return nil
	}
	if rev == 0 {
		_, err = n.kv.Create(ctx, kvKey, b)
	} else {
		_, err = n.kv.Update(ctx, kvKey, b, rev)
	}
	if err == nil {
		n.mu.Lock()
		n.timers[kvKey] = g.NextFlush
		n.mu.Unlock()
	}
	return err
}

// publish stores a notification on tend.notify.<route>.<group>.
func (n *Notifier) publish(ctx context.Context, g *Group, note *Notification, now time.Time) error {
	typ := events.TypeAlertFiring
	if note.Alert.Status == events.StatusResolved {
		typ = events.TypeAlertResolved
	}
	data, err := json.Marshal(note.Alert)
	if err != nil {
		return fmt.Errorf("encode notification %s: %w", note.ID, err)
	}
	ev := events.Event{
		SpecVersion: events.SpecVersion, ID: note.ID, Source: "tend://" + n.hub + "/alerting",
		Type: typ, Subject: g.Fingerprint, Time: now.UTC(), DataContentType: "application/json",
		Data: data,
	}
	raw, err := ev.Marshal()
	if err != nil {
		return err
	}
	subject := events.NotifySubject(g.Route, g.Key)
	// The message id names the route too: two routes may send one alert
	// event, each to its own integrations, under the same event id.
	msgID := fmt.Sprintf("notify.%d.%s", g.Route, note.ID)
	if _, err := n.b.JS.Publish(ctx, subject, raw, jetstream.WithMsgID(msgID)); err != nil {
		return fmt.Errorf("publish notification %s to %s: %w", note.ID, subject, err)
	}
	n.log.Debug("notification",
		"route", g.Route,
		"event_id", note.ID,
		"fingerprint", g.Fingerprint,
		"alerts", max(len(note.Alert.Alerts), 1),
		"repeat", note.Alert.Repeat)
	return nil
}

// muteFunc returns the mute decisions of route.
func (n *Notifier) muteFunc(route int) MuteFunc {
	return func(m *Member, t time.Time) []Reason {
		labels := LabelSet(m.Alert)
		var rs []Reason
		n.mu.Lock()
		for _, id := range sortedKeys(n.silences) {
			if s := n.silences[id]; s.Mutes(labels, t) {
				rs = append(rs, Reason{Kind: MutedBySilence, ID: id, Detail: s.Comment, Until: s.EndsAt})
			}
		}
		if len(n.set.Inhibit) > 0 {
			for _, tok := range sortedKeys(n.firing) {
				src := n.firing[tok]
				for i := range n.set.Inhibit {
					if n.set.Inhibit[i].inhibits(src, labels) {
						rs = append(rs, Reason{Kind: MutedByInhibit, ID: src["fingerprint"],
							Detail: src["rule"]})
						break
					}
				}
			}
		}
		n.mu.Unlock()
		for _, w := range n.windows[route] {
			if ok, until := w.Covers(labels, t); ok {
				rs = append(rs, Reason{Kind: MutedByWindow, ID: w.Name, Until: until})
			}
		}
		if m.Flapping && t.Before(m.SettleAt) {
			rs = append(rs, Reason{Kind: MutedByFlapping, Until: m.SettleAt})
		}
		return rs
	}
}

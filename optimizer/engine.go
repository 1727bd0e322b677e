package optimizer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Alert states kept in tend_state.
const (
	statePending  = "pending"
	stateFiring   = "firing"
	stateResolved = "resolved"
)

// AlertState is the persisted state of one rule on one series.
type AlertState struct {
	Fingerprint string             `json:"fingerprint"`
	Rule        string             `json:"rule"`
	Kind        string             `json:"kind,omitempty"`
	Status      string             `json:"status"` // pending, firing, resolved
	Severity    string             `json:"severity"`
	Summary     string             `json:"summary"`
	Metric      string             `json:"metric"`
	Host        string             `json:"host"`
	Labels      map[string]string  `json:"labels"`
	Value       float64            `json:"value"`
	Since       time.Time          `json:"since"` // pending since, or firing since
	UpdatedAt   time.Time          `json:"updated_at"`
	EndedAt     *time.Time         `json:"ended_at,omitempty"`
	Evidence    map[string]float64 `json:"evidence,omitempty"`
}

// stateKey is where an alert's state lives in tend_state.
func stateKey(fp string) string { return "alert." + fp }

// Engine evaluates rules over the metric stream. Every hub runs its own
// engine on its own durable consumer; alert event ids are derived from the
// fingerprint and start time, so two hubs (or a restart replaying samples)
// publish one alert, not two.
type Engine struct {
	b      *bus.Bus
	kv     bus.KV
	hub    string
	rules  []*rule
	byName map[string][]*rule
	latest *Latest
	log    *slog.Logger

	cons jetstream.Consumer

	mu     sync.Mutex
	states map[string]*AlertState

	// evalMu serialises evaluation with the sweep for stale series; seen
	// holds when each alert's series last sent a sample.
	evalMu sync.Mutex
	seen   map[string]time.Time

	// OnAlert, if set, is called after an alert event is stored.
	OnAlert func(ctx context.Context, a events.Alert)
	// OnMetric, if set, sees every sample after the rules did (analysis).
	OnMetric func(ctx context.Context, m events.Metric)
}

// NewEngine compiles the rules; it does not touch the bus until Run.
func NewEngine(b *bus.Bus, hub string, rules []config.Rule, log *slog.Logger) (*Engine, error) {
	threshold := make([]config.Rule, 0, len(rules))
	for _, r := range rules {
		if r.Kind == "" || r.Kind == "threshold" {
			threshold = append(threshold, r)
		}
	}
	compiled, err := compileRules(threshold)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		b: b, kv: bus.KV{Bucket: b.State}, hub: hub, rules: compiled,
		byName: map[string][]*rule{}, latest: NewLatest(), log: log,
		states: map[string]*AlertState{}, seen: map[string]time.Time{},
	}
	for _, r := range compiled {
		e.byName[r.cfg.Metric] = append(e.byName[r.cfg.Metric], r)
	}
	return e, nil
}

// Latest returns the table of latest samples the engine keeps.
func (e *Engine) Latest() *Latest { return e.latest }

// Open loads persisted alert state and creates the engine's consumer, so
// samples stored after it returns are evaluated.
func (e *Engine) Open(ctx context.Context) error {
	if err := e.load(ctx); err != nil {
		return err
	}
	// An ordered consumer keeps its state in memory: a durable one would
	// rewrite its state file for every batch of samples, the largest cost
	// of an idle hub. The position is saved in tend_state instead.
	cfg := jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy}
	if b, err := e.kv.Get(ctx, e.positionKey()); err == nil {
		if seq, err := strconv.ParseUint(string(b), 10, 64); err == nil {
			cfg.DeliverPolicy, cfg.OptStartSeq = jetstream.DeliverByStartSequencePolicy, seq+1
		}
	}
	cons, err := e.b.JS.OrderedConsumer(ctx, bus.StreamMetrics, cfg)
	if err != nil {
		return fmt.Errorf("create rules consumer: %w", err)
	}
	e.cons = cons
	return nil
}

func (e *Engine) positionKey() string { return "engine.position." + events.Token(e.hub) }

// savePosition records the last sample evaluated, so a restart resumes
// after it. A crash replays at most the samples since the last save, which
// the deterministic alert ids make harmless.
func (e *Engine) savePosition(ctx context.Context, seq uint64) {
	if seq == 0 {
		return
	}
	_ = e.kv.Put(ctx, e.positionKey(), []byte(strconv.FormatUint(seq, 10)))
}

// Run consumes samples until ctx ends; it calls [Engine.Open] if needed.
func (e *Engine) Run(ctx context.Context) error {
	if e.cons == nil {
		if err := e.Open(ctx); err != nil {
			return err
		}
	}
	it, err := e.cons.Messages(jetstream.PullMaxMessages(1000))
	if err != nil {
		return fmt.Errorf("consume metrics: %w", err)
	}
	go func() {
		<-ctx.Done()
		it.Stop()
	}()
	go e.sweepLoop(ctx)
	e.log.Info("rule engine started", "rules", len(e.rules))

	var seq, saved uint64
	lastSave := time.Now()
	defer func() {
		if seq != saved {
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			e.savePosition(sctx, seq)
			cancel()
		}
	}()
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("next metric: %w", err)
		}
		e.handle(ctx, msg)
		if md, err := msg.Metadata(); err == nil {
			seq = md.Sequence.Stream
		}
		if seq != saved && time.Since(lastSave) >= 5*time.Second {
			e.savePosition(ctx, seq)
			saved, lastSave = seq, time.Now()
		}
	}
}

func (e *Engine) handle(ctx context.Context, msg jetstream.Msg) {
	ev, err := events.Unmarshal(msg.Data())
	if err != nil {
		return
	}
	// Imported samples are history: they feed rollups and reports, never
	// live alerts or the latest values.
	if strings.HasSuffix(ev.Source, "/import") {
		return
	}
	var m events.Metric
	if err := ev.Decode(&m); err != nil {
		return
	}
	e.latest.Put(m)
	for _, r := range e.byName[m.Name] {
		if r.matches(m) {
			e.evaluate(ctx, r, m)
		}
	}
	if e.OnMetric != nil {
		e.OnMetric(ctx, m)
	}
}

// evaluate moves one rule on one series through pending → firing →
// resolved.
func (e *Engine) evaluate(ctx context.Context, r *rule, m events.Metric) {
	labels := r.labels(m)
	fp := events.Fingerprint(r.cfg.Name, labels)
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.seen[fp] = time.Now()

	e.mu.Lock()
	st := e.states[fp]
	e.mu.Unlock()

	active := st != nil && (st.Status == statePending || st.Status == stateFiring)
	switch {
	case !active && r.breached(m.Value):
		st = &AlertState{
			Fingerprint: fp, Rule: r.cfg.Name, Kind: "threshold", Status: statePending,
			Severity: r.cfg.Severity, Metric: m.Name, Host: m.Host, Labels: labels,
			Value: m.Value, Since: m.Time,
		}
		if r.cfg.For.D() > 0 {
			e.save(ctx, st)
			return
		}
		e.fire(ctx, r, st, m)
	case active && st.Status == statePending:
		if !r.breached(m.Value) {
			e.forget(ctx, st)
			return
		}
		if m.Time.Sub(st.Since) >= r.cfg.For.D() {
			e.fire(ctx, r, st, m)
		}
	case active && st.Status == stateFiring:
		if r.cleared(m.Value) {
			e.resolve(ctx, r, st, m)
			return
		}
		st.Value = m.Value
	}
}

func (e *Engine) fire(ctx context.Context, r *rule, st *AlertState, m events.Metric) {
	st.Status = stateFiring
	st.Since = m.Time
	st.Value = m.Value
	st.Summary = r.render(m, st.Labels)
	a := e.alert(r, st, events.StatusFiring)
	if err := e.publish(ctx, a, m.Time); err != nil {
		e.log.Error("publish alert", "fingerprint", st.Fingerprint, "error", err)
		return
	}
	e.save(ctx, st)
	e.log.Info("alert firing", "rule", st.Rule, "fingerprint", st.Fingerprint, "value", m.Value)
	if e.OnAlert != nil {
		e.OnAlert(ctx, a)
	}
}

func (e *Engine) resolve(ctx context.Context, r *rule, st *AlertState, m events.Metric) {
	end := m.Time
	st.Status = stateResolved
	st.Value = m.Value
	st.EndedAt = &end
	st.Summary = r.renderResolved(m, st.Labels)
	a := e.alert(r, st, events.StatusResolved)
	if err := e.publish(ctx, a, m.Time); err != nil {
		e.log.Error("publish alert", "fingerprint", st.Fingerprint, "error", err)
		st.Status, st.EndedAt = stateFiring, nil
		return
	}
	e.save(ctx, st)
	e.log.Info("alert resolved", "rule", st.Rule, "fingerprint", st.Fingerprint, "value", m.Value)
	if e.OnAlert != nil {
		e.OnAlert(ctx, a)
	}
}

func (e *Engine) alert(r *rule, st *AlertState, status string) events.Alert {
	return events.Alert{
		Fingerprint: st.Fingerprint, Rule: st.Rule, Kind: st.Kind, Status: status,
		Severity: st.Severity, Summary: st.Summary, Metric: st.Metric, Host: st.Host,
		Value: st.Value, Threshold: r.threshold(), Labels: st.Labels,
		StartsAt: st.Since, EndsAt: st.EndedAt, Optimize: r.cfg.Optimize,
		Evidence: st.Evidence,
	}
}

// publish stores the alert event under an id derived from the fingerprint,
// the status and the start time: a replayed sample or a second hub makes the
// same id, and JetStream keeps one.
func (e *Engine) publish(ctx context.Context, a events.Alert, at time.Time) error {
	typ := events.TypeAlertFiring
	if a.Status == events.StatusResolved {
		typ = events.TypeAlertResolved
	}
	ev, err := events.New(typ, "tend://"+e.hub+"/rules", a.Fingerprint, a)
	if err != nil {
		return err
	}
	ev.ID = fmt.Sprintf("%s-%s-%d", a.Fingerprint, a.Status, a.StartsAt.UnixNano())
	ev.Time = at.UTC()
	return e.b.Publish(ctx, ev)
}

// StaleAfter is how long a firing or pending alert's series may send
// nothing before the alert is resolved as gone: a series that disappears
// (a removed disk, a relabelled job) must not page forever.
const StaleAfter = 5 * time.Minute

// sweep resolves firing alerts, and forgets pending ones, whose series sent
// no sample for StaleAfter.
func (e *Engine) sweep(ctx context.Context, now time.Time) {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	e.mu.Lock()
	var stale []*AlertState
	for fp, st := range e.states {
		if st.Kind != "threshold" || (st.Status != statePending && st.Status != stateFiring) {
			continue
		}
		last, ok := e.seen[fp]
		if !ok {
			// Loaded after a restart: the series gets StaleAfter from now.
			e.seen[fp] = now
			continue
		}
		if now.Sub(last) >= StaleAfter {
			stale = append(stale, st)
		}
	}
	e.mu.Unlock()

	for _, st := range stale {
		delete(e.seen, st.Fingerprint)
		if st.Status == statePending {
			e.forget(ctx, st)
			continue
		}
		r := e.ruleNamed(st.Rule)
		if r == nil {
			continue
		}
		end := now.UTC()
		st.Status, st.EndedAt = stateResolved, &end
		st.Summary = fmt.Sprintf("%s on %s sent no sample for %s: resolved as gone (last value %s)",
			st.Metric, st.Host, StaleAfter, fmtNum(st.Value))
		if err := e.publish(ctx, e.alert(r, st, events.StatusResolved), now); err != nil {
			e.log.Error("publish alert", "fingerprint", st.Fingerprint, "error", err)
			st.Status, st.EndedAt = stateFiring, nil
			continue
		}
		e.save(ctx, st)
		e.log.Info("alert resolved: series gone", "rule", st.Rule, "fingerprint", st.Fingerprint)
		if e.OnAlert != nil {
			e.OnAlert(ctx, e.alert(r, st, events.StatusResolved))
		}
	}
}

func (e *Engine) ruleNamed(name string) *rule {
	for _, r := range e.rules {
		if r.cfg.Name == name {
			return r
		}
	}
	return nil
}

// sweepLoop runs sweep every 30 s until ctx ends.
func (e *Engine) sweepLoop(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			e.sweep(ctx, now)
		}
	}
}

// PublishAlert stores an alert raised outside the threshold rules (analysis
// rules, inbound webhooks) the same way, and records its state.
func (e *Engine) PublishAlert(ctx context.Context, a events.Alert) error {
	if err := e.publish(ctx, a, time.Now()); err != nil {
		return err
	}
	st := &AlertState{
		Fingerprint: a.Fingerprint, Rule: a.Rule, Kind: a.Kind, Status: a.Status,
		Severity: a.Severity, Summary: a.Summary, Metric: a.Metric, Host: a.Host,
		Labels: a.Labels, Value: a.Value, Since: a.StartsAt, EndedAt: a.EndsAt,
		Evidence: a.Evidence,
	}
	e.save(ctx, st)
	if e.OnAlert != nil {
		e.OnAlert(ctx, a)
	}
	return nil
}

// State returns the state of fingerprint fp, if any.
func (e *Engine) State(fp string) (AlertState, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	st, ok := e.states[fp]
	if !ok {
		return AlertState{}, false
	}
	return *st, true
}

func (e *Engine) save(ctx context.Context, st *AlertState) {
	st.UpdatedAt = time.Now().UTC()
	e.mu.Lock()
	e.states[st.Fingerprint] = st
	e.mu.Unlock()

	b, _ := json.Marshal(st)
	if err := e.kv.Put(ctx, stateKey(st.Fingerprint), b); err != nil {
		e.log.Warn("save alert state", "fingerprint", st.Fingerprint, "error", err)
	}
}

func (e *Engine) forget(ctx context.Context, st *AlertState) {
	e.mu.Lock()
	delete(e.states, st.Fingerprint)
	e.mu.Unlock()
	_ = e.kv.Delete(ctx, stateKey(st.Fingerprint))
}

// load reads alert state from tend_state, dropping resolved entries older
// than a day.
func (e *Engine) load(ctx context.Context) error {
	states, err := LoadAlerts(ctx, e.kv)
	if err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for i := range states {
		st := states[i]
		if st.Status == stateResolved && st.EndedAt != nil && time.Since(*st.EndedAt) > 24*time.Hour {
			_ = e.kv.Delete(ctx, stateKey(st.Fingerprint))
			continue
		}
		e.states[st.Fingerprint] = &st
	}
	return nil
}

// LoadAlerts returns every alert state in tend_state, newest first. Any hub
// can answer with it, whichever hub evaluated the rule.
func LoadAlerts(ctx context.Context, kv bus.KV) ([]AlertState, error) {
	keys, err := kv.Keys(ctx, "alert.>")
	if err != nil && !strings.Contains(err.Error(), "no keys") {
		return nil, err
	}
	out := make([]AlertState, 0, len(keys))
	for _, k := range keys {
		b, err := kv.Get(ctx, k)
		if err != nil {
			continue
		}
		var st AlertState
		if json.Unmarshal(b, &st) == nil {
			out = append(out, st)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UpdatedAt.After(out[j].UpdatedAt) })
	return out, nil
}

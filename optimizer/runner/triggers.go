package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/events"
)

// TriggerConsumer is the durable consumer, shared by every hub on the bus,
// that turns trigger events into runs.
const TriggerConsumer = "optimizer-triggers"

// KeyTriggerPrefix marks, in the bus's week-long tend_seen bucket, a
// trigger (or an alert) that started a run.
const KeyTriggerPrefix = "optimizer.trigger."

// TriggerData is the part of a trigger event's data (the JSON api/inbound
// writes) that the runner reads.
type TriggerData struct {
	Trigger events.Trigger `json:"trigger"`
	// Tasks asked for; empty means every configured task.
	Tasks []string `json:"tasks,omitempty"`
	// Level asked for; empty means the current level.
	Level string `json:"level,omitempty"`
	// Event is what raised the trigger: a person's command (issue_comment,
	// repository_dispatch, a Slack command) or an automatic one (push,
	// workflow_run).
	Event string `json:"event,omitempty"`
}

// Automatic reports whether the trigger came from no person's command but
// from something happening (a push, a finished workflow): such triggers
// start runs only while automatic optimization is enabled.
func (d TriggerData) Automatic() bool {
	return d.Event == "push" || d.Event == "workflow_run"
}

// Triggers consumes dev.tend.trigger.github and dev.tend.trigger.slack
// events from EVENTS and starts a run for each, with the trigger as the
// run's origin, so its events carry the repository, issue, commit or Slack
// response_url back to the integrations.
//
// A person's command (an issue comment, a repository dispatch, a Slack
// command) runs whether or not automatic optimization is enabled, as the
// CLI does; a push or a finished workflow runs only while it is enabled.
//
// Hubs share one durable consumer with one message in flight, so a trigger
// goes to one hub. The message is acknowledged when the run ends, and kept
// in progress while it runs. A trigger is marked (by event id, for a week,
// in tend_seen) before its run starts: redelivered after a crash, or stored
// twice, it starts no second run. A trigger that
// finds a run in progress waits (redelivered every BusyRetry) for up to
// MaxWait; one refused (cooling down, unknown task or level, or waiting too
// long) is told as a dev.tend.optimization.failed event with the reason.
type Triggers struct {
	// BusyRetry is how long a trigger waits before asking again while
	// another run is in progress. Default 15s.
	BusyRetry time.Duration
	// MaxWait is how long after it was stored a trigger may still wait for a
	// busy runner. Default 30m.
	MaxWait time.Duration
	// AckWait is the consumer's acknowledgement wait; a run keeps its
	// trigger by telling the bus it is in progress every third of it.
	// Default 30s.
	AckWait time.Duration

	b    *bus.Bus
	kv   bus.KV
	r    *Runner
	log  *slog.Logger
	cons jetstream.Consumer
}

// NewTriggers returns the trigger consumer of r on b; a nil logger
// discards. Call [Triggers.Open] before the hub takes requests, then
// [Triggers.Run].
func NewTriggers(b *bus.Bus, r *Runner, log *slog.Logger) *Triggers {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Triggers{
		BusyRetry: 15 * time.Second,
		MaxWait:   30 * time.Minute,
		AckWait:   30 * time.Second,

		b: b, kv: bus.KV{Bucket: b.Seen}, r: r, log: log,
	}
}

// Open creates or joins the durable consumer, so a trigger stored after it
// returns is seen. It starts with new triggers only: a first start does not
// run the history of EVENTS.
func (t *Triggers) Open(ctx context.Context) error {
	cons, err := t.b.JS.CreateOrUpdateConsumer(ctx, bus.StreamEvents, jetstream.ConsumerConfig{
		Durable:       TriggerConsumer,
		Description:   "tend optimizer: runs asked for by GitHub and Slack",
		FilterSubject: events.SubjectTrigger + ".>",
		DeliverPolicy: jetstream.DeliverNewPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       t.AckWait,
		MaxAckPending: 1,
	})
	if err != nil {
		return fmt.Errorf("create consumer %s: %w", TriggerConsumer, err)
	}
	t.cons = cons
	return nil
}

// Run handles triggers one at a time until ctx ends, then returns nil. It
// calls [Triggers.Open] if needed.
func (t *Triggers) Run(ctx context.Context) error {
	if t.cons == nil {
		if err := t.Open(ctx); err != nil {
			return err
		}
	}
	it, err := t.cons.Messages(jetstream.PullMaxMessages(1))
	if err != nil {
		return fmt.Errorf("consume triggers: %w", err)
	}
	stopped := make(chan struct{})
	defer close(stopped)
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		it.Stop()
	}()
	t.log.Info("trigger consumer started", "consumer", TriggerConsumer)
	for {
		msg, err := it.Next()
		if err != nil {
			if errors.Is(err, jetstream.ErrMsgIteratorClosed) || ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("next trigger: %w", err)
		}
		t.handle(ctx, msg)
	}
}

// handle starts the run one trigger asks for and settles its message.
func (t *Triggers) handle(ctx context.Context, msg jetstream.Msg) {
	ev, err := events.Unmarshal(msg.Data())
	if err != nil {
		t.log.Warn("unreadable trigger dropped", "subject", msg.Subject(), "error", err)
		_ = msg.Term()
		return
	}
	log := t.log.With("event_id", ev.ID, "event_type", ev.Type)
	var kind string
	switch ev.Type {
	case events.TypeTriggerGitHub:
		kind = "github"
	case events.TypeTriggerSlack:
		kind = "slack"
	default:
		log.Debug("trigger of no known kind ignored")
		t.ack(msg, log)
		return
	}
	var data TriggerData
	if err := ev.Decode(&data); err != nil {
		log.Warn("trigger with unreadable data dropped", "error", err)
		_ = msg.Term()
		return
	}
	req := RunRequest{Tasks: data.Tasks, Level: data.Level, Trigger: data.Trigger}
	if req.Trigger.Kind == "" {
		req.Trigger.Kind = kind
	}
	if req.Trigger.EventID == "" {
		req.Trigger.EventID = ev.ID
	}
	if ctx.Err() != nil {
		return // left unacknowledged: another hub, or this one restarted, takes it
	}
	if data.Automatic() {
		on, err := t.r.Enabled(ctx)
		if err != nil {
			log.Warn("trigger waits: state unreadable", "error", err)
			_ = msg.NakWithDelay(t.BusyRetry)
			return
		}
		if !on {
			// Quietly: telling every push that nothing ran is noise.
			log.Info("automatic trigger starts no run",
				"reason", ErrDisabled.Error(),
				"event", data.Event)
			t.ack(msg, log)
			return
		}
	}

	key := KeyTriggerPrefix + keyToken(ev.ID)
	first, err := t.kv.FirstTime(ctx, key)
	if err != nil {
		log.Warn("trigger not marked; trying again", "error", err)
		_ = msg.NakWithDelay(t.BusyRetry)
		return
	}
	if !first {
		log.Info("trigger already started a run; starting no other")
		t.ack(msg, log)
		return
	}

	stop := keepInProgress(msg, t.AckWait/3)
	run, err := t.r.Request(ctx, req)
	stop()
	switch {
	case run.ID != "":
		if err != nil {
			log.Warn("triggered run finished with errors", "run_id", run.ID, "error", err)
		}
		log.Info("triggered run finished", "run_id", run.ID, "status", run.Status)
	case errors.Is(err, ErrBusy) && t.waited(msg) < t.MaxWait:
		// Unmark it, so the redelivery may start its run.
		if derr := t.kv.Delete(ctx, key); derr != nil {
			log.Warn("trigger left marked; it will start no run", "error", derr)
			break
		}
		log.Info("trigger waits for the run in progress", "delay", t.BusyRetry.String())
		_ = msg.NakWithDelay(t.BusyRetry)
		return
	case ctx.Err() != nil:
		return
	default:
		t.refuse(ctx, ev.ID, req, err, log)
	}
	t.ack(msg, log)
}

// waited returns how long ago the trigger was stored.
func (t *Triggers) waited(msg jetstream.Msg) time.Duration {
	md, err := msg.Metadata()
	if err != nil {
		return 0
	}
	return t.r.cfg.Now().Sub(md.Timestamp)
}

// refuse tells the trigger's origin that no run started, and why, as a
// failed run kept in the history.
func (t *Triggers) refuse(ctx context.Context, triggerID string, req RunRequest, why error,
	log *slog.Logger) {
	log.Info("trigger starts no run", "reason", why.Error())
	now := t.r.cfg.Now().UTC()
	level := req.Level
	if level == "" {
		if l, err := t.r.Level(ctx); err == nil {
			level = l.String()
		}
	}
	run := events.Run{
		ID: events.NewID(), Status: "failed", Level: level, Trigger: req.Trigger,
		Error: why.Error(), Requested: now, Finished: &now,
	}
	ev, err := events.New(events.TypeOptimizationFailed, t.r.cfg.Source,
		events.SubjectFor(events.TypeOptimizationFailed, run.ID), run)
	if err != nil {
		log.Warn("refusal not told", "error", err)
		return
	}
	// A redelivered trigger tells its refusal once.
	ev.ID = "refused-" + triggerID
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := t.r.save(ctx, run); err != nil {
		log.Warn("refusal not kept in the history", "error", err)
	}
	if err := t.r.cfg.Publisher.Publish(ctx, ev); err != nil {
		log.Warn("refusal not told", "error", err)
	}
}

// ack acknowledges msg and waits for the bus to confirm; it reports
// whether it did.
func (t *Triggers) ack(msg jetstream.Msg, log *slog.Logger) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := msg.DoubleAck(ctx); err != nil {
		log.Warn("trigger not acknowledged", "error", err)
		return false
	}
	return true
}

// keepInProgress tells the bus every interval that msg is still being
// handled, until the returned stop is called.
func keepInProgress(msg jetstream.Msg, every time.Duration) (stop func()) {
	if every <= 0 {
		every = 10 * time.Second
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				_ = msg.InProgress()
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// keyToken makes an event id safe as part of a KV key, whose characters
// are letters, digits and -/_=.
func keyToken(id string) string {
	if id == "" {
		return "_"
	}
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
			r == '-', r == '_', r == '=':
			return r
		}
		return '_'
	}, id)
}

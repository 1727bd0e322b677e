package router

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
)

// attemptRecord survives between retries of one event to one integration,
// in tend_state, so that a restart keeps the count and the first error.
type attemptRecord struct {
	Attempts   int       `json:"attempts"`
	FirstAt    time.Time `json:"first_at"`
	FirstError string    `json:"first_error"`
	LastError  string    `json:"last_error"`
	LastReason string    `json:"last_reason"`
	Status     int       `json:"status,omitempty"`
}

func attemptKey(integration, eventID string) string {
	return integrations.RefKey("attempt", integration, eventID)
}

// job is a message admitted for delivery.
type job struct {
	msg  jetstream.Msg
	md   *jetstream.MsgMetadata
	ev   events.Event
	key  string // alert fingerprint, for order
	held bool   // it waited for a retry before
}

// admit decodes msg, drops what no route sends here, and takes the event's
// turn in its alert's order. The consumer loop calls it in stream order, one
// message at a time, so a later event of an alert cannot get ahead of an
// earlier one by goroutine scheduling. It returns nil when the message is
// already settled.
func (w *worker) admit(ctx context.Context, msg jetstream.Msg) *job {
	md, err := msg.Metadata()
	if err != nil {
		_ = msg.Term()
		return nil
	}
	ev, err := events.Unmarshal(msg.Data())
	if err != nil {
		w.deadLetter(ctx, msg, md, events.Event{Data: safeRaw(msg.Data())}, attemptRecord{}, deadInfo{
			reason: "undecodable event", last: err.Error(),
		})
		return nil
	}
	var alert *events.Alert
	if ev.IsAlert() {
		var a events.Alert
		if ev.Decode(&a) == nil {
			alert = &a
		}
	}
	if !w.wanted(msg.Subject(), ev, alert) {
		_ = msg.Ack()
		return nil
	}

	j := &job{msg: msg, md: md, ev: ev}
	if alert != nil {
		j.key = alert.Fingerprint
	}
	if j.key != "" {
		var blocked bool
		if blocked, j.held = w.order.acquire(ctx, j.key, md.Sequence.Stream); blocked {
			// An earlier event of this alert is still on its way; wait for
			// it without counting an attempt.
			w.log.Debug("waiting for an earlier event of the alert", "event_id", ev.ID, "fingerprint", j.key)
			_ = msg.NakWithDelay(250 * time.Millisecond)
			return nil
		}
	}
	return j
}

// handle takes an admitted message to its end: acknowledged, scheduled for
// retry, or dead-lettered.
func (w *worker) handle(ctx context.Context, j *job) {
	if w.mayBeDone(j.md) && w.done(ctx, j.ev.ID) {
		// Delivered before a crash that lost the acknowledgement.
		w.log.Debug("already delivered", "event_id", j.ev.ID)
		_ = j.msg.Ack()
		w.order.release(ctx, j.key, j.md.Sequence.Stream, j.held)
		return
	}

	// JetStream's delivery count can lag after a crash; a held event was
	// tried before, whatever the count says.
	rec := attemptRecord{}
	if j.md.NumDelivered > 1 || j.held {
		rec = w.loadAttempt(ctx, j.ev.ID)
	}
	w.attempt(ctx, j.msg, j.md, j.ev, j.key, rec, j.held)
}

func (w *worker) attempt(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata,
	ev events.Event, key string, rec attemptRecord, held bool) {
	if err := w.limiter.Wait(ctx); err != nil {
		_ = msg.NakWithDelay(time.Second)
		w.order.release(ctx, key, md.Sequence.Stream, false)
		return
	}
	n := rec.Attempts + 1
	start := time.Now()
	receipt, err := w.call(ctx, msg, ev)
	latency := time.Since(start)
	seq := md.Sequence.Stream

	a := Attempt{
		EventID: ev.ID, EventType: ev.Type, Fingerprint: key, Integration: w.spec.Name,
		Attempt: n, Status: receipt.Status, Latency: latency, Ref: receipt.Ref,
		Hub: w.r.hub, Time: start.UTC(),
	}
	if err == nil {
		w.succeed(ctx, msg, a, rec, key, seq, held)
		return
	}

	ie := integrations.Classify(err)
	a.Error = ie.Error()
	if a.Status == 0 {
		a.Status = ie.Status
	}
	if rec.FirstAt.IsZero() {
		rec.FirstAt, rec.FirstError = start.UTC(), ie.Error()
	}
	rec.Attempts, rec.LastError, rec.Status = n, ie.Error(), a.Status

	if ie.Permanent {
		info := deadInfo{reason: "permanent: " + ie.Reason, last: ie.Error(), attempt: &a}
		w.deadLetter(ctx, msg, md, ev, rec, info)
		return
	}
	delay := Delay(w.spec.Retry, n, ie.RetryAfter)
	if time.Since(rec.FirstAt)+delay > w.spec.Retry.MaxElapsed.D() {
		reason := fmt.Sprintf("retry budget of %s spent after %d attempts", w.spec.Retry.MaxElapsed, n)
		w.deadLetter(ctx, msg, md, ev, rec, deadInfo{reason: reason, last: ie.Error(), attempt: &a})
		return
	}
	w.retry(ctx, msg, a, rec, ie, key, seq, delay)
}

// call makes one attempt, bounded by the integration's timeout, telling
// JetStream the message is still in progress while a slow call runs.
func (w *worker) call(ctx context.Context, msg jetstream.Msg, ev events.Event) (integrations.Receipt, error) {
	cctx, cancel := context.WithTimeoutCause(ctx, w.spec.Timeout.D(),
		fmt.Errorf("integration %s: attempt took longer than %s", w.spec.Name, w.spec.Timeout))
	defer cancel()

	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(max(w.spec.AckWait.D()/3, 300*time.Millisecond))
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

	receipt, err := w.in.Deliver(cctx, ev)
	if err != nil && cctx.Err() != nil && ctx.Err() == nil {
		err = integrations.Retryable("timeout", context.Cause(cctx))
	}
	return receipt, err
}

func (w *worker) succeed(ctx context.Context, msg jetstream.Msg, a Attempt, rec attemptRecord,
	key string, seq uint64, held bool) {
	w.markDone(ctx, a.EventID)
	if err := msg.DoubleAck(ctx); err != nil {
		// Delivered but not acknowledged: JetStream will offer it again.
		w.log.Warn("ack after delivery", "event_id", a.EventID, "error", err)
	}
	w.order.release(ctx, key, seq, held || rec.Attempts > 0)
	if rec.Attempts > 0 {
		_ = bus.KV{Bucket: w.r.b.State}.Delete(ctx, attemptKey(w.spec.Name, a.EventID))
		w.log.Info("delivered after retries", "event_id", a.EventID, "attempt", a.Attempt)
	} else {
		w.log.Debug("delivered", "event_id", a.EventID, "event_type", a.EventType, "latency", a.Latency)
	}
	a.Outcome = OutcomeDelivered
	logAttempt(w.r.b, a)
	w.r.stats.success(w.spec.Name, a.Latency)
	w.r.metrics.count(w.spec.Name, OutcomeDelivered)
	w.r.metrics.observe(w.spec.Name, a.Latency)
}

func (w *worker) retry(ctx context.Context, msg jetstream.Msg, a Attempt, rec attemptRecord,
	ie *integrations.Error, key string, seq uint64, delay time.Duration) {
	level := slog.LevelDebug
	if ie.Reason != rec.LastReason {
		level = slog.LevelWarn
	}
	rec.LastReason = ie.Reason
	w.saveAttempt(ctx, a.EventID, rec)
	w.order.hold(ctx, key, seq)
	if err := msg.NakWithDelay(delay); err != nil {
		w.log.Warn("schedule retry", "event_id", a.EventID, "error", err)
	}
	w.log.Log(ctx, level, "retrying",
		"event_id", a.EventID,
		"attempt", a.Attempt,
		"delay", delay.Round(time.Millisecond),
		"error", ie.Error())

	a.Outcome, a.NextDelay = OutcomeRetry, delay
	logAttempt(w.r.b, a)
	w.r.stats.failure(w.spec.Name, ie.Error(), true, false)
	w.r.metrics.count(w.spec.Name, OutcomeRetry)
}

type deadInfo struct {
	reason  string
	last    string
	attempt *Attempt
}

// deadLetter stores the event in DEADLETTER with why, then acknowledges it.
// If the store fails the message is left for redelivery: nothing is lost.
func (w *worker) deadLetter(ctx context.Context, msg jetstream.Msg, md *jetstream.MsgMetadata,
	ev events.Event, rec attemptRecord, info deadInfo) {
	now := time.Now().UTC()
	dl := DeadLetter{
		Integration: w.spec.Name, Event: ev, Attempts: rec.Attempts, Reason: info.reason,
		Status: rec.Status, FirstError: rec.FirstError, LastError: info.last,
		FirstAttempt: rec.FirstAt, LastAttempt: now, DeadAt: now,
	}
	if dl.FirstError == "" {
		dl.FirstError = info.last
	}
	if err := storeDeadLetter(ctx, w.r.b, dl, md.Sequence.Stream); err != nil {
		w.log.Error("store dead letter", "event_id", ev.ID, "error", err)
		_ = msg.NakWithDelay(5 * time.Second)
		return
	}
	if err := msg.DoubleAck(ctx); err != nil {
		w.log.Warn("ack dead letter", "event_id", ev.ID, "error", err)
	}
	key := ""
	if info.attempt != nil {
		key = info.attempt.Fingerprint
	}
	w.order.release(ctx, key, md.Sequence.Stream, true)
	_ = bus.KV{Bucket: w.r.b.State}.Delete(ctx, attemptKey(w.spec.Name, ev.ID))

	w.log.Error("dead-lettered",
		"event_id", ev.ID,
		"event_type", ev.Type,
		"attempt", rec.Attempts,
		"reason", info.reason,
		"error", info.last)
	if info.attempt != nil {
		a := *info.attempt
		a.Outcome = OutcomeDeadLettered
		logAttempt(w.r.b, a)
		w.r.stats.failure(w.spec.Name, info.last, false, true)
	} else {
		w.r.stats.deadNoAttempt(w.spec.Name, info.last)
	}
	w.r.metrics.count(w.spec.Name, OutcomeDeadLettered)
}

// wanted reports whether a route sends ev to this integration; tests and
// replays are addressed to it directly.
func (w *worker) wanted(subject string, ev events.Event, a *events.Alert) bool {
	if subject == events.SubjectTest+"."+events.Token(w.spec.Name) ||
		subject == events.SubjectReplay+"."+events.Token(w.spec.Name) {
		return true
	}
	if i, ok := events.NotifyRoute(subject); ok {
		// The alerting stage chose the route's alerts; the type is the
		// route's to check (a route may want firing ones only).
		if i >= len(w.r.routes) || !slices.Contains(w.r.routes[i].To, w.spec.Name) {
			return false
		}
		r := w.r.routes[i]
		return len(r.Match.Type) == 0 || slices.ContainsFunc(r.Match.Type, ev.MatchesType)
	}
	notifying := ev.IsAlert() && notifies(w.r.b)
	for _, r := range w.r.routes {
		if notifying && TakesAlerts(r.Match) {
			continue // the route's notifications carry this alert
		}
		if slices.Contains(r.To, w.spec.Name) && Matches(r.Match, ev, a) {
			return true
		}
	}
	return false
}

func (w *worker) loadAttempt(ctx context.Context, eventID string) attemptRecord {
	var rec attemptRecord
	b, err := bus.KV{Bucket: w.r.b.State}.Get(ctx, attemptKey(w.spec.Name, eventID))
	if err != nil {
		return rec
	}
	_ = json.Unmarshal(b, &rec)
	return rec
}

func (w *worker) saveAttempt(ctx context.Context, eventID string, rec attemptRecord) {
	b, _ := json.Marshal(rec)
	if err := (bus.KV{Bucket: w.r.b.State}).Put(ctx, attemptKey(w.spec.Name, eventID), b); err != nil {
		w.log.Warn("save attempt count", "event_id", eventID, "error", err)
	}
}

// safeRaw keeps an undecodable payload as a JSON string in the dead letter.
func safeRaw(b []byte) json.RawMessage {
	s, _ := json.Marshal(string(b))
	return s
}

func doneKey(integration, eventID string) string {
	return integrations.RefKey("done", integration, eventID)
}

// mayBeDone reports whether a message could have been delivered already:
// it was offered before, or it was stored before the embedded server
// started, so a crash may have lost its acknowledgement. On an external
// NATS every message is checked.
func (w *worker) mayBeDone(md *jetstream.MsgMetadata) bool {
	if md.NumDelivered > 1 {
		return true
	}
	started := w.r.b.Embedded
	return started.IsZero() || md.Timestamp.Before(started.Add(time.Second))
}

func (w *worker) done(ctx context.Context, eventID string) bool {
	_, err := bus.KV{Bucket: w.r.b.Delivered}.Get(ctx, doneKey(w.spec.Name, eventID))
	return err == nil
}

// markDone records a delivery before it is acknowledged: if the hub dies
// between the two, the redelivered message is recognised and skipped.
func (w *worker) markDone(ctx context.Context, eventID string) {
	if err := (bus.KV{Bucket: w.r.b.Delivered}).Put(ctx, doneKey(w.spec.Name, eventID), []byte{1}); err != nil {
		w.log.Warn("mark delivered", "event_id", eventID, "error", err)
	}
}

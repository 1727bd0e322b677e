package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/events"
)

// ErrNoDeadLetter is returned for an unknown dead letter id.
var ErrNoDeadLetter = errors.New("no such dead letter")

// DeadLetter is a delivery that failed for good: the original event, where
// it was going, and why it stopped. ID is its sequence in DEADLETTER.
type DeadLetter struct {
	ID           uint64       `json:"id"`
	Integration  string       `json:"integration"`
	Event        events.Event `json:"event"`
	Attempts     int          `json:"attempts"`
	Reason       string       `json:"reason"`
	Status       int          `json:"status,omitempty"`
	FirstError   string       `json:"first_error"`
	LastError    string       `json:"last_error"`
	FirstAttempt time.Time    `json:"first_attempt"`
	LastAttempt  time.Time    `json:"last_attempt"`
	DeadAt       time.Time    `json:"dead_at"`
}

func deadLetterSubject(integration string) string {
	return events.SubjectDeadLetter + "." + events.Token(integration)
}

// storeDeadLetter writes dl to DEADLETTER. The message id names the source
// message, so a hub killed between this write and its ack makes no second
// copy when the delivery is retried and fails again.
func storeDeadLetter(ctx context.Context, b *bus.Bus, dl DeadLetter, srcSeq uint64) error {
	data, err := json.Marshal(dl)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	id := fmt.Sprintf("%s-%s-%d", dl.Integration, dl.Event.ID, srcSeq)
	if _, err := b.JS.Publish(ctx, deadLetterSubject(dl.Integration), data, jetstream.WithMsgID(id)); err != nil {
		return fmt.Errorf("store dead letter of %s for %s: %w", dl.Event.ID, dl.Integration, err)
	}
	return nil
}

// DeadLetters reads, replays and purges the DEADLETTER stream. Any hub can
// serve it.
type DeadLetters struct{ B *bus.Bus }

// List returns dead letters, oldest first, of one integration or of all
// when integration is "".
func (d DeadLetters) List(ctx context.Context, integration string) ([]DeadLetter, error) {
	filter := events.SubjectDeadLetter + ".>"
	if integration != "" {
		filter = deadLetterSubject(integration)
	}
	stream, err := d.B.JS.Stream(ctx, bus.StreamDeadLetter)
	if err != nil {
		return nil, fmt.Errorf("open dead letters: %w", err)
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	if info.State.Msgs == 0 {
		return nil, nil
	}
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}})
	if err != nil {
		return nil, fmt.Errorf("read dead letters: %w", err)
	}
	var out []DeadLetter
	for {
		batch, err := cons.FetchNoWait(500)
		if err != nil {
			return nil, fmt.Errorf("read dead letters: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			if dl, err := decodeDeadLetter(msg); err == nil {
				out = append(out, dl)
			}
		}
		if n == 0 {
			return out, nil
		}
	}
}

func decodeDeadLetter(msg jetstream.Msg) (DeadLetter, error) {
	var dl DeadLetter
	if err := json.Unmarshal(msg.Data(), &dl); err != nil {
		return dl, err
	}
	if md, err := msg.Metadata(); err == nil {
		dl.ID = md.Sequence.Stream
	}
	return dl, nil
}

// Get returns one dead letter by id.
func (d DeadLetters) Get(ctx context.Context, id uint64) (DeadLetter, error) {
	stream, err := d.B.JS.Stream(ctx, bus.StreamDeadLetter)
	if err != nil {
		return DeadLetter{}, fmt.Errorf("open dead letters: %w", err)
	}
	raw, err := stream.GetMsg(ctx, id)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return DeadLetter{}, fmt.Errorf("dead letter %d: %w", id, ErrNoDeadLetter)
	}
	if err != nil {
		return DeadLetter{}, fmt.Errorf("read dead letter %d: %w", id, err)
	}
	var dl DeadLetter
	if err := json.Unmarshal(raw.Data, &dl); err != nil {
		return DeadLetter{}, fmt.Errorf("decode dead letter %d: %w", id, err)
	}
	dl.ID = raw.Sequence
	return dl, nil
}

// Replay puts a dead letter's event back on its integration's path and
// removes the dead letter. The replay's message id is derived from the dead
// letter id, so replaying twice in a row delivers once.
func (d DeadLetters) Replay(ctx context.Context, id uint64) (DeadLetter, error) {
	dl, err := d.Get(ctx, id)
	if err != nil {
		return dl, err
	}
	data, err := dl.Event.Marshal()
	if err != nil {
		return dl, err
	}
	subject := events.SubjectReplay + "." + events.Token(dl.Integration)
	msgID := "replay-" + strconv.FormatUint(id, 10)
	if _, err := d.B.JS.Publish(ctx, subject, data, jetstream.WithMsgID(msgID)); err != nil {
		return dl, fmt.Errorf("replay dead letter %d: %w", id, err)
	}
	if err := d.delete(ctx, id); err != nil {
		return dl, err
	}
	return dl, nil
}

// ReplayAll replays every dead letter of integration, or of all when "".
func (d DeadLetters) ReplayAll(ctx context.Context, integration string) ([]DeadLetter, error) {
	list, err := d.List(ctx, integration)
	if err != nil {
		return nil, err
	}
	var done []DeadLetter
	for _, dl := range list {
		if _, err := d.Replay(ctx, dl.ID); err != nil {
			return done, err
		}
		done = append(done, dl)
	}
	return done, nil
}

// Purge deletes dead letters of integration, or all when "", and returns
// how many went.
func (d DeadLetters) Purge(ctx context.Context, integration string) (uint64, error) {
	stream, err := d.B.JS.Stream(ctx, bus.StreamDeadLetter)
	if err != nil {
		return 0, fmt.Errorf("open dead letters: %w", err)
	}
	before, err := stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	var opts []jetstream.StreamPurgeOpt
	if integration != "" {
		opts = append(opts, jetstream.WithPurgeSubject(deadLetterSubject(integration)))
	}
	if err := stream.Purge(ctx, opts...); err != nil {
		return 0, fmt.Errorf("purge dead letters: %w", err)
	}
	after, err := stream.Info(ctx)
	if err != nil {
		return 0, err
	}
	return before.State.Msgs - after.State.Msgs, nil
}

func (d DeadLetters) delete(ctx context.Context, id uint64) error {
	stream, err := d.B.JS.Stream(ctx, bus.StreamDeadLetter)
	if err != nil {
		return err
	}
	if err := stream.DeleteMsg(ctx, id); err != nil && !errors.Is(err, jetstream.ErrMsgNotFound) {
		return fmt.Errorf("delete dead letter %d: %w", id, err)
	}
	return nil
}

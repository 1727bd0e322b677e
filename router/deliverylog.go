package router

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/events"
)

// Attempt outcomes.
const (
	OutcomeDelivered    = "delivered"
	OutcomeRetry        = "retry"
	OutcomeDeadLettered = "dead_lettered"
	OutcomeSkipped      = "skipped"
)

// Attempt is one entry of the delivery log: one call to one integration.
type Attempt struct {
	EventID     string        `json:"event_id"`
	EventType   string        `json:"event_type"`
	Fingerprint string        `json:"fingerprint,omitempty"`
	Integration string        `json:"integration"`
	Attempt     int           `json:"attempt"`
	Outcome     string        `json:"outcome"`
	Status      int           `json:"status,omitempty"`
	Latency     time.Duration `json:"latency_ns"`
	Error       string        `json:"error,omitempty"`
	Ref         string        `json:"ref,omitempty"`
	NextDelay   time.Duration `json:"next_delay_ns,omitempty"`
	Hub         string        `json:"hub"`
	Time        time.Time     `json:"time"`
}

func deliverySubject(integration string) string {
	return events.SubjectDelivery + "." + events.Token(integration)
}

// logAttempt appends a to the delivery log without waiting: the log is a
// record, not part of the delivery guarantee.
func logAttempt(b *bus.Bus, a Attempt) {
	data, err := json.Marshal(a)
	if err != nil {
		return
	}
	_, _ = b.JS.PublishMsgAsync(&nats.Msg{Subject: deliverySubject(a.Integration), Data: data})
}

// DeliveryQuery selects delivery log entries.
type DeliveryQuery struct {
	Integration string
	Fingerprint string
	EventID     string
	Since       time.Time
	Limit       int
}

// Deliveries reads the delivery log, oldest first.
func Deliveries(ctx context.Context, b *bus.Bus, q DeliveryQuery) ([]Attempt, error) {
	filter := events.SubjectDelivery + ".>"
	if q.Integration != "" {
		filter = deliverySubject(q.Integration)
	}
	cfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{filter}}
	if !q.Since.IsZero() {
		cfg.DeliverPolicy = jetstream.DeliverByStartTimePolicy
		since := q.Since
		cfg.OptStartTime = &since
	}
	stream, err := b.JS.Stream(ctx, bus.StreamDeliveries)
	if err != nil {
		return nil, fmt.Errorf("open delivery log: %w", err)
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("read delivery log: %w", err)
	}
	var out []Attempt
	for {
		batch, err := cons.FetchNoWait(1000)
		if err != nil {
			return nil, fmt.Errorf("read delivery log: %w", err)
		}
		n := 0
		for msg := range batch.Messages() {
			n++
			var a Attempt
			if json.Unmarshal(msg.Data(), &a) != nil {
				continue
			}
			if q.Fingerprint != "" && a.Fingerprint != q.Fingerprint {
				continue
			}
			if q.EventID != "" && a.EventID != q.EventID {
				continue
			}
			out = append(out, a)
		}
		if n == 0 {
			break
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[len(out)-q.Limit:]
	}
	return out, nil
}

package bus

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// MetricSource is the CloudEvents source of samples taken on host.
func MetricSource(host string) string { return "tend://" + host + "/collector" }

// PublishMetrics stores samples as metric events. They are sent without
// waiting one by one, then every acknowledgement is awaited, so the call
// returns only when all are stored, at a fraction of the cost of sending
// them in turn.
func (b *Bus) PublishMetrics(ctx context.Context, ms []events.Metric) error {
	futures := make([]jetstream.PubAckFuture, 0, len(ms))
	for _, m := range ms {
		ev, err := events.New(events.TypeMetric, MetricSource(m.Host), m.Name, m)
		if err != nil {
			return err
		}
		ev.Time = m.Time
		data, err := ev.Marshal()
		if err != nil {
			return fmt.Errorf("encode metric %s: %w", m.Name, err)
		}
		msg := &nats.Msg{Subject: events.MetricSubject(m.Host, m.Name), Data: data, Header: nats.Header{}}
		if err := checkSubject(msg.Subject); err != nil {
			return fmt.Errorf("publish metric: %w", err)
		}
		msg.Header.Set(jetstream.MsgIDHeader, ev.ID)
		f, err := b.JS.PublishMsgAsync(msg)
		if err != nil {
			return fmt.Errorf("publish metric %s: %w", m.Name, err)
		}
		futures = append(futures, f)
	}
	for _, f := range futures {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("store metric on %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

package history

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// flushGrace is how long after a bucket's end [Aggregator.Run] waits for
// late samples before storing it.
const flushGrace = 15 * time.Second

// maxReplay bounds how far back [Aggregator.Run] replays samples after a
// long stop: a day of samples takes seconds to replay, a week a minute.
const maxReplay = 24 * time.Hour

// Run feeds the aggregator from METRICS until ctx ends, flushing buckets
// flushGrace after they end, every interval (default 15s when 0). It first
// replays the samples stored since the hour after the newest hourly rollup
// (at least the previous hour, at most a day back), rebuilding the buckets
// a stop lost; a bucket stored again with more samples wins over its
// earlier copy when read. Samples from imports are skipped: the import
// rolls them up itself. Run returns nil when ctx ends, after storing the
// buckets due; an error means it could not read METRICS.
func (a *Aggregator) Run(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = flushGrace
	}
	start := a.replayFrom(ctx)
	cons, err := a.js.OrderedConsumer(ctx, StreamMetrics, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{events.SubjectMetrics + ".>"},
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
	})
	if err != nil {
		return fmt.Errorf("follow %s: %w", StreamMetrics, err)
	}
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		m, source, err := decodeMetric(msg.Data())
		if err != nil {
			a.log.Debug("skip bad sample", "subject", msg.Subject(), "error", err)
			return
		}
		if strings.HasSuffix(source, "/import") {
			return
		}
		if err := a.Add(ctx, m); err != nil && ctx.Err() == nil {
			a.log.Warn("store rollup", "error", err)
		}
	})
	if err != nil {
		return fmt.Errorf("follow %s: %w", StreamMetrics, err)
	}
	defer cc.Stop()
	a.log.Info("history aggregator started", "replay_from", start)

	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			cc.Stop()
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := a.Flush(fctx, a.now().Add(-flushGrace)); err != nil {
				a.log.Warn("flush rollups on stop", "error", err)
			}
			return nil
		case <-tick.C:
			if err := a.flushQuiet(ctx, a.now().Add(-flushGrace)); err != nil && ctx.Err() == nil {
				a.log.Warn("flush rollups", "error", err)
			}
		}
	}
}

// replayFrom returns where Run starts reading METRICS: the start of the
// previous hour, or earlier when the newest hourly rollup stored is older,
// but no more than maxReplay back.
func (a *Aggregator) replayFrom(ctx context.Context) time.Time {
	now := a.now()
	from := now.Truncate(time.Hour).Add(-time.Hour)
	st, err := a.js.Stream(ctx, StreamRollups)
	if err != nil {
		return from
	}
	msg, err := st.GetLastMsgForSubject(ctx, SubjectRollups+".1h.>")
	if err != nil {
		// No rollup yet, or none readable: the previous hour will do.
		return from
	}
	var r Rollup
	if json.Unmarshal(msg.Data, &r) != nil || r.Start.IsZero() {
		return from
	}
	if next := r.Start.Add(time.Hour); next.Before(from) {
		from = next
	}
	if oldest := now.Add(-maxReplay); from.Before(oldest) {
		from = oldest
	}
	return from
}

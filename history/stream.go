package history

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Stream names and subject roots.
const (
	// StreamRollups holds the rollups of every series.
	StreamRollups = "ROLLUPS"
	// StreamMetrics is where the collector stores raw samples.
	StreamMetrics = "METRICS"
	// SubjectRollups is the root of tend.rollup.<res>.<host>.<metric>.
	SubjectRollups = "tend.rollup"
)

// StreamConfig returns the ROLLUPS stream's configuration: file storage,
// per-message TTLs (each rollup carries the retention of its resolution),
// and a two-minute duplicate window for the Nats-Msg-Id of each bucket.
func StreamConfig(c Config, replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        StreamRollups,
		Description: "tend metric rollups at 1m and 1h",
		Subjects:    []string{SubjectRollups + ".>"},
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
		MaxAge:      max(c.Minute.D(), c.Hour.D()),
		AllowMsgTTL: true,
		PersistMode: jetstream.AsyncPersistMode,
		Duplicates:  2 * time.Minute,
	}
}

// EnsureStream creates the ROLLUPS stream, or updates it to c.
func EnsureStream(ctx context.Context, js jetstream.JetStream, c Config, replicas int) error {
	if _, err := js.CreateOrUpdateStream(ctx, StreamConfig(c, replicas)); err != nil {
		return fmt.Errorf("create stream %s: %w", StreamRollups, err)
	}
	return nil
}

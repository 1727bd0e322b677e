package history

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// Store reads and imports history through a JetStream handle. It holds no
// state of its own and is safe for concurrent use.
type Store struct {
	js  jetstream.JetStream
	cfg Config
	log *slog.Logger
	now func() time.Time
	// Host names imported samples that carry no host. Default "import".
	Host string
}

// New returns a store reading METRICS and ROLLUPS through js, with
// retention from cfg. A nil logger discards.
func New(js jetstream.JetStream, cfg Config, logger *slog.Logger) *Store {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Store{js: js, cfg: cfg, log: logger, now: time.Now, Host: "import"}
}

// Metrics returns the names of the metrics with rollups or raw samples
// stored, sorted. Names are read back from subjects, so a name holding
// characters a subject token cannot carry comes back with underscores.
func (s *Store) Metrics(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	collect := func(stream, filter string, skip int) error {
		st, err := s.js.Stream(ctx, stream)
		if err != nil {
			return fmt.Errorf("open stream %s: %w", stream, err)
		}
		info, err := st.Info(ctx, jetstream.WithSubjectFilter(filter))
		if err != nil {
			return fmt.Errorf("list subjects of %s: %w", stream, err)
		}
		for subj := range info.State.Subjects {
			tokens := strings.Split(subj, ".")
			if len(tokens) > skip {
				seen[strings.Join(tokens[skip:], ".")] = true
			}
		}
		return nil
	}
	// tend.rollup.<res>.<host>.<name...> and tend.metric.<host>.<name...>
	if err := collect(StreamRollups, SubjectRollups+".1h.>", 4); err != nil {
		return nil, err
	}
	if err := collect(StreamMetrics, "tend.metric.>", 3); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out, nil
}

// read delivers every message on stream matching filters and stored at or
// after start, in order, to fn. It uses an ephemeral consumer that acks
// nothing and reads exactly the messages present when it began.
func (s *Store) read(ctx context.Context, stream string, filters []string, start time.Time,
	fn func(jetstream.Msg) error) error {
	cfg := jetstream.ConsumerConfig{
		DeliverPolicy:     jetstream.DeliverByStartTimePolicy,
		OptStartTime:      &start,
		AckPolicy:         jetstream.AckNonePolicy,
		InactiveThreshold: time.Minute,
		MemoryStorage:     true,
	}
	if len(filters) == 1 {
		cfg.FilterSubject = filters[0]
	} else {
		cfg.FilterSubjects = filters
	}
	cons, err := s.js.CreateConsumer(ctx, stream, cfg)
	if err != nil {
		return fmt.Errorf("create reader on %s: %w", stream, err)
	}
	info := cons.CachedInfo()
	defer func() {
		// A bounded context of its own: the reader must go even when ctx
		// was cancelled; InactiveThreshold removes it otherwise.
		dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = s.js.DeleteConsumer(dctx, stream, info.Name)
	}()

	left := info.NumPending
	if left == 0 {
		return nil
	}
	it, err := cons.Messages(jetstream.PullMaxMessages(4096))
	if err != nil {
		return fmt.Errorf("read %s: %w", stream, err)
	}
	defer it.Stop()
	for ; left > 0; left-- {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			return fmt.Errorf("read %s: %w", stream, err)
		}
		if err := fn(msg); err != nil {
			return err
		}
	}
	return nil
}

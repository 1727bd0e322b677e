package bus

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Stream and bucket names.
const (
	StreamMetrics    = "METRICS"
	StreamEvents     = "EVENTS"
	StreamDeadLetter = "DEADLETTER"
	StreamDeliveries = "DELIVERIES"

	BucketState     = "tend_state"
	BucketRefs      = "tend_refs"
	BucketStats     = "tend_stats"
	BucketDelivered = "tend_delivered"
	BucketSeen      = "tend_seen"
)

// Options say where the bus lives.
type Options struct {
	// URL connects to an external NATS; empty embeds a server.
	URL string
	// DataDir holds the embedded server's JetStream store.
	DataDir string
	// Listen opens a client port on the embedded server ("127.0.0.1:4333").
	Listen string
	// Name identifies this process to NATS.
	Name   string
	Config config.Bus
	Logger *slog.Logger
	// OnClosed, if set, is called when the connection closes for good (not
	// when it reconnects). A hub cut off its bus can do nothing useful.
	OnClosed func(err error)
}

// Bus is an open connection to JetStream with tend's streams and buckets.
// It is safe for concurrent use.
type Bus struct {
	Server *server.Server // nil when connected to an external NATS
	Conn   *nats.Conn
	JS     jetstream.JetStream

	State jetstream.KeyValue
	Refs  jetstream.KeyValue
	Stats jetstream.KeyValue
	// Delivered marks deliveries done, for a day, so a crash that loses
	// JetStream's acknowledgements does not deliver anything twice.
	Delivered jetstream.KeyValue
	// Seen remembers inbound delivery ids for a week (GitHub redelivers
	// for three days), so a redelivered webhook starts nothing twice.
	Seen jetstream.KeyValue

	// Embedded is when this process started the NATS server it uses.
	Embedded time.Time

	log *slog.Logger
}

// Open starts or connects to NATS and makes sure every stream and bucket
// exists with the configured limits. It blocks until JetStream is ready.
func Open(ctx context.Context, o Options) (*Bus, error) {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	b := &Bus{log: o.Logger}

	if o.URL == "" {
		if err := b.startServer(o); err != nil {
			return nil, err
		}
	}
	if err := b.connect(o); err != nil {
		b.Close()
		return nil, err
	}
	if err := b.ensure(ctx, o.Config); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

func (b *Bus) startServer(o Options) error {
	storeDir := filepath.Join(o.DataDir, "jetstream")
	if err := os.MkdirAll(storeDir, 0o700); err != nil {
		return fmt.Errorf("create store dir: %w", err)
	}
	opts := &server.Options{
		ServerName:         o.Name,
		JetStream:          true,
		StoreDir:           storeDir,
		DontListen:         o.Listen == "",
		NoSigs:             true,
		NoLog:              true,
		MaxPayload:         8 << 20,
		SyncAlways:         o.Config.SyncAlways,
		JetStreamMaxMemory: 64 << 20,
	}
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return fmt.Errorf("bus.listen %q: want host:port: %w", o.Listen, err)
		}
		opts.Host = host
		if opts.Port, err = strconv.Atoi(port); err != nil {
			return fmt.Errorf("bus.listen %q: bad port", o.Listen)
		}
	}
	ns, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("start nats: %w", err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		ns.Shutdown()
		return errors.New("start nats: not ready after 10s (is the store locked by another tend?)")
	}
	b.Server = ns
	b.Embedded = time.Now()
	return nil
}

func (b *Bus) connect(o Options) error {
	opts := []nats.Option{
		nats.Name("tend " + o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(500 * time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				b.log.Warn("bus disconnected", "error", err)
			}
		}),
		nats.ReconnectHandler(func(*nats.Conn) { b.log.Info("bus reconnected") }),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if o.OnClosed != nil {
				o.OnClosed(nc.LastError())
			}
		}),
	}
	url := o.URL
	if b.Server != nil {
		opts = append(opts, nats.InProcessServer(b.Server))
		url = ""
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("connect to nats %s: %w", config.RedactURL(o.URL), err)
	}
	b.Conn = nc
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(4096))
	if err != nil {
		return fmt.Errorf("open jetstream: %w", err)
	}
	b.JS = js
	return nil
}

func (b *Bus) ensure(ctx context.Context, c config.Bus) error {
	replicas := max(c.Replicas, 1)
	streams := []jetstream.StreamConfig{
		{
			Name:        StreamMetrics,
			Description: "tend metric samples",
			Subjects:    []string{events.SubjectMetrics + ".>"},
			MaxAge:      c.MetricsMaxAge.D(),
			Duplicates:  time.Minute,
		},
		{
			Name:        StreamEvents,
			Description: "tend alerts, optimization runs, triggers, reports",
			Subjects: []string{
				events.SubjectAlerts + ".>", events.SubjectOptimization + ".>",
				events.SubjectTrigger + ".>", events.SubjectReport + ".>",
				events.SubjectTest + ".>", events.SubjectReplay + ".>",
				events.SubjectNotify + ".>",
			},
			MaxAge:     c.EventsMaxAge.D(),
			Duplicates: 10 * time.Minute,
		},
		{
			Name:        StreamDeadLetter,
			Description: "tend deliveries that failed for good",
			Subjects:    []string{events.SubjectDeadLetter + ".>"},
			MaxAge:      c.DeadLetterMaxAge.D(),
		},
		{
			Name:        StreamDeliveries,
			Description: "tend delivery log: every attempt",
			Subjects:    []string{events.SubjectDelivery + ".>"},
			MaxAge:      c.DeliveryLogMaxAge.D(),
		},
	}
	for _, sc := range streams {
		sc.Storage = jetstream.FileStorage
		sc.Replicas = replicas
		if _, err := b.JS.CreateOrUpdateStream(ctx, sc); err != nil {
			return fmt.Errorf("create stream %s: %w", sc.Name, err)
		}
	}

	var err error
	kv := func(name, desc string, ttl ...time.Duration) jetstream.KeyValue {
		if err != nil {
			return nil
		}
		var bucket jetstream.KeyValue
		cfg := jetstream.KeyValueConfig{
			Bucket: name, Description: desc, Storage: jetstream.FileStorage,
			Replicas: replicas, History: 1,
		}
		if len(ttl) > 0 {
			cfg.TTL = ttl[0]
		}
		bucket, err = b.JS.CreateOrUpdateKeyValue(ctx, cfg)
		if err != nil {
			err = fmt.Errorf("create bucket %s: %w", name, err)
		}
		return bucket
	}
	b.State = kv(BucketState, "tend state: optimizer, rules, silences, ordering")
	b.Refs = kv(BucketRefs, "tend outside references by fingerprint")
	b.Stats = kv(BucketStats, "tend integration analytics")
	b.Delivered = kv(BucketDelivered, "tend deliveries done, by integration and event", 24*time.Hour)
	b.Seen = kv(BucketSeen, "tend inbound delivery ids already taken", 7*24*time.Hour)
	return err
}

// Publish stores ev on its subject and returns once JetStream acknowledged
// it. The event id is the Nats-Msg-Id, so a republished event is dropped.
func (b *Bus) Publish(ctx context.Context, ev events.Event) error {
	subject, err := Subject(ev)
	if err != nil {
		return err
	}
	return b.PublishTo(ctx, subject, ev)
}

// ErrSubjectTooLong is returned for a subject NATS would refuse by closing
// the connection.
var ErrSubjectTooLong = errors.New("subject too long")

// maxSubject keeps every control line well under NATS's 4 KiB limit.
const maxSubject = 1024

func checkSubject(subject string) error {
	if len(subject) > maxSubject {
		return fmt.Errorf("%w: %d bytes (names are limited to %d)",
			ErrSubjectTooLong, len(subject), events.MaxNameLen)
	}
	return nil
}

// PublishTo stores ev on subject and waits for the acknowledgement.
func (b *Bus) PublishTo(ctx context.Context, subject string, ev events.Event) error {
	if err := checkSubject(subject); err != nil {
		return err
	}
	data, err := ev.Marshal()
	if err != nil {
		return fmt.Errorf("encode event %s: %w", ev.ID, err)
	}
	if _, err := b.JS.Publish(ctx, subject, data, jetstream.WithMsgID(ev.ID)); err != nil {
		return fmt.Errorf("publish %s to %s: %w", ev.Type, subject, err)
	}
	return nil
}

// Subject returns the subject an event travels on.
func Subject(ev events.Event) (string, error) {
	switch {
	case ev.Type == events.TypeMetric:
		var m events.Metric
		if err := ev.Decode(&m); err != nil {
			return "", err
		}
		return events.MetricSubject(m.Host, m.Name), nil
	case ev.IsAlert():
		var a events.Alert
		if err := ev.Decode(&a); err != nil {
			return "", err
		}
		return events.AlertSubject(a.Status, a.Fingerprint), nil
	}
	key := ev.Subject
	if key == "" {
		key = ev.ID
	}
	return events.SubjectFor(ev.Type, key), nil
}

// Close drains the connection, so acknowledgements in flight are sent, and
// shuts the embedded server down, closing the store.
func (b *Bus) Close() {
	if b.Conn != nil {
		_ = b.Conn.Drain()
		deadline := time.Now().Add(3 * time.Second)
		for !b.Conn.IsClosed() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		b.Conn.Close()
	}
	if b.Server != nil {
		b.Server.Shutdown()
		b.Server.WaitForShutdown()
	}
}

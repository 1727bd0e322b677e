package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/events"
)

// Import formats.
const (
	FormatJSONLines = "jsonl"
	FormatCSV       = "csv"
)

// maxLineErrors is how many malformed lines an [ImportResult] names.
const maxLineErrors = 10

// importBatch is how many samples are sent before the acknowledgements of
// the batch before are awaited: two batches are in flight at most.
const importBatch = 8192

// ImportResult says what an import did.
type ImportResult struct {
	// Lines counts the non-blank lines read, a CSV header included.
	Lines int `json:"lines"`
	// Imported counts samples stored (raw, rolled up, or both).
	Imported int `json:"imported"`
	// RollupOnly counts samples older than the raw retention: they went
	// into rollups only.
	RollupOnly int `json:"rollup_only"`
	// Late counts samples left out of the rollups because their series had
	// already moved to a later hour: an import must be in time order per
	// series (any order across series). They are still stored raw.
	Late uint64 `json:"late"`
	// Skipped counts malformed lines; Errors names the first few.
	Skipped int         `json:"skipped"`
	Errors  []LineError `json:"errors,omitempty"`
	// Rollups counts rollups stored.
	Rollups uint64        `json:"rollups"`
	Elapsed time.Duration `json:"elapsed"`
}

// LineError is one malformed line of an import.
type LineError struct {
	Line int    `json:"line"`
	Err  string `json:"error"`
}

func (e LineError) String() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// Import reads samples from r and stores them as if the collector had: each
// goes to METRICS as a metric event (unless older than the raw retention)
// and through an [Aggregator] to ROLLUPS. format is [FormatJSONLines], one
// object a line:
//
//	{"name":"host.cpu.percent","value":12.5,"time":"2026-03-01T10:00:00Z","labels":{"cpu":"0"},"host":"web-1"}
//
// or [FormatCSV], `time,name,value[,host]` with an optional header line; ""
// guesses from the first line. time is RFC 3339 or Unix seconds (or ms, µs,
// ns, told apart by size). A missing host is [Store.Host].
//
// Malformed lines are skipped and counted, never fatal. Importing a file
// twice stores its raw samples twice (they carry no Nats-Msg-Id, see
// importer.publish); its rollups are stored again too, but a query counts
// each hour of a series once. Import returns when every sample is
// acknowledged; an error means the bus refused writes or ctx ended, and the
// result counts what was done until then.
func (s *Store) Import(ctx context.Context, r io.Reader, format string) (ImportResult, error) {
	began := time.Now()
	res := ImportResult{}
	switch format {
	case "", FormatJSONLines, "json", "ndjson", FormatCSV:
	default:
		return res, fmt.Errorf("import %q: %w (want %s or %s)", format, ErrFormat, FormatJSONLines, FormatCSV)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), 1<<20)

	im := &importer{
		s:        s,
		agg:      NewAggregator(s.js, s.cfg, s.log),
		rawAfter: s.now().Add(-s.cfg.Raw.D()),
		source:   "tend://" + s.Host + "/import",
		idPrefix: events.NewID()[:16] + "-",
		strs:     map[string]string{},
		subjects: map[[2]string]string{},
	}
	im.agg.now = s.now

	err := im.run(ctx, sc, format, &res)
	if ferr := im.finish(ctx); err == nil {
		err = ferr
	}
	st := im.agg.Stats()
	res.Rollups, res.Late = st.Flushed, st.Late
	res.Elapsed = time.Since(began)
	if res.Skipped > 0 {
		s.log.Warn("import skipped malformed lines", "skipped", res.Skipped, "first", res.Errors[0].String())
	}
	return res, err
}

type importer struct {
	s        *Store
	agg      *Aggregator
	rawAfter time.Time
	source   string
	idPrefix string

	// strs interns names and hosts; subjects caches each series' subject.
	// An import repeats a few series millions of times.
	strs     map[string]string
	subjects map[[2]string]string

	buf, held   []byte
	heldSubject string
	sent        uint64
	prev        []jetstream.PubAckFuture
}

// maxInterned bounds the interned strings, should labels carry ids.
const maxInterned = 100_000

func (im *importer) intern(b []byte) string {
	if s, ok := im.strs[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(im.strs) < maxInterned {
		im.strs[s] = s
	}
	return s
}

func (im *importer) run(ctx context.Context, sc *bufio.Scanner, format string, res *ImportResult) error {
	line := 0
	for sc.Scan() {
		line++
		text := bytes.TrimSpace(sc.Bytes())
		if len(text) == 0 {
			continue
		}
		res.Lines++
		if format == "" {
			format = FormatCSV
			if text[0] == '{' {
				format = FormatJSONLines
			}
		}

		var m events.Metric
		var err error
		switch format {
		case FormatJSONLines, "json", "ndjson":
			var ok bool
			if m, ok, err = im.parseJSONFast(text); !ok {
				m, err = parseJSONLine(text)
			}
		case FormatCSV:
			if res.Lines == 1 && bytes.HasPrefix(text, []byte("time,")) {
				continue
			}
			m, err = im.parseCSVLine(text)
		default:
			return fmt.Errorf("import %q: %w (want %s or %s)", format, ErrFormat, FormatJSONLines, FormatCSV)
		}
		if err != nil {
			res.Skipped++
			if len(res.Errors) < maxLineErrors {
				res.Errors = append(res.Errors, LineError{Line: line, Err: err.Error()})
			}
			continue
		}
		if m.Host == "" {
			m.Host = im.s.Host
		}
		m.Source, _, _ = strings.Cut(m.Name, ".")

		if m.Time.After(im.rawAfter) {
			if err := im.publish(ctx, &m); err != nil {
				return err
			}
		} else {
			res.RollupOnly++
		}
		if err := im.agg.Add(ctx, m); err != nil {
			return fmt.Errorf("import line %d: %w", line, err)
		}
		res.Imported++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read import after line %d: %w", line, err)
	}
	return nil
}

// publish sends the sample m. It holds each message back until the next
// one comes, so the last of an import is sent with an acknowledgement.
//
// Imported samples carry no Nats-Msg-Id: METRICS forgets ids after a
// minute, shorter than most imports take, and remembering millions of them
// would double the import's cost. Their event ids are a random prefix and a
// counter.
func (im *importer) publish(ctx context.Context, m *events.Metric) error {
	key := [2]string{m.Host, m.Name}
	subject, ok := im.subjects[key]
	if !ok {
		subject = events.MetricSubject(m.Host, m.Name)
		im.subjects[key] = subject
	}
	id := strconv.AppendUint([]byte(im.idPrefix), im.sent+1, 16)
	im.buf = appendMetricEvent(im.buf[:0], string(id), im.source, m)

	var err error
	if im.held != nil {
		err = im.send(ctx, im.heldSubject, im.held, false)
	}
	im.buf, im.held, im.heldSubject = im.held, im.buf, subject
	return err
}

// send publishes data. Only the last message of each batch (or of the
// import) asks for an acknowledgement: the stream stores one connection's
// messages in order, so that acknowledgement vouches for the whole batch,
// and samples travel without reply subjects or futures to track.
func (im *importer) send(ctx context.Context, subject string, data []byte, last bool) error {
	im.sent++
	if !last && im.sent%importBatch != 0 {
		if err := im.s.js.Conn().Publish(subject, data); err != nil {
			return fmt.Errorf("publish sample on %s: %w", subject, err)
		}
		return nil
	}
	f, err := im.s.js.PublishMsgAsync(&nats.Msg{Subject: subject, Data: bytes.Clone(data)})
	if err != nil {
		return fmt.Errorf("publish sample on %s: %w", subject, err)
	}
	// Wait for the batch before this one while this one is on its way:
	// it bounds what is in flight to two batches.
	err = awaitAll(ctx, im.prev)
	im.prev = append(im.prev[:0], f)
	return err
}

// finish sends the held message, waits until every sample is stored, and
// stores the buckets still open.
func (im *importer) finish(ctx context.Context) error {
	var err error
	if im.held != nil {
		err = im.send(ctx, im.heldSubject, im.held, true)
		im.held = nil
	}
	err = errors.Join(err, awaitAll(ctx, im.prev))
	im.prev = nil
	return errors.Join(err, im.agg.FlushAll(ctx))
}

func awaitAll(ctx context.Context, fs []jetstream.PubAckFuture) error {
	for _, f := range fs {
		select {
		case <-f.Ok():
		case err := <-f.Err():
			return fmt.Errorf("store sample on %s: %w", f.Msg().Subject, err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

type jsonSample struct {
	Name   string            `json:"name"`
	Value  *float64          `json:"value"`
	Time   json.RawMessage   `json:"time"`
	Labels map[string]string `json:"labels"`
	Host   string            `json:"host"`
	Unit   string            `json:"unit"`
}

func parseJSONLine(b []byte) (events.Metric, error) {
	var js jsonSample
	if err := json.Unmarshal(b, &js); err != nil {
		return events.Metric{}, fmt.Errorf("bad JSON: %w", err)
	}
	if js.Value == nil {
		return events.Metric{}, errValueRequired
	}
	if len(js.Time) == 0 {
		return events.Metric{}, errors.New("time is required")
	}
	raw := string(js.Time)
	if s, err := strconv.Unquote(raw); err == nil {
		raw = s
	}
	t, err := parseTime(raw)
	if err != nil {
		return events.Metric{}, err
	}
	m := events.Metric{
		Name: js.Name, Value: *js.Value, Time: t, Labels: js.Labels, Host: js.Host, Unit: js.Unit,
	}
	return m, checkSample(m)
}

func (im *importer) parseCSVLine(b []byte) (events.Metric, error) {
	var fields [4][]byte
	n := 0
	for rest := b; ; n++ {
		if n == len(fields) {
			return events.Metric{}, errors.New("want time,name,value[,host], got more than 4 fields")
		}
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			fields[n] = bytes.TrimSpace(rest)
			n++
			break
		}
		fields[n] = bytes.TrimSpace(rest[:i])
		rest = rest[i+1:]
	}
	if n < 3 {
		return events.Metric{}, fmt.Errorf("want time,name,value[,host], got %d fields", n)
	}
	t, err := parseTime(string(fields[0]))
	if err != nil {
		return events.Metric{}, err
	}
	v, err := strconv.ParseFloat(string(fields[2]), 64)
	if err != nil {
		return events.Metric{}, fmt.Errorf("bad value %q", fields[2])
	}
	m := events.Metric{Name: im.intern(fields[1]), Value: v, Time: t}
	if n == 4 {
		m.Host = im.intern(fields[3])
	}
	return m, checkSample(m)
}

func checkSample(m events.Metric) error {
	switch {
	case m.Name == "":
		return errors.New("name is required")
	case !events.ValidName(m.Name) || !events.ValidName(m.Host) && m.Host != "":
		return fmt.Errorf("name or host longer than %d characters", events.MaxNameLen)
	case math.IsNaN(m.Value) || math.IsInf(m.Value, 0):
		return fmt.Errorf("value %v is not a finite number", m.Value)
	case m.Time.IsZero():
		return errors.New("time is required")
	}
	return nil
}

// parseTime reads RFC 3339 or a Unix time in s, ms, µs or ns, told apart
// by magnitude.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, errors.New("time is required")
	}
	if c := s[0]; c >= '0' && c <= '9' && !strings.ContainsAny(s, "-:T") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("bad time %q", s)
		}
		switch {
		case f >= 1e17:
			return time.Unix(0, int64(f)).UTC(), nil
		case f >= 1e14:
			return time.UnixMicro(int64(f)).UTC(), nil
		case f >= 1e11:
			return time.UnixMilli(int64(f)).UTC(), nil
		}
		sec, frac := math.Modf(f)
		return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad time %q: want RFC 3339 or Unix seconds", s)
	}
	return t.UTC(), nil
}

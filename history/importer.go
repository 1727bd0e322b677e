package history

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
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

// ErrFormat is returned for an import format tend does not read.
var ErrFormat = errors.New("unknown import format")

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
// Malformed lines are skipped and counted, never fatal. Event ids are
// derived from the sample, so importing a file twice within METRICS'
// duplicate window stores it once. Import returns when every sample is
// acknowledged; an error means the bus refused writes or ctx ended, and the
// result counts what was done until then.
func (s *Store) Import(ctx context.Context, r io.Reader, format string) (ImportResult, error) {
	began := time.Now()
	res := ImportResult{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256<<10), 1<<20)

	im := &importer{
		s:        s,
		agg:      NewAggregator(s.js, s.cfg, s.log),
		rawAfter: s.now().Add(-s.cfg.Raw.D()),
		source:   "tend://" + s.Host + "/import",
	}
	im.agg.now = s.now

	err := im.run(ctx, sc, format, &res)
	if ferr := im.finish(ctx); err == nil {
		err = ferr
	}
	res.Rollups = im.agg.Stats().Flushed
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

	buf      []byte
	inFlight []jetstream.PubAckFuture
	prev     []jetstream.PubAckFuture
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
			m, err = parseJSONLine(text)
		case FormatCSV:
			if res.Lines == 1 && bytes.HasPrefix(text, []byte("time,")) {
				continue
			}
			m, err = parseCSVLine(text)
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

func (im *importer) publish(ctx context.Context, m *events.Metric) error {
	id := importID(m)
	im.buf = appendMetricEvent(im.buf[:0], id, im.source, m)
	msg := &nats.Msg{
		Subject: events.MetricSubject(m.Host, m.Name),
		Data:    bytes.Clone(im.buf),
		Header:  nats.Header{jetstream.MsgIDHeader: []string{id}},
	}
	f, err := im.s.js.PublishMsgAsync(msg)
	if err != nil {
		return fmt.Errorf("publish sample on %s: %w", msg.Subject, err)
	}
	im.inFlight = append(im.inFlight, f)
	if len(im.inFlight) < importBatch {
		return nil
	}
	// Wait for the batch before this one while this one is on its way.
	err = awaitAll(ctx, im.prev)
	im.prev, im.inFlight = im.inFlight, im.prev[:0]
	return err
}

func (im *importer) finish(ctx context.Context) error {
	err := errors.Join(awaitAll(ctx, im.prev), awaitAll(ctx, im.inFlight))
	im.prev, im.inFlight = nil, nil
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

// importID derives an event id from the sample itself, so the same sample
// imported twice gets the same Nats-Msg-Id.
func importID(m *events.Metric) string {
	h := fnv.New128a()
	h.Write([]byte(seriesID(m.Host, m.Name, m.Labels)))
	var b [16]byte
	binary.LittleEndian.PutUint64(b[:8], uint64(m.Time.UnixNano()))
	binary.LittleEndian.PutUint64(b[8:], math.Float64bits(m.Value))
	h.Write(b[:])
	return hex.EncodeToString(h.Sum(nil))
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
		return events.Metric{}, errors.New("value is required")
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

func parseCSVLine(b []byte) (events.Metric, error) {
	fields := strings.Split(string(b), ",")
	if len(fields) < 3 || len(fields) > 4 {
		return events.Metric{}, fmt.Errorf("want time,name,value[,host], got %d fields", len(fields))
	}
	for i := range fields {
		fields[i] = strings.TrimSpace(fields[i])
	}
	t, err := parseTime(fields[0])
	if err != nil {
		return events.Metric{}, err
	}
	v, err := strconv.ParseFloat(fields[2], 64)
	if err != nil {
		return events.Metric{}, fmt.Errorf("bad value %q", fields[2])
	}
	m := events.Metric{Name: fields[1], Value: v, Time: t}
	if len(fields) == 4 {
		m.Host = fields[3]
	}
	return m, checkSample(m)
}

func checkSample(m events.Metric) error {
	switch {
	case m.Name == "":
		return errors.New("name is required")
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

package collector

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/internal/proc"
)

func init() { Register("exec", newExec) }

// ExecSettings configure a command whose output is parsed into samples.
type ExecSettings struct {
	// Command is the program and its arguments; no shell is involved.
	Command []string `yaml:"command"`
	// Env adds variables to the command's environment.
	Env map[string]string `yaml:"env"`
	// Format is "auto" (default), "lines" (NAME VALUE) or "prometheus".
	Format string `yaml:"format" default:"auto"`
}

type execSource struct {
	name  string
	set   ExecSettings
	log   *slog.Logger
	stats *Stats

	once sync.Once // logs the first malformed line only
}

func newExec(spec config.Source, deps Deps) (Source, error) {
	var set ExecSettings
	if err := spec.Settings.Decode(&set); err != nil {
		return nil, err
	}
	if len(set.Command) == 0 {
		return nil, spec.Settings.Errorf("command", "exec needs a command, e.g. [\"cat\", \"/tmp/value.txt\"]")
	}
	switch set.Format {
	case "auto", "lines", "prometheus":
	default:
		return nil, spec.Settings.Errorf("format", "unknown format %q: use auto, lines or prometheus", set.Format)
	}
	return &execSource{name: spec.Name, set: set, log: deps.Logger, stats: deps.Stats}, nil
}

// Collect runs the command once and parses its standard output. A
// malformed line is skipped and counted, never fatal.
func (e *execSource) Collect(ctx context.Context) ([]Sample, error) {
	cmd := proc.Command(ctx, e.set.Command[0], e.set.Command[1:]...)
	for k, v := range e.set.Env {
		cmd.Env = append(cmd.Environ(), k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("run %s: timed out: %w", e.set.Command[0], context.Cause(ctx))
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 200 {
			msg = msg[:200]
		}
		if msg != "" {
			return nil, fmt.Errorf("run %s: %w: %s", e.set.Command[0], err, msg)
		}
		return nil, fmt.Errorf("run %s: %w", e.set.Command[0], err)
	}

	samples, bad := ParseText(out, e.set.Format)
	for _, b := range bad {
		e.stats.AddParseError(e.name)
		e.once.Do(func() {
			e.log.Warn("skipping malformed output line",
				"line", b.Line,
				"error", b.Err,
				"note", "logged once per source; all are counted in tend_parse_errors_total")
		})
	}
	return samples, nil
}

// BadLine is a line ParseText could not read.
type BadLine struct {
	Line int
	Err  error
}

// ParseText reads "NAME VALUE" lines, a bare number (named "value"), or
// the Prometheus text exposition format (labels kept, comments skipped). format "auto" accepts both, line by
// line.
func ParseText(out []byte, format string) ([]Sample, []BadLine) {
	var samples []Sample
	var bad []BadLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		s, err := parseLine(line, format)
		if err != nil {
			bad = append(bad, BadLine{Line: n, Err: err})
			continue
		}
		samples = append(samples, s)
	}
	if err := sc.Err(); err != nil {
		bad = append(bad, BadLine{Line: -1, Err: fmt.Errorf("output cut short: %w", err)})
	}
	return samples, bad
}

var errMalformed = errors.New("want NAME VALUE or a Prometheus sample")

func parseLine(line, format string) (Sample, error) {
	if i := strings.IndexByte(line, '{'); i > 0 && format != "lines" {
		return parseProm(line, i)
	}
	fields := strings.Fields(line)
	if len(fields) == 1 {
		// A bare number is the source's "value": `echo 42` is enough.
		v, err := parseValue(fields[0])
		if err != nil {
			return Sample{}, errMalformed
		}
		return Sample{Name: "value", Value: v}, nil
	}
	if len(fields) < 2 || len(fields) > 3 {
		return Sample{}, errMalformed
	}
	v, err := parseValue(fields[1])
	if err != nil {
		return Sample{}, err
	}
	if len(fields[0]) > events.MaxNameLen {
		return Sample{}, fmt.Errorf("metric name of %d characters (at most %d)", len(fields[0]), events.MaxNameLen)
	}
	if !validName(fields[0]) {
		return Sample{}, fmt.Errorf("bad metric name %q", fields[0])
	}
	s := Sample{Name: fields[0], Value: v}
	if len(fields) == 3 && format != "lines" {
		ms, err := strconv.ParseInt(fields[2], 10, 64)
		if err != nil {
			return Sample{}, fmt.Errorf("bad timestamp %q", fields[2])
		}
		s.Time = time.UnixMilli(ms).UTC()
	} else if len(fields) == 3 {
		return Sample{}, errMalformed
	}
	return s, nil
}

// parseProm reads name{k="v",...} value [timestamp].
func parseProm(line string, brace int) (Sample, error) {
	name := line[:brace]
	end := strings.LastIndexByte(line, '}')
	if end < brace || !validName(name) {
		return Sample{}, errMalformed
	}
	labels, err := parseLabels(line[brace+1 : end])
	if err != nil {
		return Sample{}, err
	}
	rest := strings.Fields(line[end+1:])
	if len(rest) < 1 || len(rest) > 2 {
		return Sample{}, errMalformed
	}
	v, err := parseValue(rest[0])
	if err != nil {
		return Sample{}, err
	}
	s := Sample{Name: name, Value: v, Labels: labels}
	if len(rest) == 2 {
		ms, err := strconv.ParseInt(rest[1], 10, 64)
		if err != nil {
			return Sample{}, fmt.Errorf("bad timestamp %q", rest[1])
		}
		s.Time = time.UnixMilli(ms).UTC()
	}
	return s, nil
}

func parseLabels(s string) (map[string]string, error) {
	labels := map[string]string{}
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), ",")) {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 || eq+1 >= len(s) || s[eq+1] != '"' {
			return nil, fmt.Errorf("bad labels near %q", s)
		}
		key := strings.TrimSpace(s[:eq])
		val, n, err := unquote(s[eq+1:])
		if err != nil {
			return nil, err
		}
		labels[key] = val
		s = s[eq+1+n:]
	}
	return labels, nil
}

// unquote reads a double-quoted label value with \\, \" and \n escapes and
// returns it with the number of bytes consumed.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		switch c := s[i]; c {
		case '"':
			return b.String(), i + 1, nil
		case '\\':
			i++
			if i >= len(s) {
				return "", 0, errors.New("unterminated label value")
			}
			if s[i] == 'n' {
				b.WriteByte('\n')
			} else {
				b.WriteByte(s[i])
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", 0, errors.New("unterminated label value")
}

func parseValue(s string) (float64, error) {
	switch s {
	case "+Inf", "Inf":
		return 0, errors.New("infinite value")
	case "NaN":
		return 0, errors.New("NaN value")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("bad value %q", s)
	}
	return v, nil
}

func validName(s string) bool {
	if !events.ValidName(s) {
		return false
	}
	for i, r := range s {
		ok := r == '_' || r == '.' || r == ':' || r == '-' ||
			(r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (i > 0 && r >= '0' && r <= '9')
		if !ok {
			return false
		}
	}
	return true
}

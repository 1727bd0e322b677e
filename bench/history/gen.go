package history

import (
	"bytes"
	"io"
	"math"
	"strconv"
	"time"
)

// Week describes generated history: Metrics series sampled every Step from
// Start for Span.
type Week struct {
	Start   time.Time
	Span    time.Duration
	Step    time.Duration
	Metrics int
}

// Samples returns how many samples the week holds.
func (w Week) Samples() int { return int(w.Span/w.Step) * w.Metrics }

// Name returns the name of metric i.
func (w Week) Name(i int) string { return "bench.m" + strconv.Itoa(i) }

// Value returns metric i at sample k: a mix of shapes, so the report has
// rising, falling, flat, daily and spiky series to describe.
func (w Week) Value(i, k int) float64 {
	t := float64(k) * w.Step.Seconds()
	day := math.Sin(2 * math.Pi * t / 86400)
	noise := float64((k*7919+i*104729)%1000)/1000 - 0.5
	switch i % 5 {
	case 0: // rising, like a disk filling up
		return 20 + 50*t/w.Span.Seconds() + noise
	case 1: // falling
		return 80 - 30*t/w.Span.Seconds() + noise
	case 2: // flat with noise
		return 50 + noise
	case 3: // daily rhythm
		return 50 + 20*day + noise
	}
	// flat with a spike on day 5
	if k == int(5*86400/w.Step.Seconds()) {
		return 500
	}
	return 10 + noise
}

// CSV returns a reader producing the week as CSV, time-major, without
// holding it all in memory.
func (w Week) CSV() io.Reader {
	return &genReader{w: w, n: int(w.Span / w.Step)}
}

// JSONLines returns the week as JSON Lines, like CSV.
func (w Week) JSONLines() io.Reader {
	return &genReader{w: w, n: int(w.Span / w.Step), json: true}
}

type genReader struct {
	w    Week
	n, k int
	json bool
	buf  bytes.Buffer
}

func (r *genReader) Read(p []byte) (int, error) {
	for r.buf.Len() < len(p) && r.k < r.n {
		ts := r.w.Start.Add(time.Duration(r.k) * r.w.Step)
		b := r.buf.AvailableBuffer()
		for i := 0; i < r.w.Metrics; i++ {
			if r.json {
				b = append(b, `{"name":"`...)
				b = append(b, r.w.Name(i)...)
				b = append(b, `","value":`...)
				b = strconv.AppendFloat(b, r.w.Value(i, r.k), 'f', 3, 64)
				b = append(b, `,"time":"`...)
				b = ts.AppendFormat(b, time.RFC3339)
				b = append(b, `","host":"bench-host","labels":{"env":"bench"}}`+"\n"...)
				continue
			}
			b = strconv.AppendInt(b, ts.Unix(), 10)
			b = append(b, ',')
			b = append(b, r.w.Name(i)...)
			b = append(b, ',')
			b = strconv.AppendFloat(b, r.w.Value(i, r.k), 'f', 3, 64)
			b = append(b, ",bench-host\n"...)
		}
		r.buf.Write(b)
		r.k++
	}
	if r.buf.Len() == 0 {
		return 0, io.EOF
	}
	return r.buf.Read(p)
}

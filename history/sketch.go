package history

import (
	"math"
)

// Sketch accuracy: a quantile read from a sketch is within relativeAccuracy
// of a true sample value (1%). Values closer to zero than minIndexable are
// counted as zero.
const (
	relativeAccuracy = 0.01
	minIndexable     = 1e-9
	// maxBins bounds one side of a sketch; past it the lowest bins merge,
	// losing accuracy only for the smallest magnitudes.
	maxBins = 2048
)

var (
	gamma    = (1 + relativeAccuracy) / (1 - relativeAccuracy)
	logGamma = math.Log(gamma)
)

// Sketch is a mergeable quantile sketch with bounded relative error, after
// DDSketch: each value counts in a logarithmic bin, bins of two sketches add
// up, and a quantile is read from the bin holding its rank. The zero value
// is empty and ready to use. A Sketch is not safe for concurrent use.
type Sketch struct {
	Zero uint64 `json:"zero,omitempty"`
	Pos  Bins   `json:"pos,omitzero"`
	Neg  Bins   `json:"neg,omitzero"`
}

// Bins are contiguous counts of logarithmic bins starting at bin Offset.
type Bins struct {
	Offset int      `json:"o"`
	Counts []uint64 `json:"c"`
}

func binOf(v float64) int { return int(math.Ceil(math.Log(v) / logGamma)) }

// binValue is the point of bin i whose relative distance to every value in
// the bin is at most relativeAccuracy.
func binValue(i int) float64 { return 2 * math.Pow(gamma, float64(i)) / (gamma + 1) }

// Add counts v once. NaN is ignored.
func (s *Sketch) Add(v float64) {
	switch {
	case math.IsNaN(v):
	case v > minIndexable:
		s.Pos.add(binOf(v), 1)
	case v < -minIndexable:
		s.Neg.add(binOf(-v), 1)
	default:
		s.Zero++
	}
}

// Merge adds the counts of o to s.
func (s *Sketch) Merge(o *Sketch) {
	if o == nil {
		return
	}
	s.Zero += o.Zero
	for i, c := range o.Pos.Counts {
		if c > 0 {
			s.Pos.add(o.Pos.Offset+i, c)
		}
	}
	for i, c := range o.Neg.Counts {
		if c > 0 {
			s.Neg.add(o.Neg.Offset+i, c)
		}
	}
}

// Count returns how many values were added.
func (s *Sketch) Count() uint64 {
	return s.Zero + s.Pos.total() + s.Neg.total()
}

// Quantile returns the q-quantile (0 ≤ q ≤ 1) of the values added, within
// 1% of a true value, or NaN when the sketch is empty.
func (s *Sketch) Quantile(q float64) float64 {
	n := s.Count()
	if n == 0 {
		return math.NaN()
	}
	q = min(max(q, 0), 1)
	rank := uint64(q * float64(n-1))

	// Negative values: the largest magnitude is the smallest value.
	var seen uint64
	for i := len(s.Neg.Counts) - 1; i >= 0; i-- {
		seen += s.Neg.Counts[i]
		if seen > rank {
			return -binValue(s.Neg.Offset + i)
		}
	}
	seen += s.Zero
	if seen > rank {
		return 0
	}
	for i, c := range s.Pos.Counts {
		seen += c
		if seen > rank {
			return binValue(s.Pos.Offset + i)
		}
	}
	return binValue(s.Pos.Offset + len(s.Pos.Counts) - 1)
}

func (b *Bins) total() uint64 {
	var n uint64
	for _, c := range b.Counts {
		n += c
	}
	return n
}

func (b *Bins) add(i int, c uint64) {
	switch {
	case len(b.Counts) == 0:
		b.Offset = i
		b.Counts = append(b.Counts[:0], c)
		return
	case i < b.Offset:
		grow := b.Offset - i
		if len(b.Counts)+grow > maxBins {
			// Too wide: count it in the lowest bin there is room for.
			b.Counts[0] += c
			return
		}
		b.Counts = append(make([]uint64, grow, grow+len(b.Counts)), b.Counts...)
		b.Offset = i
	case i >= b.Offset+len(b.Counts):
		if need := i - b.Offset + 1; need > maxBins {
			b.collapse(need - maxBins)
		}
		for need := i - b.Offset + 1; len(b.Counts) < need; {
			b.Counts = append(b.Counts, 0)
		}
	}
	b.Counts[i-b.Offset] += c
}

// collapse moves the start of the bins up by n, folding the counts below
// the new start into its bin.
func (b *Bins) collapse(n int) {
	var sum uint64
	for _, c := range b.Counts[:min(n, len(b.Counts))] {
		sum += c
	}
	if n >= len(b.Counts) {
		b.Offset += n
		b.Counts = append(b.Counts[:0], sum)
		return
	}
	b.Counts = append(b.Counts[:0], b.Counts[n:]...)
	b.Counts[0] += sum
	b.Offset += n
}

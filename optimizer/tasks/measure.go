package tasks

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/tend-dev/tend/events"
)

// MinSamples is the fewest samples a measurement takes on each side.
const MinSamples = 3

// Summarize returns the count, median, min, max and median absolute
// deviation of xs. It returns a zero Stats for no samples.
func Summarize(xs []float64) events.Stats {
	if len(xs) == 0 {
		return events.Stats{}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := median(s)
	dev := make([]float64, len(s))
	for i, x := range s {
		dev[i] = math.Abs(x - med)
	}
	slices.Sort(dev)
	return events.Stats{N: len(s), Median: med, Min: s[0], Max: s[len(s)-1], Spread: median(dev)}
}

// median of sorted, non-empty s.
func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Percentile returns the p-th percentile (0..100) of xs by nearest rank, or
// 0 for no samples.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(0, min(len(s)-1, rank-1))]
}

// Compare reads a change from before to after. A change counts only when the
// medians differ by more than the two spreads together, the after median
// lies outside the before range [min, max], and the change is at least 1%
// of the before median; anything less is [NoChange]: within the noise the
// samples themselves show, or too small to be told from the task's own
// traffic (its lookups, its queries).
func Compare(before, after events.Stats, lowerIsBetter bool) string {
	if before.N == 0 || after.N == 0 {
		return NotMeasured
	}
	d := after.Median - before.Median
	if math.Abs(d) <= before.Spread+after.Spread || math.Abs(d) < 0.01*math.Abs(before.Median) {
		return NoChange
	}
	if before.Max > before.Min && after.Median >= before.Min && after.Median <= before.Max {
		return NoChange
	}
	// Overlapping ranges: some sample after is as good as one before, so
	// the samples cannot tell the two apart, whatever the medians say.
	spread := before.Max > before.Min || after.Max > after.Min
	if spread && after.Min <= before.Max && after.Max >= before.Min {
		return NoChange
	}
	if (d < 0) == lowerIsBetter {
		return Improved
	}
	return Worse
}

// compare is [Compare] with a floor under the change that counts.
func compare(before, after events.Stats, lowerIsBetter bool, minChange float64) string {
	if math.Abs(after.Median-before.Median) <= minChange {
		return NoChange
	}
	return Compare(before, after, lowerIsBetter)
}

// meter reads one quantity; the task samples it before and after.
type meter struct {
	name          string
	unit          string
	lowerIsBetter bool
	// n and every override the task's sample count and interval.
	n     int
	every time.Duration
	// minChange is the smallest change in the median that counts, for
	// quantities that move on their own (the load average).
	minChange float64
	// percentiles adds a step with p50 and p95 before and after.
	percentiles bool
	read        func(ctx context.Context) (float64, error)
}

// sampling is how many samples a meter takes and how far apart.
type sampling struct {
	n     int
	every time.Duration
}

func (s sampling) forMeter(m meter) sampling {
	out := s
	if m.n > 0 {
		out.n = m.n
	}
	if m.every > 0 {
		out.every = m.every
	}
	out.n = max(out.n, MinSamples)
	return out
}

// sample reads m n times, every apart. It stops at the first error.
func sample(ctx context.Context, m meter, s sampling) ([]float64, error) {
	xs := make([]float64, 0, s.n)
	for i := range s.n {
		if i > 0 && s.every > 0 {
			if err := wait(ctx, s.every); err != nil {
				return xs, err
			}
		}
		v, err := m.read(ctx)
		if err != nil {
			return xs, fmt.Errorf("measure %s: %w", m.name, err)
		}
		xs = append(xs, v)
	}
	return xs, nil
}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

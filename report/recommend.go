package report

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/tend-dev/tend/optimizer/analysis"
)

// Recommendation is one thing worth doing, with the figures behind it.
type Recommendation struct {
	// Priority orders recommendations: 1 act now, 2 soon, 3 look into.
	Priority int `json:"priority"`
	// Subject is the metric, rule, task or integration concerned.
	Subject  string             `json:"subject"`
	Text     string             `json:"text"`
	Evidence map[string]float64 `json:"evidence"`
}

// Thresholds of the recommendations.
const (
	// forecastHorizon: a limit reached sooner than this is worth a word.
	forecastHorizon = 7 * 24 * time.Hour
	// urgentHorizon: sooner than this, act now.
	urgentHorizon = 24 * time.Hour
	// trendWorth is the smallest relative change of a significant trend
	// worth a recommendation by itself.
	trendWorth = 0.10
	// flapCount and flapDuration: a rule firing this often, for this
	// short a median time, wants hysteresis.
	flapCount    = 5
	flapDuration = 10 * time.Minute
	// slowMTTR: incidents of a rule lasting this long on average.
	slowMTTR = time.Hour
	// failureRate of deliveries worth checking.
	failureRate = 0.05
)

func recommend(r *Report) []Recommendation {
	var out []Recommendation
	add := func(p int, subject string, ev map[string]float64, format string, args ...any) {
		out = append(out, Recommendation{
			Priority: p, Subject: subject, Text: fmt.Sprintf(format, args...), Evidence: ev,
		})
	}

	for _, m := range r.Metrics {
		switch {
		case m.NoData:
			add(3, m.Name, map[string]float64{"samples": 0},
				"%s has no samples in the period: check that its source is up and collected.", m.Name)
		case m.Forecast != nil && m.Forecast.Will && m.Trend.Significant() &&
			m.Forecast.SecondsUntil < forecastHorizon.Seconds():
			fc := m.Forecast
			p := 2
			if fc.SecondsUntil < urgentHorizon.Seconds() {
				p = 1
			}
			add(p, m.Name, fc.Evidence(),
				"%s will reach its limit %s in about %s at %s per hour (fitted now %s, r² %.2f): act before then.",
				m.Name, num(fc.Crossing), human(time.Duration(fc.SecondsUntil*float64(time.Second))),
				signed(fc.Trend.SlopePerHour), num(fc.Fitted), fc.Trend.R2)
		case m.Trend.Significant() && math.Abs(m.Trend.RelChange) >= trendWorth:
			add(3, m.Name, m.Trend.Evidence(),
				"%s is %s: %s over the period (%s%%, %s per hour, t %.1f); find what drives it.",
				m.Name, m.Trend.Verdict, signed(m.Trend.Change), signed(100*m.Trend.RelChange),
				signed(m.Trend.SlopePerHour), m.Trend.T)
		}
	}

	for _, a := range r.Anomalies {
		res := a.Result
		add(2, a.Metric, res.Evidence(),
			"%s had an unusual %s of %s at %s (other steps' %s: median %s, MAD %s, z %s): look at what happened then.",
			a.Metric, a.Of, num(res.Value), a.At.Format("2006-01-02 15:04"), a.Of, num(res.Median),
			num(res.MAD), zText(res.Z))
	}

	for _, ra := range r.Alerts.ByRule {
		if ra.Incidents >= flapCount && ra.MedianDuration != nil &&
			time.Duration(*ra.MedianDuration) < flapDuration {
			add(2, ra.Rule, map[string]float64{
				"incidents":               float64(ra.Incidents),
				"median_duration_seconds": time.Duration(*ra.MedianDuration).Seconds(),
			}, "Rule %s fired %d times, for %s at the median: add `for:` or a `clear:` bound so it stops flapping.",
				ra.Rule, ra.Incidents, human(time.Duration(*ra.MedianDuration)))
		}
		if ra.MTTR != nil && time.Duration(*ra.MTTR) >= slowMTTR {
			add(2, ra.Rule, map[string]float64{
				"resolved":     float64(ra.Resolved),
				"mttr_seconds": time.Duration(*ra.MTTR).Seconds(),
			}, "Rule %s took %s on average to resolve over %s: give it an optimization task or a runbook.",
				ra.Rule, human(time.Duration(*ra.MTTR)), plural(ra.Resolved, "incident"))
		}
	}

	type taskAcc struct{ runs, useless int }
	tasks := map[string]*taskAcc{}
	for _, run := range r.Runs {
		for _, t := range run.Tasks {
			ta := tasks[t.Task]
			if ta == nil {
				ta = &taskAcc{}
				tasks[t.Task] = ta
			}
			ta.runs++
			if t.Verdict == "worse" || t.Verdict == "no measurable change" {
				ta.useless++
			}
		}
	}
	for name, ta := range tasks {
		if ta.useless > 0 && ta.useless*2 >= ta.runs {
			add(3, name, map[string]float64{"runs": float64(ta.runs), "no_gain": float64(ta.useless)},
				"Task %s made no measurable change or made things worse in %d of %d runs: try another level or drop it.",
				name, ta.useless, ta.runs)
		}
	}

	for _, h := range r.Integrations {
		if h.DeadLettered > 0 || h.FailureRate() >= failureRate {
			p := 2
			if h.DeadLettered > 0 {
				p = 1
			}
			ev := map[string]float64{
				"delivered": float64(h.Delivered), "failed": float64(h.Failed),
				"dead_lettered": float64(h.DeadLettered), "failure_rate": h.FailureRate(),
			}
			text := fmt.Sprintf("Integration %s failed %d of %d attempts (%.1f%%) and dead-lettered %d",
				h.Name, h.Failed, h.Delivered+h.Failed, 100*h.FailureRate(), h.DeadLettered)
			if h.LastError != "" {
				text += "; last error: " + h.LastError
			}
			add(p, h.Name, ev, "%s. Check its settings, then replay the dead letters.", text)
		}
	}

	sort.SliceStable(out, func(i, j int) bool { return out[i].Priority < out[j].Priority })
	return out
}

// zText shows a z-score, saying so when the baseline had no spread.
func zText(z float64) string {
	if math.Abs(z) >= analysis.MaxZ {
		return "unbounded (the other steps were all equal)"
	}
	return fmt.Sprintf("%.1f", z)
}

package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// noData is what a missing figure reads as.
const noData = "no data"

// num formats v with about four significant digits, without exponents for
// everyday magnitudes.
func num(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e9 || a < 1e-3:
		return strconv.FormatFloat(v, 'g', 4, 64)
	case a >= 1000:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	decimals := 3 - int(math.Floor(math.Log10(a)))
	s := strconv.FormatFloat(v, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// signed is num with a + for positive values.
func signed(v float64) string {
	if v > 0 {
		return "+" + num(v)
	}
	return num(v)
}

// opt formats an optional figure.
func opt(v *float64) string {
	if v == nil {
		return noData
	}
	return num(*v)
}

// human formats a duration for people: 3.2d, 5h12m, 14m, 40s.
func human(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1fd", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

func optDur(d *Duration) string {
	if d == nil {
		return noData
	}
	return human(time.Duration(*d))
}

// samples is the sample count, or "none".
func (m MetricReport) samples() string {
	if m.NoData {
		return "none"
	}
	return strconv.FormatUint(m.Count, 10)
}

// plural returns n and noun, with an s unless n is 1.
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// trendText says a metric's trend in a few words.
func (m MetricReport) trendText() string {
	if m.Trend == nil {
		return noData
	}
	switch m.Trend.Verdict {
	case "rising", "falling":
		return fmt.Sprintf("%s %s/h", m.Trend.Verdict, signed(m.Trend.SlopePerHour))
	}
	return m.Trend.Verdict
}

// forecastText says when a metric reaches its limit, if it does.
func (m MetricReport) forecastText() string {
	switch {
	case m.Limit == nil:
		return ""
	case m.Forecast == nil || !m.Forecast.Will || !m.Trend.Significant():
		return "limit " + num(*m.Limit) + " not in sight"
	}
	return "limit " + num(*m.Limit) + " in " +
		human(time.Duration(m.Forecast.SecondsUntil*float64(time.Second)))
}

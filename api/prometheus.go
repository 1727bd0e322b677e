package api

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tend-dev/tend/router"
)

// prometheus writes tend's own counters in the text exposition format.
func (s *Server) prometheus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	out := bufio.NewWriter(w)
	defer out.Flush()

	samples, parseErrors, failures := s.d.Collector.Snapshot()
	help(out, "tend_samples_total", "counter", "Samples published by the collector.")
	fmt.Fprintf(out, "tend_samples_total %d\n", samples)
	help(out, "tend_parse_errors_total", "counter", "Malformed lines skipped, by source.")
	for _, k := range sortedKeys(parseErrors) {
		fmt.Fprintf(out, "tend_parse_errors_total{source=%s} %d\n", quote(k), parseErrors[k])
	}
	help(out, "tend_source_failures_total", "counter", "Failed samples, by source.")
	for _, k := range sortedKeys(failures) {
		fmt.Fprintf(out, "tend_source_failures_total{source=%s} %d\n", quote(k), failures[k])
	}

	if st, err := s.d.Bus.JS.Stream(context.Background(), "EVENTS"); err == nil {
		if info, err := st.Info(context.Background()); err == nil {
			help(out, "tend_events_stored", "gauge", "Events held in the EVENTS stream.")
			fmt.Fprintf(out, "tend_events_stored %d\n", info.State.Msgs)
		}
	}

	m := s.d.Router.Metrics()
	help(out, "tend_deliveries_total", "counter", "Delivery attempts, by integration and outcome.")
	var lines []string
	m.EachDelivery(func(integration, outcome string, n uint64) {
		lines = append(lines, fmt.Sprintf("tend_deliveries_total{integration=%s,outcome=%s} %d",
			quote(integration), quote(outcome), n))
	})
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}

	help(out, "tend_delivery_duration_seconds", "histogram", "Time of successful deliveries.")
	lines = lines[:0]
	m.EachDuration(func(integration string, bounds []float64, cum []uint64, sum float64, n uint64) {
		for i, le := range bounds {
			lines = append(lines, fmt.Sprintf("tend_delivery_duration_seconds_bucket{integration=%s,le=%q} %d",
				quote(integration), strconv.FormatFloat(le, 'g', -1, 64), cum[i]))
		}
		lines = append(lines,
			fmt.Sprintf("tend_delivery_duration_seconds_bucket{integration=%s,le=\"+Inf\"} %d",
				quote(integration), n),
			fmt.Sprintf("tend_delivery_duration_seconds_sum{integration=%s} %g", quote(integration), sum),
			fmt.Sprintf("tend_delivery_duration_seconds_count{integration=%s} %d", quote(integration), n))
	})
	for _, l := range lines {
		fmt.Fprintln(out, l)
	}

	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	help(out, "tend_heap_bytes", "gauge", "Go heap in use.")
	fmt.Fprintf(out, "tend_heap_bytes %d\n", ms.HeapAlloc)
	help(out, "tend_uptime_seconds", "gauge", "Seconds since tend started.")
	fmt.Fprintf(out, "tend_uptime_seconds %.0f\n", time.Since(s.d.Started).Seconds())
}

func help(out *bufio.Writer, name, typ, text string) {
	fmt.Fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, typ)
}

func quote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s) + `"`
}

func sortedKeys(m map[string]uint64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func sortStats(s []router.Stats) {
	sort.Slice(s, func(i, j int) bool { return s[i].Integration < s[j].Integration })
}

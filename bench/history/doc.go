// Package history benchmarks tend's history path at the size of a real
// week: 50 metrics sampled every 10 s for 7 days (3,024,000 samples)
// imported through history.Store.Import, then a report over the 7 days.
//
//	go test ./bench/history/ -run '^$' -bench . -benchtime 1x
//
// The figures are reported as custom benchmark metrics: samples/s for the
// import, report_s for building and rendering the report.
package history

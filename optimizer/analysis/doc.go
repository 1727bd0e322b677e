// Package analysis holds the arithmetic behind tend's trend, anomaly and
// forecast rules and its reports: a least-squares trend with a significance
// test, a robust z-score against a baseline, the time until a fitted line
// crosses a value, and plain summaries (quantiles, average, extremes).
//
// It sits between history (which supplies points) and the optimizer's rules
// and report package (which turn results into alerts and pages). It does no
// I/O, keeps no state and is safe for concurrent use. Every result carries
// the figures it was decided on, through an Evidence method whose map goes
// into events.Alert.Evidence, so a reader can redo the sum by hand. All
// figures are finite: infinities are clamped to ±[MaxZ] so they encode as
// JSON.
package analysis

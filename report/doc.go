// Package report builds the report people read about a period: per metric
// average, extremes, 95th percentile and trend; anomalies; alerts with time
// firing and mean time to resolve; optimization runs with their measured
// effects; each integration's delivery health; and recommendations, each
// with the figures that led to it. A metric without samples in the period
// says "no data", never 0.
//
// It sits at the end of the flow: history supplies rollups, the caller
// supplies alerts, runs and delivery health read from the bus, and the
// report goes to a terminal or file (`tend report`) or, as an
// events.Report, through the router to integrations. Rendering is in
// table, json, summary, markdown and html forms; the HTML is one
// self-contained file with inline SVG sparklines.
package report

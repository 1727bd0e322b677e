// Package history keeps tend's metric history readable over long ranges.
//
// Raw samples stay in the METRICS stream, where the collector put them. An
// [Aggregator] folds samples into rollups at one minute and one hour (count,
// min, max, sum and a mergeable quantile [Sketch]) and stores each closed
// bucket in the ROLLUPS stream on tend.rollup.<res>.<host>.<metric>, so a
// seven-day query reads 168 hourly rollups per series instead of 60,480
// samples. [Store.Query] reads the coarsest rollups the step allows, then
// finer rollups and raw samples for the newest part not rolled up yet.
// [Store.Import] loads history from JSON Lines or CSV through the same path:
// samples go to METRICS and through an Aggregator to ROLLUPS.
//
// In the flow it sits beside the router on the bus: it consumes what the
// collector publishes and feeds the optimizer's analysis rules and the
// report package. Rollups are plain JSON [Rollup] values, not events: they
// are never routed to integrations.
package history

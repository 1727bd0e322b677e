// Package tasks holds the optimizer's tasks: what tend does to tend a host
// and its services, and the proof of what it changed. It sits between the
// collector's sources, which name the targets, and the runner
// (optimizer/runner), which runs tasks on demand, on alerts and on a
// schedule and publishes the results on the bus.
//
// A [Task] declares its steps at each [Level] (low, medium, high,
// aggressive; each includes the ones below). [Task.Plan] checks
// preconditions and lists the steps it would take, touching nothing.
// [Task.Run] samples its measurements before, takes its steps, samples them
// again and compares: at least [MinSamples] samples on each side, summarised
// as count, median, min, max and median absolute deviation ([Summarize]).
// [Compare] calls a change "improved" or "worse" only when it exceeds the
// spread the samples themselves show; anything less is "no measurable
// change". A dry run (Env.DryRun) samples only before and acts on nothing;
// its measurements hold Before alone and the verdict "skipped", as does a
// task that took no step.
//
// Steps that can disturb service (dropping the page cache, renicing, a
// REINDEX CONCURRENTLY, a SQLite VACUUM, a lower Redis maxmemory) run only
// with Env.AllowDisruptive; otherwise they are skipped and the step says why
// in Skipped. So is a step above the run's level, or one the host does not
// permit.
//
// The tasks:
//
//   - memory: low returns tend's free heap to the OS; medium adds Redis
//     MEMORY PURGE (jemalloc) and reports fragmentation; high drops the page
//     cache and aggressive also dentries and inodes (root only, disruptive).
//     Measured: tend's released heap and resident memory, the host's
//     available memory, Redis resident memory.
//   - database: PostgreSQL ANALYZE of tables changed enough since their last
//     analyze (low), VACUUM (ANALYZE) of tables over a dead-tuple ratio
//     (medium), REINDEX INDEX CONCURRENTLY of btree indexes whose estimated
//     waste is over a ratio (high, disruptive); recommendations from
//     pg_stat_statements and scan counts. SQLite: PRAGMA optimize (low),
//     ANALYZE and a TRUNCATE WAL checkpoint (medium), VACUUM (high,
//     disruptive). Measured: dead tuples, relation and file sizes, free
//     pages, probe query latency.
//   - cache: Redis hit rate, used memory and evictions; warming of listed
//     keys and URLs (medium); CONFIG SET of allow-listed settings
//     ([ConfigSetAllowed]) at high; recommendations with their figures.
//   - cpu: for processes on an allow-list of names only, renice (medium to
//     the configured nice, aggressive to 19) and ionice (high best-effort 7,
//     aggressive idle), all disruptive and only ever lowering a priority.
//     Measured: those processes' share of the host's CPU, and the load.
//   - response: http sources probed N times before and after a warm-up that
//     grows with the level; a step reports p50 and p95.
//   - exec: a user command at a configured level, measured by a user
//     command printing a number.
//
// [Decode] reads the `optimizer:` config section into [Settings]; [Build]
// makes the configured tasks, finding sources through the small interfaces
// [PostgresSource], [RedisSource], [SQLiteSource] and [HTTPSource].
// [Summary] turns a result into the one line integrations show.
//
// Config, with defaults:
//
//	optimizer:
//	  enabled: false
//	  level: low
//	  allow_disruptive: false
//	  cooldown: 30m
//	  schedule: "0 3 * * *"          # or {every: 6h, tasks: [database]}
//	  samples: 3
//	  sample_interval: 1s
//	  task_timeout: 15m
//	  tasks:
//	    database: {source: db, sqlite: lite, dead_tuple_ratio: 0.1, min_dead_tuples: 100,
//	               analyze_ratio: 0.1, min_changes: 1000, index_bloat_ratio: 0.3,
//	               min_index_bytes: 1048576, probe_query: "", tables: [], slow_query_ms: 100}
//	    memory:   {redis: cache}
//	    cache:    {source: cache, warm_keys: [], warm_urls: [], config_set: {hz: "20"}}
//	    cpu:      {processes: [backup-agent], nice: 10}
//	    response: {sources: [api], probes: 10, warmup: 10}
//	    exec:     {command: [...], measure: [...], metric: measure, unit: "",
//	               lower_is_better: true, level: low, disruptive: false, timeout: 5m}
package tasks

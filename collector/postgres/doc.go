// Package postgres is the collector's PostgreSQL source, kind "postgres".
//
// Each sample reads the statistics views of one server over a small pgx
// pool: connections by state, commits, rollbacks, cache hit ratio,
// deadlocks and temp bytes per database, the tables with most dead tuples,
// the oldest transaction and longest query, waiting locks, replication lag
// on a replica and, when pg_stat_statements is loaded, the slowest
// statements. The collector publishes the samples on the bus; the optimizer
// reuses the same pool through [Source.DB] for its database tasks.
package postgres

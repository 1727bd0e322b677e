// Package sqlite is the collector's SQLite source, kind "sqlite".
//
// Each sample reads one database file's size, its write-ahead log's size,
// its page and free-list counts, and times a configured probe query. The
// file is opened read-only with the pure-Go driver (modernc.org/sqlite, no
// cgo), so the check can neither write nor create it. The collector
// publishes the samples on the bus; the optimizer's SQLite tasks find the
// file and probe through [Source.Path] and [Source.ProbeQuery].
package sqlite

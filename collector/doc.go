// Package collector samples sources on their intervals and publishes each
// sample as a metric event on the bus (tend.metric.<host>.<source>.<name>).
//
// A [Source] knows how to take one sample of one thing: the host, a command,
// a database, a cache, an HTTP endpoint. Kinds register themselves with
// [Register]; each kind lives in its own file or sub-package. The [Collector]
// runs every source in its own loop, so a slow or broken source never delays
// the others, and reports a broken source as `up 0`.
package collector

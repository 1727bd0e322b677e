// Package redis is the collector's Redis source, kind "redis".
//
// Each sample sends PING, timing its round trip, and INFO, from which it
// reports memory, fragmentation, clients, keys per database, and per-second
// rates of commands, evictions and expirations, with the cache hit ratio
// over the last interval. The collector publishes the samples on the bus;
// optimization tasks reuse the connection through [Source.Client].
package redis

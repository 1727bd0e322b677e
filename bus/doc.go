// Package bus is tend's spine: the NATS server (embedded in-process by
// default, or an external cluster), the JetStream streams METRICS, EVENTS,
// DEADLETTER and DELIVERIES, and the KV buckets tend_state, tend_refs and
// tend_stats.
//
// Everything that must survive a restart lives here. Publishing waits for
// the stream's acknowledgement, so an event reported as accepted is stored.
package bus

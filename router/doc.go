// Package router delivers events to integrations and guarantees each
// delivery ends acknowledged or dead-lettered with its reason.
//
// Every integration has one durable JetStream consumer on the EVENTS stream,
// filtered by the routes that name it, so deliveries survive restarts and
// hubs sharing one NATS share the work. Retries are NAKs with a delay
// computed by an exponential backoff with jitter (a Retry-After wins), never
// sleeps holding a message; a kill loses nothing. Events of one alert
// fingerprint are delivered in order: a resolved never overtakes its firing.
// Every attempt feeds the integration's analytics (KV tend_stats) and the
// delivery log (stream DELIVERIES).
package router

// Package events defines the one envelope every message on tend's bus uses: a
// CloudEvents 1.0 structured JSON event. It also holds the event types, the
// NATS subjects they travel on, the payloads of metrics, alerts and
// optimization runs, and alert fingerprints.
//
// Every other package speaks in these types: the collector publishes metric
// events, the optimizer publishes alert and optimization events, the router
// hands events to integrations, and integrations render them.
package events

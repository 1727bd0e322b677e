// Package api serves tend's HTTP interface: the REST API the CLI uses
// (/api/v1/...), health, Prometheus /metrics, and the inbound webhooks that
// become trigger and alert events. It reads state from the bus, so any hub
// answers for all of them.
package api

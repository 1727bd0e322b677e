// Package inbound receives what the outside world sends tend over HTTP:
// GitHub webhooks, Slack slash commands, and alerts raised by Alertmanager,
// Grafana or any script. It sits at the api end of the flow: every request is
// authenticated, bounded in size and turned into events (triggers that start
// optimization runs, or alerts the router sends on) that are stored on the bus
// before the sender gets its 2xx answer. A crash after the answer loses
// nothing, and a publish failure answers 503 so the sender tries again.
//
// The api package mounts a [Handler] on its mux with [Handler.Register]; the
// bus backs [Publisher] and [Seen].
package inbound

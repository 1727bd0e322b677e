// Package inbound receives what the outside world sends tend over HTTP:
// GitHub webhooks, Slack slash commands, and alerts raised by Alertmanager,
// Grafana or any script. It sits at the api end of the flow: every request is
// authenticated, bounded in size and turned into events (triggers that start
// optimization runs, or alerts the router sends on) that are stored on the bus
// before the sender gets its 2xx answer. A crash after the answer loses
// nothing, and a failure to store answers 503 so the sender tries again.
//
// The api package mounts a [Handler] with [Handler.Register]; the bus backs
// [Publisher] and [Seen] (and [Forgetter]); the hub answers [Commands].
//
// # POST /hooks/github
//
// Set the webhook's secret to inbound.github.secret, content type JSON or
// form. X-Hub-Signature-256 is checked in constant time (a missing or wrong
// one is 401); X-GitHub-Delivery becomes the event id, and a redelivery, or
// the same signed payload under a new delivery id, starts nothing twice.
// These start a run, published as a [events.TypeTriggerGitHub] event whose
// data is a [Trigger]:
//
//   - issue_comment created with a line "/tend optimize [TASK...] [--level L]"
//     by an OWNER, MEMBER or COLLABORATOR (anyone else, and bots, are
//     ignored and logged, with no reply);
//   - push to a branch in inbound.github.branches;
//   - workflow_run completed on such a branch (and named in workflows, if
//     set);
//   - repository_dispatch with event_type tend-optimize and client_payload
//     {"tasks": [...], "level": "high", "sha": "...", "issue": 12}, all
//     optional.
//
// When inbound.github.repos is set, only those repositories start runs.
// ping answers 200; other events answer 200 "ignored" with the reason.
//
// # POST /hooks/slack
//
// The /tend slash command: status, metrics NAME, optimize [TASK...]
// [--level L]. X-Slack-Signature (v0) is checked against the signing secret
// with a 5-minute timestamp window and each signed request is accepted once.
// The answer is an ephemeral acknowledgement; status and metrics are
// answered later on response_url, optimize publishes a
// [events.TypeTriggerSlack] event whose Trigger carries the response_url for
// the run's result.
//
// # POST /hooks/alerts/{name}
//
// One configured source per name, authenticated by "Authorization: Bearer
// <token>" or "X-Tend-Signature: sha256=<hex HMAC of the body>". The body is
// tend's alert JSON (one [events.Alert] or a list) or an Alertmanager webhook
// payload (version 4; Grafana's is the same shape). Each alert becomes a
// [events.TypeAlertFiring] or [events.TypeAlertResolved] event of kind
// external, fingerprinted from its alertname and labels, whose id is stable
// per fingerprint, status and start, so a resent alert is stored once.
// An Alertmanager receiver:
//
//	receivers:
//	  - name: tend
//	    webhook_configs:
//	      - url: https://tend.example/hooks/alerts/am
//	        http_config:
//	          authorization: {type: Bearer, credentials_file: /etc/am/tend-token}
package inbound

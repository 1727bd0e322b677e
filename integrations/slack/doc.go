// Package slack delivers tend's events to Slack, registered as integration
// type "slack". It sits at the end of the flow: the router hands it one
// event at a time and owns retries.
//
// With a bot token it posts Block Kit messages through the Web API
// (chat.postMessage) and keeps each alert's message ts in the refs store, so
// a repeated firing replies in the message's thread and the resolution
// updates the message in place and replies in its thread. Optimization runs
// are threaded by run id the same way. With an incoming webhook URL it posts
// each event as a new message, since webhooks cannot edit.
//
// Slack answers most failures with HTTP 200 and "ok": false; [Integration]
// maps each error code to a retryable or permanent [integrations.Error] and
// honours Retry-After on 429.
package slack

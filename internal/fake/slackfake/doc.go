// Package slackfake is a stateful stand-in for the Slack Web API and
// incoming webhooks, for tests of tend's Slack integration and end-to-end
// tests that route alerts to Slack. It runs on 127.0.0.1 only.
//
// It enforces what the real service enforces and tests rely on: a bot
// token, known channels, chat.update of an existing ts only, Block Kit
// limits, and Slack's way of failing (HTTP 200 with ok:false, 429 with
// Retry-After). Failures can be injected for the next N calls.
package slackfake

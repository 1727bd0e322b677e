// Package teamsfake is a stateful stand-in for Microsoft Teams incoming
// webhooks, for tests of tend's Teams integration and end-to-end tests. It
// runs on 127.0.0.1 only and serves both kinds Teams has had:
//
//   - Workflows webhooks (Power Automate), which take a message with an
//     Adaptive Card attachment and answer 202 Accepted;
//   - legacy Office 365 connector webhooks, which take a MessageCard and
//     answer 200 with the body "1", and report some failures (a 429 from
//     Teams behind them, an oversized card) as HTTP 200 with an error text.
//
// It validates the card envelope and size as Teams does, keeps every card
// accepted, and can be told to fail the next calls.
package teamsfake

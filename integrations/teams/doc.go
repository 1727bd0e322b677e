// Package teams delivers tend's events to Microsoft Teams, registered as
// integration type "teams". The router hands it one event at a time and
// owns retries.
//
// It posts to a Workflows webhook a message with one Adaptive Card
// attachment, or, with format messagecard, a legacy connector MessageCard.
// The legacy connector reports some failures, such as a 429 from Teams, as
// HTTP 200 with an error text; those are failures too, classified from the
// text. Cards are kept under Teams' size limit by leaving facts out, then
// cutting text, never by failing.
package teams

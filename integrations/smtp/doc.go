// Package smtp delivers tend's events by email, registered as integration
// type "smtp". The router hands it one event at a time and owns retries.
//
// Each event becomes one multipart message, plain text and HTML, sent to
// every recipient over STARTTLS (required or opportunistic), implicit TLS
// or plain SMTP, with AUTH when a username is set. An alert's messages
// share a thread: the first firing's Message-ID is derived from the
// fingerprint and the firing's start, and repeats and the resolution refer
// to it with In-Reply-To and References. A 4xx reply is retryable, a 5xx
// reply permanent.
package smtp

// Package smtpfake is a real SMTP server for tests of tend's email
// integration and end-to-end tests, listening on 127.0.0.1 only. It offers
// STARTTLS (or implicit TLS) with a self-signed certificate made at start,
// requires AUTH PLAIN before MAIL, keeps every message it accepts in an
// inspectable mailbox, and can be told to answer the next commands with a
// 4xx or 5xx reply or to hang.
package smtpfake

// Package httpcheck is the collector's HTTP endpoint source, kind "http".
//
// Each sample sends one request on a fresh connection, so every sample pays
// and measures the whole way in: DNS lookup, TCP connect, TLS handshake,
// time to first byte and the total, traced with net/http/httptrace. It
// reports the status, the body size, days until the server's certificate
// expires, and whether the status was one expected. A status not expected
// is a sample (ok 0), not an error; no answer at all is an error, which the
// collector reports as `up 0`. The optimizer's response-time task calls
// [Source.Probe] to measure before and after.
package httpcheck

// Package record keeps what a fake service received, for tests to inspect:
// every request with its body, and a count per route. The fakes of JIRA,
// GitHub and Confluence embed a [Log].
package record

import (
	"maps"
	"sync"
)

// Request is one request a fake received, authenticated or not.
type Request struct {
	Method string
	Path   string
	Body   string
}

// Log records requests. Its zero value is ready; it is safe for concurrent
// use and takes no lock of its owner.
type Log struct {
	mu       sync.Mutex
	requests map[string]int
	received []Request
}

// Receive records one request as it arrived.
func (l *Log) Receive(method, path, body string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.received = append(l.received, Request{Method: method, Path: path, Body: body})
}

// Count adds one to the requests served by route, e.g. "POST /issue".
func (l *Log) Count(route string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.requests == nil {
		l.requests = map[string]int{}
	}
	l.requests[route]++
}

// Received returns every request so far, oldest first, e.g. to compare a
// body with a golden file.
func (l *Log) Received() []Request {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Request(nil), l.received...)
}

// Requests returns how many requests were served per "METHOD route".
func (l *Log) Requests() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return maps.Clone(l.requests)
}

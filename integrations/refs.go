package integrations

import (
	"context"
	"errors"
	"strings"
	"sync"
)

// ErrNoRef is returned by [Refs.Get] when nothing was stored under a key.
var ErrNoRef = errors.New("no reference stored")

// Refs stores outside references (a JIRA key, a Slack ts) by key, so that a
// restart or a second hub finds the ticket or message made before. It is
// backed by the KV bucket tend_refs; implementations are safe for concurrent
// use.
type Refs interface {
	Get(ctx context.Context, key string) (string, error)
	Put(ctx context.Context, key, value string) error
	Delete(ctx context.Context, key string) error
}

// RefKey joins parts into a key that is valid in a NATS KV bucket, e.g.
// RefKey("jira", "ops", fingerprint).
func RefKey(parts ...string) string {
	for i, p := range parts {
		parts[i] = strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9',
				r == '-', r == '_', r == '=':
				return r
			}
			return '_'
		}, p)
	}
	return strings.Join(parts, ".")
}

// MemRefs is an in-memory [Refs] for tests and one-off runs.
type MemRefs struct {
	mu sync.Mutex
	m  map[string]string
}

// NewMemRefs returns an empty in-memory store.
func NewMemRefs() *MemRefs {
	return &MemRefs{m: map[string]string{}}
}

func (r *MemRefs) Get(_ context.Context, key string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.m[key]
	if !ok {
		return "", ErrNoRef
	}
	return v, nil
}

func (r *MemRefs) Put(_ context.Context, key, value string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.m[key] = value
	return nil
}

func (r *MemRefs) Delete(_ context.Context, key string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.m, key)
	return nil
}

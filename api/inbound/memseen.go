package inbound

import (
	"context"
	"sync"
)

// MemSeen is a [Seen] and [Forgetter] held in memory, for tests and a
// single hub that may forget across restarts. The zero value is ready to
// use and it is safe for concurrent use. It grows without bound: production
// hubs use the bus's KV store, whose keys expire.
type MemSeen struct {
	mu   sync.Mutex
	keys map[string]bool
}

// FirstTime reports whether key is new, remembering it. It never fails.
func (m *MemSeen) FirstTime(_ context.Context, key string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys[key] {
		return false, nil
	}
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	m.keys[key] = true
	return true, nil
}

// Delete forgets key. It never fails.
func (m *MemSeen) Delete(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.keys, key)
	return nil
}

// Len returns how many keys are remembered.
func (m *MemSeen) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

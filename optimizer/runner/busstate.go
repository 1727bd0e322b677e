package runner

import (
	"context"
	"errors"

	"github.com/tend-dev/tend/bus"
)

// BusState keeps the runner's [State] in a bus bucket (tend_state in tend
// serve). It is safe for concurrent use, and shared by every hub on the bus.
type BusState struct {
	KV bus.KV
}

// Get returns the value under key, or nil and no error when the key was
// never written.
func (s BusState) Get(ctx context.Context, key string) ([]byte, error) {
	v, err := s.KV.Get(ctx, key)
	if errors.Is(err, bus.ErrNotFound) {
		return nil, nil
	}
	return v, err
}

// Put stores v under key.
func (s BusState) Put(ctx context.Context, key string, v []byte) error {
	return s.KV.Put(ctx, key, v)
}

// *bus.Bus publishes run events: it is the runner's [Publisher] in tend
// serve.
var _ Publisher = (*bus.Bus)(nil)

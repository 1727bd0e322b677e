package bus

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/integrations"
)

// KV adapts a JetStream bucket to the small get/put interfaces other
// packages define.
type KV struct {
	Bucket jetstream.KeyValue
}

// ErrNotFound is returned by [KV.Get] for a missing key.
var ErrNotFound = errors.New("not found")

// Get returns the value under key, or [ErrNotFound].
func (k KV) Get(ctx context.Context, key string) ([]byte, error) {
	e, err := k.Bucket.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("kv get %s: %w", key, err)
	}
	return e.Value(), nil
}

// Put stores v under key.
func (k KV) Put(ctx context.Context, key string, v []byte) error {
	if _, err := k.Bucket.Put(ctx, key, v); err != nil {
		return fmt.Errorf("kv put %s: %w", key, err)
	}
	return nil
}

// Delete removes key; a missing key is not an error.
func (k KV) Delete(ctx context.Context, key string) error {
	err := k.Bucket.Delete(ctx, key)
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("kv delete %s: %w", key, err)
	}
	return nil
}

// FirstTime creates key and reports true, or reports false if it existed.
// Two hubs racing for one key see exactly one true.
func (k KV) FirstTime(ctx context.Context, key string) (bool, error) {
	_, err := k.Bucket.Create(ctx, key, []byte{1})
	if errors.Is(err, jetstream.ErrKeyExists) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("kv create %s: %w", key, err)
	}
	return true, nil
}

// Keys lists keys matching a filter such as "rule.>"; none is not an error.
func (k KV) Keys(ctx context.Context, filter string) ([]string, error) {
	lister, err := k.Bucket.ListKeysFiltered(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("kv list %s: %w", filter, err)
	}
	var keys []string
	for key := range lister.Keys() {
		keys = append(keys, key)
	}
	return keys, nil
}

// Refs adapts the tend_refs bucket to [integrations.Refs].
type Refs struct{ KV KV }

func (r Refs) Get(ctx context.Context, key string) (string, error) {
	v, err := r.KV.Get(ctx, key)
	if errors.Is(err, ErrNotFound) {
		return "", integrations.ErrNoRef
	}
	return string(v), err
}

func (r Refs) Put(ctx context.Context, key, value string) error {
	return r.KV.Put(ctx, key, []byte(value))
}

func (r Refs) Delete(ctx context.Context, key string) error {
	return r.KV.Delete(ctx, key)
}

package router

import (
	"context"
	"strconv"
	"sync"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/integrations"
)

// orderGuard keeps the events of one alert fingerprint in stream order for
// one integration: while an earlier event is in flight here, or waiting for
// a retry on any hub (recorded in tend_state), later ones wait.
type orderGuard struct {
	kv   bus.KV
	name string

	mu    sync.Mutex
	local map[string]uint64 // fingerprint → lowest sequence in flight here
}

func newOrderGuard(b *bus.Bus, integration string) *orderGuard {
	return &orderGuard{kv: bus.KV{Bucket: b.State}, name: integration, local: map[string]uint64{}}
}

func (g *orderGuard) kvKey(fp string) string {
	return integrations.RefKey("order", g.name, fp)
}

// acquire reports whether an earlier event of fp is unfinished (blocked).
// If not, seq becomes the one in flight, and held says whether seq itself
// was waiting for a retry: its hold must be released when it ends, even if
// a crash made JetStream forget it had been delivered before.
func (g *orderGuard) acquire(ctx context.Context, fp string, seq uint64) (blocked, held bool) {
	g.mu.Lock()
	if head, ok := g.local[fp]; ok && head != seq {
		// One event of an alert at a time: the other waits its turn.
		g.mu.Unlock()
		return true, false
	}
	g.local[fp] = seq
	g.mu.Unlock()

	if b, err := g.kv.Get(ctx, g.kvKey(fp)); err == nil {
		head, _ := strconv.ParseUint(string(b), 10, 64)
		switch {
		case head != 0 && head < seq:
			g.release(ctx, fp, seq, false)
			return true, false
		case head == seq:
			return false, true
		}
	}
	return false, false
}

// hold records that seq waits for a retry, so other hubs and a restarted
// hub keep later events of fp back.
func (g *orderGuard) hold(ctx context.Context, fp string, seq uint64) {
	if fp == "" {
		return
	}
	_ = g.kv.Put(ctx, g.kvKey(fp), []byte(strconv.FormatUint(seq, 10)))
	g.mu.Lock()
	if g.local[fp] == seq {
		delete(g.local, fp)
	}
	g.mu.Unlock()
}

// release ends seq's turn; persisted says whether hold was called for it.
func (g *orderGuard) release(ctx context.Context, fp string, seq uint64, persisted bool) {
	if fp == "" {
		return
	}
	g.mu.Lock()
	if g.local[fp] == seq {
		delete(g.local, fp)
	}
	g.mu.Unlock()
	if persisted {
		if b, err := g.kv.Get(ctx, g.kvKey(fp)); err == nil && string(b) == strconv.FormatUint(seq, 10) {
			_ = g.kv.Delete(ctx, g.kvKey(fp))
		}
	}
}

package router

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/tend-dev/tend/bus"
	"github.com/tend-dev/tend/integrations"
)

// waitingTTL is how long a blocked message counts as waiting without being
// seen again. Blocked messages come back every 250 ms; one that stops
// coming was taken by another hub, and must not hold later events forever.
const waitingTTL = 10 * time.Second

// orderGuard keeps the events of one alert fingerprint in stream order for
// one integration. Here, it tracks the message in flight and the earlier
// messages seen waiting, and lets only the lowest sequence go. Across hubs
// and restarts, a message waiting for a retry is recorded in tend_state,
// and later ones wait for it.
type orderGuard struct {
	kv   bus.KV
	name string

	mu  sync.Mutex
	fps map[string]*fpOrder
	// holds mirrors the order holds in tend_state (fingerprint → sequence
	// waiting for a retry), kept current by a KV watch, so admitting an
	// event costs no round trip.
	holds map[string]uint64
}

type fpOrder struct {
	inflight uint64               // sequence being delivered here, or 0
	waiting  map[uint64]time.Time // sequences seen and blocked, by last sighting
}

func newOrderGuard(b *bus.Bus, integration string) *orderGuard {
	return &orderGuard{kv: bus.KV{Bucket: b.State}, name: integration,
		fps: map[string]*fpOrder{}, holds: map[string]uint64{}}
}

// watch mirrors this integration's holds from tend_state until ctx ends.
// It returns once the current holds are loaded.
func (g *orderGuard) watch(ctx context.Context) error {
	prefix := integrations.RefKey("order", g.name) + "."
	w, err := g.kv.Bucket.Watch(ctx, prefix+">", jetstream.IgnoreDeletes())
	if err != nil {
		return fmt.Errorf("watch order holds of %s: %w", g.name, err)
	}
	w2, err := g.kv.Bucket.Watch(ctx, prefix+">", jetstream.UpdatesOnly())
	if err != nil {
		_ = w.Stop()
		return fmt.Errorf("watch order holds of %s: %w", g.name, err)
	}
	// The first watcher delivers what is held now, then nil.
	for e := range w.Updates() {
		if e == nil {
			break
		}
		g.apply(strings.TrimPrefix(e.Key(), prefix), e)
	}
	_ = w.Stop()
	go func() {
		defer func() { _ = w2.Stop() }()
		for {
			select {
			case <-ctx.Done():
				return
			case e, ok := <-w2.Updates():
				if !ok {
					return
				}
				if e != nil {
					g.apply(strings.TrimPrefix(e.Key(), prefix), e)
				}
			}
		}
	}()
	return nil
}

func (g *orderGuard) apply(fp string, e jetstream.KeyValueEntry) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if e.Operation() != jetstream.KeyValuePut {
		delete(g.holds, fp)
		return
	}
	if seq, err := strconv.ParseUint(string(e.Value()), 10, 64); err == nil {
		g.holds[fp] = seq
	}
}

func (g *orderGuard) kvKey(fp string) string {
	return integrations.RefKey("order", g.name, fp)
}

// acquire reports whether an earlier event of fp is unfinished (blocked).
// If not, seq becomes the one in flight, and held says whether seq itself
// was waiting for a retry: its hold must be released when it ends, even if
// a crash made JetStream forget it had been delivered before.
func (g *orderGuard) acquire(ctx context.Context, fp string, seq uint64) (blocked, held bool) {
	if !g.take(fp, seq) {
		return true, false
	}
	g.mu.Lock()
	head := g.holds[fp]
	g.mu.Unlock()
	switch {
	case head != 0 && head < seq:
		g.giveBack(fp, seq)
		return true, false
	case head == seq:
		return false, true
	}
	return false, false
}

// take makes seq the one in flight if nothing is in flight and no earlier
// sequence is waiting; otherwise it records seq as waiting.
func (g *orderGuard) take(fp string, seq uint64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.fps[fp]
	if st == nil {
		st = &fpOrder{waiting: map[uint64]time.Time{}}
		g.fps[fp] = st
	}
	now := time.Now()
	for s, seen := range st.waiting {
		if now.Sub(seen) > waitingTTL {
			delete(st.waiting, s)
		}
	}
	st.waiting[seq] = now
	if st.inflight != 0 && st.inflight != seq {
		return false
	}
	for s := range st.waiting {
		if s < seq {
			return false
		}
	}
	delete(st.waiting, seq)
	st.inflight = seq
	return true
}

// giveBack undoes take: seq waits again.
func (g *orderGuard) giveBack(fp string, seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if st := g.fps[fp]; st != nil {
		if st.inflight == seq {
			st.inflight = 0
		}
		st.waiting[seq] = time.Now()
	}
}

// hold records that seq waits for a retry, so other hubs and a restarted
// hub keep later events of fp back.
func (g *orderGuard) hold(ctx context.Context, fp string, seq uint64) {
	if fp == "" {
		return
	}
	_ = g.kv.Put(ctx, g.kvKey(fp), []byte(strconv.FormatUint(seq, 10)))
	g.mu.Lock()
	g.holds[fp] = seq
	g.mu.Unlock()
	g.finish(fp, seq)
}

// release ends seq's turn; persisted says whether hold was called for it.
func (g *orderGuard) release(ctx context.Context, fp string, seq uint64, persisted bool) {
	if fp == "" {
		return
	}
	g.finish(fp, seq)
	if !persisted {
		return
	}
	g.mu.Lock()
	if g.holds[fp] == seq {
		delete(g.holds, fp)
	}
	g.mu.Unlock()
	if b, err := g.kv.Get(ctx, g.kvKey(fp)); err == nil && string(b) == strconv.FormatUint(seq, 10) {
		_ = g.kv.Delete(ctx, g.kvKey(fp))
	}
}

func (g *orderGuard) finish(fp string, seq uint64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	st := g.fps[fp]
	if st == nil {
		return
	}
	if st.inflight == seq {
		st.inflight = 0
	}
	delete(st.waiting, seq)
	if st.inflight == 0 && len(st.waiting) == 0 {
		delete(g.fps, fp)
	}
}

package runner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/tend-dev/tend/events"
)

// Alerts starts runs for firing alerts without holding up the caller: the
// rule engine calls [Alerts.OnAlert] from its one consumer goroutine, and a
// run may take minutes. The runner's rules still hold: one run at a time (an
// alert arriving during a run starts nothing), cooldowns, and only while
// enabled. Its methods are safe for concurrent use.
type Alerts struct {
	// Seen, when set, lets one hub only act on an alert: every hub's rule
	// engine raises the same alert, and without it each hub would read the
	// cooldown before any wrote it, and run. Keys start with
	// [KeyTriggerPrefix]; tend serve keeps them a week in tend_seen.
	Seen Seen

	r   *Runner
	log *slog.Logger

	base   context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	wg     sync.WaitGroup
	closed bool
	// started counts runs begun and refused counts alerts that started none,
	// for tests and for tend's own metrics.
	started, refused int
}

// Seen remembers keys across hubs: FirstTime reports true to the first
// caller of key only. bus.KV is one.
type Seen interface {
	FirstTime(ctx context.Context, key string) (bool, error)
}

// NewAlerts returns an alert starter for r; a nil logger discards.
func NewAlerts(r *Runner, log *slog.Logger) *Alerts {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	base, cancel := context.WithCancel(context.Background())
	return &Alerts{r: r, log: log, base: base, cancel: cancel}
}

// OnAlert starts, in a goroutine, a run of a's Optimize tasks when a is
// firing and asks for some; it returns at once. The run does not end with
// the caller's context (an HTTP request may have raised the alert) but when
// [Alerts.Run] stops; after that OnAlert does nothing.
func (al *Alerts) OnAlert(_ context.Context, a events.Alert) {
	if a.Status != events.StatusFiring || len(a.Optimize) == 0 {
		return
	}
	al.mu.Lock()
	if al.closed {
		al.mu.Unlock()
		return
	}
	al.wg.Add(1)
	al.mu.Unlock()

	go func() {
		defer al.wg.Done()
		ctx := al.base
		if !al.first(ctx, a) {
			return
		}
		run, err := al.r.OnAlert(ctx, a)
		al.count(run.ID != "")
		log := al.log.With("fingerprint", a.Fingerprint, "rule", a.Rule)
		switch {
		case err == nil:
			log.Info("alert run finished", "run_id", run.ID, "status", run.Status)
		case run.ID != "":
			log.Warn("alert run finished with errors", "run_id", run.ID, "error", err)
		case errors.Is(err, ErrBusy), errors.Is(err, ErrCoolingDown), errors.Is(err, ErrDisabled):
			log.Info("alert starts no run", "reason", err.Error())
		case ctx.Err() != nil:
		default:
			log.Warn("alert starts no run", "error", err)
		}
	}()
}

// first reports whether this hub is the first to act on a's firing; when
// the store cannot tell, it acts.
func (al *Alerts) first(ctx context.Context, a events.Alert) bool {
	if al.Seen == nil {
		return true
	}
	key := fmt.Sprintf("%salert-%s-%d", KeyTriggerPrefix, keyToken(a.Fingerprint),
		a.StartsAt.UnixNano())
	ok, err := al.Seen.FirstTime(ctx, key)
	if err != nil {
		al.log.Warn("alert not marked; acting on it", "fingerprint", a.Fingerprint, "error", err)
		return true
	}
	if !ok {
		al.log.Debug("another hub acts on this alert", "fingerprint", a.Fingerprint)
	}
	return ok
}

func (al *Alerts) count(started bool) {
	al.mu.Lock()
	defer al.mu.Unlock()
	if started {
		al.started++
		return
	}
	al.refused++
}

// Counts returns how many alerts started a run, and how many started none.
func (al *Alerts) Counts() (started, refused int) {
	al.mu.Lock()
	defer al.mu.Unlock()
	return al.started, al.refused
}

// Run waits until ctx ends, then cancels the runs alerts started, waits for
// them to tell their end, and returns nil.
func (al *Alerts) Run(ctx context.Context) error {
	<-ctx.Done()
	al.mu.Lock()
	al.closed = true
	al.mu.Unlock()
	al.cancel()
	al.wg.Wait()
	return nil
}

package integrations

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"sync"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
)

// Integration delivers one event to one outside system, in one attempt.
// It returns a [*Error] to say whether a failure may be retried; any other
// error is treated as retryable. Implementations must be safe for concurrent
// use: the router runs up to max_in_flight deliveries at once.
type Integration interface {
	Deliver(ctx context.Context, ev events.Event) (Receipt, error)
}

// Receipt describes a delivery for the delivery log.
type Receipt struct {
	// Status is the HTTP (or SMTP) status of the last call, if any.
	Status int
	// Ref is the outside reference made or used: a JIRA key, a GitHub
	// issue number, a Slack message ts, a Confluence page id.
	Ref string
}

// Closer is implemented by integrations holding connections to release.
type Closer interface {
	Close() error
}

// Deps are what an integration may use besides its own settings.
type Deps struct {
	Logger *slog.Logger
	// Refs keeps outside references by key across restarts and hubs.
	Refs Refs
	// Hub names this tend process, e.g. in a message footer.
	Hub string
}

// Factory builds an integration from its config. It must not do network I/O:
// `tend config check` calls it to validate settings.
type Factory func(spec config.Integration, deps Deps) (Integration, error)

var (
	mu        sync.RWMutex
	factories = map[string]Factory{}
)

// Register makes an integration type available by name. Packages call it
// from init; registering a name twice panics.
func Register(typ string, f Factory) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := factories[typ]; dup {
		panic("integrations: type registered twice: " + typ)
	}
	factories[typ] = f
}

// Types returns the registered type names, sorted.
func Types() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(factories))
	for t := range factories {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

// New builds the integration spec describes. An unknown type is a
// [*config.Error] naming the file and line.
func New(spec config.Integration, deps Deps) (Integration, error) {
	mu.RLock()
	f, ok := factories[spec.Type]
	mu.RUnlock()
	if !ok {
		return nil, spec.Settings.Errorf("type", "unknown integration type %q; known: %v", spec.Type, Types())
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.DiscardHandler)
	}
	deps.Logger = deps.Logger.With("integration", spec.Name)
	in, err := f(spec, deps)
	if err != nil {
		return nil, fmt.Errorf("integration %s: %w", spec.Name, err)
	}
	return in, nil
}

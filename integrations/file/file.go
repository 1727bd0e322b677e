// Package file appends events to a JSON Lines file, one CloudEvent per
// line, synced to disk before the delivery is acknowledged.
package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
)

func init() { integrations.Register("file", New) }

// Settings of a file integration.
type Settings struct {
	// Path of the JSON Lines file; its directory is created if missing.
	Path string `yaml:"path"`
	// Sync fsyncs after each line (default true), so an acknowledged event
	// survives a crash of the machine, not only of tend.
	Sync bool `yaml:"sync" default:"true"`
}

// Integration appends to one file. Lines from concurrent deliveries never
// interleave.
type Integration struct {
	set Settings

	mu sync.Mutex
	f  *os.File
}

// New returns a file integration; the file is opened on first delivery.
func New(spec config.Integration, _ integrations.Deps) (integrations.Integration, error) {
	var set Settings
	if err := spec.Settings.Decode(&set); err != nil {
		return nil, err
	}
	if set.Path == "" {
		return nil, spec.Settings.Errorf("path",
			"a file integration needs a path, e.g. /var/log/tend/alerts.jsonl")
	}
	return &Integration{set: set}, nil
}

// Deliver implements [integrations.Integration].
func (i *Integration) Deliver(_ context.Context, ev events.Event) (integrations.Receipt, error) {
	line, err := ev.Marshal()
	if err != nil {
		return integrations.Receipt{}, integrations.Permanent("encode", err)
	}
	line = append(line, '\n')

	i.mu.Lock()
	defer i.mu.Unlock()
	if i.f == nil {
		if err := os.MkdirAll(filepath.Dir(i.set.Path), 0o755); err != nil {
			return integrations.Receipt{}, integrations.Retryable("create dir", err)
		}
		f, err := os.OpenFile(i.set.Path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return integrations.Receipt{}, integrations.Retryable("open file", err)
		}
		i.f = f
	}
	if _, err := i.f.Write(line); err != nil {
		i.reset()
		return integrations.Receipt{}, integrations.Retryable("write file", err)
	}
	if i.set.Sync {
		if err := i.f.Sync(); err != nil {
			i.reset()
			err = fmt.Errorf("%s: %w", i.set.Path, err)
			return integrations.Receipt{}, integrations.Retryable("sync file", err)
		}
	}
	return integrations.Receipt{}, nil
}

// reset closes the file so the next delivery reopens it (after rotation or
// a full disk).
func (i *Integration) reset() {
	if i.f != nil {
		_ = i.f.Close()
		i.f = nil
	}
}

// Close implements [integrations.Closer].
func (i *Integration) Close() error {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.f == nil {
		return nil
	}
	err := i.f.Close()
	i.f = nil
	return err
}

// Package console prints events to standard output, one readable line (and
// the facts beneath it) per event: the sink of tend's built-in default.
package console

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/events"
	"github.com/tend-dev/tend/integrations"
	"github.com/tend-dev/tend/integrations/render"
)

func init() { integrations.Register("console", New) }

// Settings of a console integration.
type Settings struct {
	// Format is "text" (default) or "json" (one CloudEvent per line).
	Format string `yaml:"format" default:"text"`
}

// Integration writes to an io.Writer, standard output by default.
type Integration struct {
	set Settings
	mu  sync.Mutex
	out io.Writer
}

// New returns a console integration writing to standard output.
func New(spec config.Integration, _ integrations.Deps) (integrations.Integration, error) {
	var set Settings
	if err := spec.Settings.Decode(&set); err != nil {
		return nil, err
	}
	if set.Format != "text" && set.Format != "json" {
		return nil, spec.Settings.Errorf("format", "unknown format %q: use text or json", set.Format)
	}
	return &Integration{set: set, out: os.Stdout}, nil
}

// Deliver implements [integrations.Integration].
func (c *Integration) Deliver(_ context.Context, ev events.Event) (integrations.Receipt, error) {
	var line string
	if c.set.Format == "json" {
		b, err := ev.Marshal()
		if err != nil {
			return integrations.Receipt{}, integrations.Permanent("encode", err)
		}
		line = string(b) + "\n"
	} else {
		v := render.Of(ev)
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s\n", ev.Time.Local().Format("15:04:05"), v.Title)
		if v.Summary != "" {
			fmt.Fprintf(&b, "    %s\n", strings.ReplaceAll(v.Summary, "\n", "\n    "))
		}
		for _, l := range v.Lines {
			fmt.Fprintf(&b, "    %s\n", l)
		}
		line = b.String()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := io.WriteString(c.out, line); err != nil {
		return integrations.Receipt{}, integrations.Retryable("write", err)
	}
	return integrations.Receipt{}, nil
}

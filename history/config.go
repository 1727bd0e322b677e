package history

import (
	"time"

	"github.com/tend-dev/tend/config"
)

// Config is the `history:` section of tend's config, read with
// config.Node.Decode:
//
//	history: {raw: 7d, "1m": 30d, "1h": 400d}
type Config struct {
	// Raw is how old a sample may be and still be stored raw in METRICS;
	// older imported samples go to the rollups only. METRICS itself ages out
	// samples after bus.metrics_max_age. Default 7d.
	Raw config.Duration `yaml:"raw" default:"7d"`
	// Minute is how long one-minute rollups are kept. Default 30d.
	Minute config.Duration `yaml:"1m" default:"30d"`
	// Hour is how long one-hour rollups are kept. Default 400d.
	Hour config.Duration `yaml:"1h" default:"400d"`
}

// DefaultConfig returns the defaults: raw 7d, 1m 30d, 1h 400d.
func DefaultConfig() Config {
	return Config{
		Raw:    config.Duration(7 * 24 * time.Hour),
		Minute: config.Duration(30 * 24 * time.Hour),
		Hour:   config.Duration(400 * 24 * time.Hour),
	}
}

// Decode reads the history section, applying defaults. An absent section
// gives [DefaultConfig]. Errors name file, line and key.
func Decode(n config.Node) (Config, error) {
	var c Config
	if err := n.Decode(&c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// retention returns how long rollups of res are kept.
func (c Config) retention(res Resolution) time.Duration {
	if res == Hour {
		return c.Hour.D()
	}
	return c.Minute.D()
}

// Resolution is the width of a rollup bucket.
type Resolution time.Duration

// Rollup resolutions.
const (
	Minute = Resolution(time.Minute)
	Hour   = Resolution(time.Hour)
)

// resolutions lists the rollup widths, coarsest first.
var resolutions = []Resolution{Hour, Minute}

// D returns the width as a time.Duration.
func (r Resolution) D() time.Duration { return time.Duration(r) }

// String returns the subject token of the resolution: "1m" or "1h".
func (r Resolution) String() string {
	if r == Hour {
		return "1h"
	}
	return "1m"
}

package alerting

import (
	"time"

	"github.com/tend-dev/tend/config"
)

// Flapping configures flapping detection. An alert that changes state more
// than Changes times within Window is flapping: its notifications are held
// until it has kept one state for Settle, then one notification tells the
// state it settled in.
type Flapping struct {
	// Changes is the most state changes allowed within Window; 0 turns
	// detection off. Default 0.
	Changes int `yaml:"changes"`
	// Window is how far back changes count. Default 10m.
	Window config.Duration `yaml:"window" default:"10m"`
	// Settle is how long an alert must keep one state to stop flapping.
	// Default: Window.
	Settle config.Duration `yaml:"settle"`
}

// Enabled reports whether detection is on.
func (f Flapping) Enabled() bool { return f.Changes > 0 }

func (f Flapping) settle() time.Duration {
	if f.Settle > 0 {
		return f.Settle.D()
	}
	return f.Window.D()
}

// FlapState is the history of one alert's state changes, kept in
// tend_state under flap.<fingerprint>.
type FlapState struct {
	Status     string      `json:"status"`
	Changes    []time.Time `json:"changes,omitempty"`
	Flapping   bool        `json:"flapping,omitempty"`
	LastChange time.Time   `json:"last_change"`
}

// Observe records the alert's status at time at and reports whether it is
// flapping now. A repeated status is not a change.
func (s *FlapState) Observe(cfg Flapping, status string, at time.Time) bool {
	if s.Flapping && !s.SettleAt(cfg).After(at) {
		s.Flapping, s.Changes = false, nil
	}
	if status == s.Status {
		return s.Flapping
	}
	s.Status, s.LastChange = status, at
	s.Changes = append(s.Changes, at)
	cut := at.Add(-cfg.Window.D())
	i := 0
	for i < len(s.Changes) && s.Changes[i].Before(cut) {
		i++
	}
	s.Changes = s.Changes[i:]
	if len(s.Changes) > cfg.Changes {
		s.Flapping = true
	}
	return s.Flapping
}

// SettleAt is when the alert stops flapping if it keeps its state.
func (s *FlapState) SettleAt(cfg Flapping) time.Time {
	return s.LastChange.Add(cfg.settle())
}

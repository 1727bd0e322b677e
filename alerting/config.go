package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/tend-dev/tend/config"
)

// Settings are the `alerting:` section of the config file.
//
//	alerting:
//	  windows:
//	    - name: saturday-maintenance
//	      days: [sat]
//	      start: "02:00"
//	      end: "04:00"
//	      time_zone: Europe/Istanbul
//	  inhibit:
//	    - source: [rule=host_down]
//	      target: [rule=~disk_.*]
//	      equal: [host]
//	  flapping: {changes: 4, window: 10m, settle: 5m}
type Settings struct {
	// Windows are recurring maintenance windows. A window no route names in
	// its mute list applies to every route; one a route names applies to
	// the routes naming it only.
	Windows  []Window      `yaml:"windows"`
	Inhibit  []InhibitRule `yaml:"inhibit"`
	Flapping Flapping      `yaml:"flapping"`
}

// Load decodes and checks the alerting section of cfg. Every mistake names
// file, line and key.
func Load(cfg *config.Config) (*Settings, error) {
	s := &Settings{}
	node := cfg.Alerting
	if node.Path == "" {
		node.Path = "alerting"
	}
	if err := node.Decode(s); err != nil {
		return nil, err
	}
	var errs []error
	names := map[string]bool{}
	for i := range s.Windows {
		w := &s.Windows[i]
		if err := w.compile(); err != nil {
			errs = append(errs, fieldErr(node, fmt.Sprintf("windows[%d]", i), err))
			continue
		}
		if names[w.Name] {
			errs = append(errs, fieldErr(node, fmt.Sprintf("windows[%d]", i),
				fmt.Errorf("name: window %q is defined twice", w.Name)))
		}
		names[w.Name] = true
	}
	for i := range s.Inhibit {
		if err := s.Inhibit[i].compile(); err != nil {
			errs = append(errs, fieldErr(node, fmt.Sprintf("inhibit[%d]", i), err))
		}
	}
	if s.Flapping.Changes < 0 {
		errs = append(errs, fieldErr(node, "flapping", errors.New("changes: must be 0 (off) or more")))
	}
	if s.Flapping.Enabled() && s.Flapping.Window <= 0 {
		errs = append(errs, fieldErr(node, "flapping", errors.New("window: must be positive")))
	}
	for i, r := range cfg.Routes {
		for j, name := range r.Mute {
			if !names[name] {
				errs = append(errs, &config.Error{File: cfg.File, Line: r.Line(),
					Key: fmt.Sprintf("routes[%d].mute[%d]", i, j),
					Msg: fmt.Sprintf("unknown window %q; defined under alerting.windows: %s",
						name, strings.Join(sortedKeys(names), ", "))})
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// fieldErr places err, whose text starts with the field name, under key of node.
func fieldErr(node config.Node, key string, err error) error {
	field, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		return node.Errorf(key, "%s", err.Error())
	}
	e := node.Errorf(key, "%s", msg)
	e.Key += "." + field
	return e
}

// routeWindows returns, for each route, the windows that apply to it.
func (s *Settings) routeWindows(routes []config.Route) [][]*Window {
	named := map[string]bool{}
	for _, r := range routes {
		for _, n := range r.Mute {
			named[n] = true
		}
	}
	out := make([][]*Window, len(routes))
	for i, r := range routes {
		for j := range s.Windows {
			w := &s.Windows[j]
			if !named[w.Name] || slices.Contains(r.Mute, w.Name) {
				out[i] = append(out[i], w)
			}
		}
	}
	return out
}

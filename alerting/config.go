package alerting

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

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
	// Go on after a decoding mistake, so every mistake is reported at once.
	errs := []error{node.Decode(s)}
	names := map[string]bool{}
	for i := range s.Windows {
		w := &s.Windows[i]
		if err := w.compile(); err != nil {
			errs = append(errs, fieldErr(node, "windows", i, err))
		}
		if names[w.Name] && w.Name != "" {
			errs = append(errs, fieldErr(node, "windows", i,
				fmt.Errorf("name: window %q is defined twice", w.Name)))
		}
		names[w.Name] = true
	}
	for i := range s.Inhibit {
		if err := s.Inhibit[i].compile(); err != nil {
			errs = append(errs, fieldErr(node, "inhibit", i, err))
		}
	}
	if s.Flapping.Changes < 0 {
		errs = append(errs, fieldErr(node, "flapping", -1, errors.New("changes: must be 0 (off) or more")))
	}
	if s.Flapping.Enabled() && s.Flapping.Window <= 0 {
		errs = append(errs, fieldErr(node, "flapping", -1, errors.New("window: must be positive")))
	}
	defined := sortedKeys(names)
	if len(defined) == 0 {
		defined = []string{"(none)"}
	}
	for i, r := range cfg.Routes {
		for j, name := range r.Mute {
			if !names[name] {
				errs = append(errs, &config.Error{File: cfg.File, Line: r.Line(),
					Key: fmt.Sprintf("routes[%d].mute[%d]", i, j),
					Msg: fmt.Sprintf("unknown window %q; defined under alerting.windows: %s",
						name, strings.Join(defined, ", "))})
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// fieldErr places err, whose text starts with the field name ("start: bad
// time"), at section[index].field under node, with that field's line.
func fieldErr(node config.Node, section string, index int, err error) error {
	field, msg, ok := strings.Cut(err.Error(), ": ")
	if !ok {
		field, msg = "", err.Error()
	}
	key := section
	if index >= 0 {
		key = fmt.Sprintf("%s[%d]", section, index)
	}
	if field != "" {
		key += "." + field
	}
	e := node.Errorf("", "%s", msg)
	e.Key = node.Path + "." + key
	if n := lineOf(node.Node, section, index, field); n > 0 {
		e.Line = n
	}
	return e
}

// lineOf finds the line of section[index].field in a mapping node, or of
// the closest part of it that exists.
func lineOf(n *yaml.Node, section string, index int, field string) int {
	n = mapValue(n, section)
	if n == nil {
		return 0
	}
	if index >= 0 {
		if n.Kind != yaml.SequenceNode || index >= len(n.Content) {
			return n.Line
		}
		n = n.Content[index]
	}
	if v := mapValue(n, field); v != nil {
		return v.Line
	}
	return n.Line
}

func mapValue(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
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

package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole tend configuration.
type Config struct {
	// Hub names this tend process; two hubs sharing one NATS need distinct
	// names. Default: the host name.
	Hub string `yaml:"hub"`
	// DataDir holds the JetStream store. Default: $XDG_DATA_HOME/tend.
	DataDir string `yaml:"data_dir"`
	// Listen is the HTTP API address. Default: 127.0.0.1:9740.
	Listen string `yaml:"listen"`

	Bus          Bus           `yaml:"bus"`
	Collector    Collector     `yaml:"collector"`
	Rules        []Rule        `yaml:"rules"`
	Integrations []Integration `yaml:"integrations"`
	Routes       []Route       `yaml:"routes"`
	Optimizer    Node          `yaml:"optimizer"`
	Inbound      Node          `yaml:"inbound"`
	History      Node          `yaml:"history"`
	Reports      Node          `yaml:"reports"`
	Alerting     Node          `yaml:"alerting"`

	// File is the path the config was read from, or "" for the default.
	File string `yaml:"-"`
}

// Bus configures NATS: embedded (the default) or a connection to a cluster.
type Bus struct {
	// URL connects to an external NATS instead of embedding one.
	URL string `yaml:"url"`
	// Listen opens a TCP port on the embedded server, so other hubs and
	// agents can join. Default: none, in-process only.
	Listen string `yaml:"listen"`
	// Replicas for streams and KV buckets; 3 on a cluster. Default 1.
	Replicas int `yaml:"replicas" default:"1"`
	// MetricsMaxAge is how long raw samples stay in METRICS. Default 7d.
	MetricsMaxAge Duration `yaml:"metrics_max_age" default:"7d"`
	// EventsMaxAge is how long alerts, runs and triggers stay. Default 30d.
	EventsMaxAge Duration `yaml:"events_max_age" default:"30d"`
	// DeadLetterMaxAge is how long dead letters wait for replay. Default 30d.
	DeadLetterMaxAge Duration `yaml:"deadletter_max_age" default:"30d"`
	// DeliveryLogMaxAge is how long the delivery log keeps attempts. Default 7d.
	DeliveryLogMaxAge Duration `yaml:"delivery_log_max_age" default:"7d"`
	// SyncAlways fsyncs every write, surviving power loss at a cost in speed.
	SyncAlways bool `yaml:"sync_always"`
}

// Collector configures sampling.
type Collector struct {
	// Interval between samples of a source that sets none. Default 10s.
	Interval Duration `yaml:"interval" default:"10s"`
	// Timeout of one sample. Default: the interval, at most 10s.
	Timeout Duration `yaml:"timeout"`
	// Host labels every sample. Default: the machine's host name.
	Host    string   `yaml:"host"`
	Sources []Source `yaml:"sources"`
}

// Source is one thing to sample. Exactly one kind key (host, exec, postgres,
// sqlite, redis, http) holds its settings.
type Source struct {
	Name     string            `yaml:"name"`
	Interval Duration          `yaml:"interval"`
	Timeout  Duration          `yaml:"timeout"`
	Labels   map[string]string `yaml:"labels"`

	// One of these kind keys holds the settings; see [Source.Type].
	HostKind Node `yaml:"host"`
	Exec     Node `yaml:"exec"`
	Postgres Node `yaml:"postgres"`
	SQLite   Node `yaml:"sqlite"`
	Redis    Node `yaml:"redis"`
	HTTP     Node `yaml:"http"`

	// Type is the kind key found; Settings its value.
	Type     string `yaml:"-"`
	Settings Node   `yaml:"-"`
}

// SourceKinds are the keys that name a source's kind.
var SourceKinds = []string{"host", "exec", "postgres", "sqlite", "redis", "http"}

// Rule turns samples into alerts.
type Rule struct {
	Name   string `yaml:"name"`
	Metric string `yaml:"metric"`
	// Kind is threshold (default), trend, anomaly or forecast.
	Kind  string   `yaml:"kind"`
	Above *float64 `yaml:"above"`
	Below *float64 `yaml:"below"`
	// For is how long the condition must hold before firing. Default 0.
	For Duration `yaml:"for"`
	// Clear is the hysteresis bound: resolve only past it.
	Clear    *float64          `yaml:"clear"`
	Severity string            `yaml:"severity" default:"warning"`
	Labels   map[string]string `yaml:"labels"`
	// Match restricts the rule to series with these labels.
	Match   map[string]string `yaml:"match"`
	Summary string            `yaml:"summary"`
	// Optimize names tasks to run when the rule fires (automatic mode).
	Optimize []string `yaml:"optimize"`
	// Analysis holds the settings of trend, anomaly and forecast rules.
	Window   Duration `yaml:"window"`
	Settings Node     `yaml:"analysis"`

	line int
}

// Line returns the rule's line in the config file.
func (r Rule) Line() int { return r.line }

// Integration is one outside system (or local sink) events are sent to.
// Keys other than the common ones below belong to its type.
type Integration struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
	// Rate limits calls, e.g. "5/s" or "100/m". Default: unlimited.
	Rate Rate `yaml:"rate"`
	// Burst is how many calls may go at once within the rate. Default 1.
	Burst int `yaml:"burst"`
	// MaxInFlight bounds concurrent deliveries. Default 4.
	MaxInFlight int   `yaml:"max_in_flight"`
	Retry       Retry `yaml:"retry"`
	// Timeout of one delivery attempt. Default 10s.
	Timeout Duration `yaml:"timeout"`
	// AckWait is how long a delivery may go without word from its hub
	// before JetStream offers it again: after a crash, the wait until an
	// in-flight delivery is retried. Long calls keep it alive. Default 30s.
	AckWait Duration `yaml:"ack_wait" default:"30s"`

	// Settings is the whole mapping; its type decodes the rest.
	Settings Node `yaml:",remain"`
}

// Retry is the backoff policy of an integration.
type Retry struct {
	Initial     Duration `yaml:"initial" default:"1s"`
	Multiplier  float64  `yaml:"multiplier" default:"2"`
	MaxInterval Duration `yaml:"max_interval" default:"5m"`
	MaxElapsed  Duration `yaml:"max_elapsed" default:"24h"`
	// Jitter is the randomisation factor, 0 to 1. Default 0.2.
	Jitter float64 `yaml:"jitter" default:"0.2"`
}

// Route sends matching events to integrations.
type Route struct {
	Match Match    `yaml:"match"`
	To    []string `yaml:"to"`
	// Grouping controls (see the alerting docs).
	GroupBy        []string `yaml:"group_by"`
	GroupWait      Duration `yaml:"group_wait"`
	GroupInterval  Duration `yaml:"group_interval"`
	RepeatInterval Duration `yaml:"repeat_interval"`
	// Mute names maintenance windows that apply to this route only.
	Mute []string `yaml:"mute"`

	line int
}

// Line returns the route's line in the config file.
func (r Route) Line() int { return r.line }

// Match selects events. Empty fields match everything.
type Match struct {
	// Type is an event type with or without "dev.tend.", e.g. alert.
	Type     []string          `yaml:"type"`
	Severity []string          `yaml:"severity"`
	Labels   map[string]string `yaml:"labels"`
}

// Rate is a number of events per time unit, written "5/s" or "100/m".
type Rate struct {
	Per   float64 // events per second; 0 means unlimited
	Text  string
	isSet bool
}

func (r *Rate) parseScalar(s string) error {
	num, unit, ok := strings.Cut(strings.TrimSpace(s), "/")
	n, err := strconv.ParseFloat(num, 64)
	if !ok || err != nil || n <= 0 {
		return fmt.Errorf("bad rate %q: write e.g. 5/s, 100/m or 1000/h", s)
	}
	per := map[string]float64{"s": 1, "m": 60, "h": 3600}[unit]
	if per == 0 {
		return fmt.Errorf("bad rate %q: unit must be s, m or h", s)
	}
	*r = Rate{Per: n / per, Text: s, isSet: true}
	return nil
}

// MarshalYAML writes the rate as it was given.
func (r Rate) MarshalYAML() (any, error) { return r.Text, nil }

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}`)

// Load reads and validates the file at path. Every mistake is reported, each
// with file, line and key.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, b)
}

// Parse reads and validates a config given as bytes; file names it in errors.
func Parse(file string, b []byte) (*Config, error) {
	cfg, err := parse(file, b)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// LoadPartial reads path like [Load] but also returns what could be read
// when there are mistakes, so `tend config check` can go on to check the
// settings of each source and integration and report everything at once.
func LoadPartial(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return parse(path, b)
}

func parse(file string, b []byte) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, &Error{File: file, Line: yamlErrLine(err), Msg: yamlErrMsg(err)}
	}
	cfg := &Config{File: file}
	if len(doc.Content) == 0 {
		Node{File: file}.Decode(cfg)
		cfg.fill()
		return cfg, nil
	}
	root := doc.Content[0]

	var errs Errors
	expandEnv(file, root, "", &errs)
	if err := (Node{File: file, Node: root}).Decode(cfg); err != nil {
		errs = append(errs, asErrors(err)...)
	}
	cfg.lines(root)
	cfg.splitKinds(file, root, &errs)
	cfg.fill()
	errs = append(errs, cfg.validate()...)
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return cfg, errs
	}
	return cfg, nil
}

func asErrors(err error) Errors {
	var es Errors
	if errors.As(err, &es) {
		return es
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return Errors{{Msg: err.Error()}}
}

// expandEnv replaces ${NAME} and ${NAME:-default} in scalar values.
func expandEnv(file string, n *yaml.Node, path string, errs *Errors) {
	switch n.Kind {
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
			m := envRef.FindStringSubmatch(ref)
			if v, ok := os.LookupEnv(m[1]); ok {
				return v
			}
			if m[2] != "" {
				return m[3]
			}
			*errs = append(*errs, &Error{File: file, Line: n.Line, Key: path,
				Msg: "environment variable " + m[1] + " is not set (set it, or write ${" + m[1] + ":-default})"})
			return ""
		})
		if n.Tag == "!!str" || n.Style != 0 {
			return
		}
		n.Tag = "" // let the decoder read an expanded number as a number
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			expandEnv(file, n.Content[i+1], join(path, n.Content[i].Value), errs)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for i, c := range n.Content {
			expandEnv(file, c, fmt.Sprintf("%s[%d]", path, i), errs)
		}
	}
}

func (c *Config) lines(root *yaml.Node) {
	if rules := child(root, "rules"); rules != nil && rules.Kind == yaml.SequenceNode {
		for i := range c.Rules {
			if i < len(rules.Content) {
				c.Rules[i].line = rules.Content[i].Line
			}
		}
	}
	if routes := child(root, "routes"); routes != nil && routes.Kind == yaml.SequenceNode {
		for i := range c.Routes {
			if i < len(routes.Content) {
				c.Routes[i].line = routes.Content[i].Line
			}
		}
	}
}

// splitKinds finds each source's kind key and each integration's own keys.
func (c *Config) splitKinds(file string, root *yaml.Node, errs *Errors) {
	coll := child(root, "collector")
	var srcs *yaml.Node
	if coll != nil {
		srcs = child(coll, "sources")
	}
	for i := range c.Collector.Sources {
		if srcs == nil || i >= len(srcs.Content) {
			break
		}
		c.Collector.Sources[i].setKind(file, srcs.Content[i], fmt.Sprintf("collector.sources[%d]", i), errs)
	}
}

func (s *Source) setKind(file string, n *yaml.Node, path string, errs *Errors) {
	for _, kind := range SourceKinds {
		v := child(n, kind)
		if v == nil {
			continue
		}
		if s.Type != "" {
			*errs = append(*errs, &Error{File: file, Line: n.Line, Key: path,
				Msg: "a source has one kind; found both " + s.Type + " and " + kind})
			return
		}
		s.Type = kind
		s.Settings = Node{File: file, Path: path + "." + kind, Node: v}
	}
	if s.Type == "" {
		*errs = append(*errs, &Error{File: file, Line: n.Line, Key: path,
			Msg: "source needs one kind key: " + strings.Join(SourceKinds, ", ")})
	}
}

// fill applies defaults that depend on other fields or on the machine.
func (c *Config) fill() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:9740"
	}
	if c.DataDir == "" {
		c.DataDir = DefaultDataDir()
	}
	host, _ := os.Hostname()
	if c.Collector.Host == "" {
		c.Collector.Host = host
	}
	if c.Hub == "" {
		c.Hub = host
	}
	if c.Collector.Interval == 0 {
		c.Collector.Interval = Duration(10 * time.Second)
	}
	for i := range c.Collector.Sources {
		s := &c.Collector.Sources[i]
		if s.Interval == 0 {
			s.Interval = c.Collector.Interval
		}
		if s.Timeout == 0 {
			s.Timeout = c.Collector.Timeout
		}
		if s.Timeout == 0 {
			s.Timeout = Duration(min(s.Interval.D(), 10*time.Second))
		}
	}
	for i := range c.Integrations {
		in := &c.Integrations[i]
		if in.MaxInFlight == 0 {
			in.MaxInFlight = 4
		}
		if in.Burst == 0 {
			in.Burst = 1
		}
		if in.Timeout == 0 {
			in.Timeout = Duration(10 * time.Second)
		}
	}
}

// DefaultDataDir returns $XDG_DATA_HOME/tend, or ~/.local/share/tend.
func DefaultDataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "tend")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "tend")
	}
	return filepath.Join(os.TempDir(), "tend")
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

func yamlErrLine(err error) int {
	m := yamlLine.FindStringSubmatch(err.Error())
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

func yamlErrMsg(err error) string {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	msg = yamlLine.ReplaceAllString(msg, "")
	return "not valid YAML: " + strings.Trim(strings.TrimSpace(msg), ": ")
}

// Default returns the built-in configuration `tend serve` runs without
// --config: host metrics every 10 s, CPU, memory and disk rules, and the
// console.
func Default() *Config {
	cfg, err := Parse("(built-in default)", []byte(DefaultYAML))
	if err != nil {
		panic("built-in config is invalid: " + err.Error())
	}
	cfg.File = ""
	return cfg
}

// DefaultYAML is the built-in configuration, also a starting point for users.
const DefaultYAML = `# tend's built-in configuration: host metrics, three rules, the console.
collector:
  interval: 10s
  sources:
    - name: host
      host: {}
rules:
  - name: cpu_high
    metric: host.cpu.percent
    above: 90
    clear: 80
    for: 5m
    severity: warning
    summary: 'CPU at {{printf "%.0f" .Value}}% on {{.Host}}'
  - name: memory_high
    metric: host.memory.used_percent
    above: 90
    clear: 85
    for: 5m
    severity: warning
    summary: 'memory {{printf "%.0f" .Value}}% used on {{.Host}}'
  - name: disk_full
    metric: host.disk.used_percent
    above: 90
    clear: 85
    for: 1m
    severity: critical
    summary: 'disk {{.Labels.mount}} {{printf "%.0f" .Value}}% full on {{.Host}}'
integrations:
  - name: console
    type: console
routes:
  - match: {type: alert}
    to: [console]
`

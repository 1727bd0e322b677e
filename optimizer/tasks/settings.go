package tasks

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tend-dev/tend/config"
)

// Settings are the optimizer's settings, the `optimizer:` section of the
// config file. [Decode] reads them; tests may fill them by hand.
type Settings struct {
	// Enabled turns automatic optimization (alerts, schedule) on at first
	// start; afterwards the state store's value wins. Default false.
	Enabled bool
	// Level is the level runs use when they name none. Default low.
	Level Level
	// AllowDisruptive permits steps that can disturb service. Default false.
	AllowDisruptive bool
	// Cooldown is how long after a task starts it may not start again
	// unless forced. Default 30m.
	Cooldown time.Duration
	// Schedule starts runs on a timetable; zero means none.
	Schedule Schedule
	// Samples is how many samples each measurement takes before and after,
	// at least [MinSamples]. Default 3.
	Samples int
	// SampleInterval is the pause between samples. Default 1s.
	SampleInterval time.Duration
	// TaskTimeout bounds one task's run. Default 15m.
	TaskTimeout time.Duration

	// Per-task settings; nil means the task is not configured. The memory
	// task exists even when Memory is nil.
	Database *DatabaseSettings
	Memory   *MemorySettings
	Cache    *CacheSettings
	CPU      *CPUSettings
	Response *ResponseSettings
	Exec     *ExecSettings
}

// DatabaseSettings configure the database task (`tasks.database`).
type DatabaseSettings struct {
	// Source names a postgres source; SQLite a sqlite source. At least one.
	Source string `yaml:"source"`
	SQLite string `yaml:"sqlite"`
	// Tables limits PostgreSQL work to these tables ("schema.table", or
	// "table" in any schema). Default: every user table.
	Tables []string `yaml:"tables"`
	// AnalyzeRatio and MinChanges: ANALYZE (low) a table whose rows changed
	// since its last analyze exceed both this share of its live rows and
	// this count. Defaults 0.1 and 1000.
	AnalyzeRatio float64 `yaml:"analyze_ratio" default:"0.1"`
	MinChanges   int64   `yaml:"min_changes" default:"1000"`
	// DeadTupleRatio and MinDeadTuples: VACUUM (ANALYZE) (medium) a table
	// whose dead rows exceed both this share of all its rows and this count.
	// Defaults 0.1 and 100.
	DeadTupleRatio float64 `yaml:"dead_tuple_ratio" default:"0.1"`
	MinDeadTuples  int64   `yaml:"min_dead_tuples" default:"100"`
	// IndexBloatRatio and MinIndexBytes: REINDEX CONCURRENTLY (high,
	// disruptive) a btree index whose estimated wasted share exceeds this
	// ratio and whose size exceeds this many bytes. Defaults 0.3 and 1 MiB.
	IndexBloatRatio float64 `yaml:"index_bloat_ratio" default:"0.3"`
	MinIndexBytes   int64   `yaml:"min_index_bytes" default:"1048576"`
	// ProbeQuery is a PostgreSQL query timed before and after. Default: the
	// source's own probe query, if it has one.
	ProbeQuery string `yaml:"probe_query"`
	// SlowQueryMs: pg_stat_statements entries with a mean time above this
	// are reported as recommendations. Default 100.
	SlowQueryMs float64 `yaml:"slow_query_ms" default:"100"`
}

// MemorySettings configure the memory task (`tasks.memory`).
type MemorySettings struct {
	// Redis names a redis source to purge and measure. Default none.
	Redis string `yaml:"redis"`
}

// CacheSettings configure the cache task (`tasks.cache`).
type CacheSettings struct {
	// Source names a redis source. Required.
	Source string `yaml:"source"`
	// WarmKeys are read (GET) at medium and above to warm the cache.
	WarmKeys []string `yaml:"warm_keys"`
	// WarmURLs are fetched (GET) at medium and above.
	WarmURLs []string `yaml:"warm_urls"`
	// ConfigSet is applied with CONFIG SET at high and above; only keys in
	// [ConfigSetAllowed] are accepted.
	ConfigSet map[string]string `yaml:"config_set"`
}

// CPUSettings configure the cpu task (`tasks.cpu`).
type CPUSettings struct {
	// Processes is the allow-list of process names (as in /proc/PID/comm)
	// the task may renice and ionice. Nothing else is ever touched.
	Processes []string `yaml:"processes"`
	// Nice is the niceness given at medium and high, 1 to 19; aggressive
	// uses 19. Processes already nicer are left alone. Default 10.
	Nice int `yaml:"nice" default:"10"`
}

// ResponseSettings configure the response task (`tasks.response`).
type ResponseSettings struct {
	// Sources names http sources to probe and warm. Required.
	Sources []string `yaml:"sources"`
	// Probes is the number of probes before and after, at least 3.
	// Default 10.
	Probes int `yaml:"probes" default:"10"`
	// Warmup is the number of warm-up requests at low; medium, high and
	// aggressive send 2, 4 and 8 times as many. Default 10.
	Warmup int `yaml:"warmup" default:"10"`
}

// ExecSettings configure the exec task (`tasks.exec`).
type ExecSettings struct {
	// Command is run (no shell) to optimize; TEND_LEVEL holds the level.
	Command []string `yaml:"command"`
	// Measure is run (no shell) before and after; it prints one number.
	Measure []string `yaml:"measure"`
	// Metric names the number in results, and Unit gives its unit.
	// Defaults "measure" and none.
	Metric string `yaml:"metric" default:"measure"`
	Unit   string `yaml:"unit"`
	// LowerIsBetter tells how to read the number. Default true.
	LowerIsBetter bool `yaml:"lower_is_better" default:"true"`
	// Level is the lowest level that runs Command. Default low.
	Level string `yaml:"level" default:"low"`
	// Disruptive marks Command as needing allow_disruptive. Default false.
	Disruptive bool `yaml:"disruptive"`
	// Timeout bounds one run of Command or Measure. Default 5m.
	Timeout config.Duration `yaml:"timeout" default:"5m"`
}

// ConfigSetAllowed lists the Redis settings the cache task may change, with
// whether changing it is disruptive.
var ConfigSetAllowed = map[string]bool{
	"maxmemory-policy":              false,
	"maxmemory-samples":             false,
	"hz":                            false,
	"activedefrag":                  false,
	"active-defrag-cycle-min":       false,
	"active-defrag-cycle-max":       false,
	"active-defrag-threshold-lower": false,
	"active-defrag-threshold-upper": false,
	"lazyfree-lazy-eviction":        false,
	"lazyfree-lazy-expire":          false,
	"lazyfree-lazy-server-del":      false,
	"lfu-log-factor":                false,
	"lfu-decay-time":                false,
	// A lower maxmemory evicts keys at once.
	"maxmemory": true,
}

// rawSettings is the file's shape of [Settings].
type rawSettings struct {
	Enabled         bool            `yaml:"enabled"`
	Level           string          `yaml:"level" default:"low"`
	AllowDisruptive bool            `yaml:"allow_disruptive"`
	Cooldown        config.Duration `yaml:"cooldown" default:"30m"`
	Schedule        config.Node     `yaml:"schedule"`
	Samples         int             `yaml:"samples" default:"3"`
	SampleInterval  config.Duration `yaml:"sample_interval" default:"1s"`
	TaskTimeout     config.Duration `yaml:"task_timeout" default:"15m"`
	Tasks           struct {
		Database *DatabaseSettings `yaml:"database"`
		Memory   *MemorySettings   `yaml:"memory"`
		Cache    *CacheSettings    `yaml:"cache"`
		CPU      *CPUSettings      `yaml:"cpu"`
		Response *ResponseSettings `yaml:"response"`
		Exec     *ExecSettings     `yaml:"exec"`
	} `yaml:"tasks"`
}

// Decode reads the `optimizer:` section. Mistakes come back together as
// [config.Errors] naming file, line and key. An absent section gives the
// defaults.
func Decode(n config.Node) (Settings, error) {
	var raw rawSettings
	if err := n.Decode(&raw); err != nil {
		return Settings{}, err
	}
	var errs config.Errors
	bad := func(key, format string, args ...any) {
		errs = append(errs, &config.Error{File: n.File, Line: lineOf(n.Node, key), Key: n.Path + "." + key,
			Msg: fmt.Sprintf(format, args...)})
	}

	s := Settings{
		Enabled:         raw.Enabled,
		AllowDisruptive: raw.AllowDisruptive,
		Cooldown:        raw.Cooldown.D(),
		Samples:         raw.Samples,
		SampleInterval:  raw.SampleInterval.D(),
		TaskTimeout:     raw.TaskTimeout.D(),
		Database:        raw.Tasks.Database,
		Memory:          raw.Tasks.Memory,
		Cache:           raw.Tasks.Cache,
		CPU:             raw.Tasks.CPU,
		Response:        raw.Tasks.Response,
		Exec:            raw.Tasks.Exec,
	}
	lvl, err := ParseLevel(raw.Level)
	if err != nil {
		bad("level", "%v", err)
	}
	s.Level = lvl
	if s.Samples < MinSamples {
		bad("samples", "want at least %d samples, got %d", MinSamples, s.Samples)
	}
	sched, err := decodeSchedule(raw.Schedule)
	if err != nil {
		bad("schedule", "%v", err)
	}
	s.Schedule = sched
	for _, e := range s.check() {
		bad("tasks."+e.key, "%s", e.msg)
	}
	if len(errs) > 0 {
		return Settings{}, errs
	}
	return s, nil
}

type fieldErr struct{ key, msg string }

// check validates the task settings.
func (s Settings) check() []fieldErr {
	var out []fieldErr
	bad := func(key, format string, args ...any) {
		out = append(out, fieldErr{key, fmt.Sprintf(format, args...)})
	}
	ratio := func(key string, v float64) {
		if v <= 0 || v > 1 {
			bad(key, "want a ratio above 0 and at most 1, got %v", v)
		}
	}
	if d := s.Database; d != nil {
		if d.Source == "" && d.SQLite == "" {
			bad("database", "name a postgres source (source) or a sqlite source (sqlite)")
		}
		ratio("database.analyze_ratio", d.AnalyzeRatio)
		ratio("database.dead_tuple_ratio", d.DeadTupleRatio)
		ratio("database.index_bloat_ratio", d.IndexBloatRatio)
	}
	if c := s.Cache; c != nil {
		if c.Source == "" {
			bad("cache.source", "name a redis source")
		}
		for _, k := range sortedKeys(c.ConfigSet) {
			if _, ok := ConfigSetAllowed[strings.ToLower(k)]; !ok {
				bad("cache.config_set."+k, "not a setting tend may change; allowed: %s",
					strings.Join(sortedKeys(ConfigSetAllowed), ", "))
			}
		}
	}
	if c := s.CPU; c != nil {
		if len(c.Processes) == 0 {
			bad("cpu.processes", "list the process names the task may renice")
		}
		if c.Nice < 1 || c.Nice > 19 {
			bad("cpu.nice", "want 1 to 19, got %d", c.Nice)
		}
	}
	if r := s.Response; r != nil {
		if len(r.Sources) == 0 {
			bad("response.sources", "name at least one http source")
		}
		if r.Probes < MinSamples {
			bad("response.probes", "want at least %d probes, got %d", MinSamples, r.Probes)
		}
		if r.Warmup < 0 {
			bad("response.warmup", "must not be negative")
		}
	}
	if e := s.Exec; e != nil {
		if len(e.Command) == 0 {
			bad("exec.command", "give the command to run, as a list")
		}
		if len(e.Measure) == 0 {
			bad("exec.measure", "give a command printing one number, as a list")
		}
		if _, err := ParseLevel(e.Level); err != nil {
			bad("exec.level", "%v", err)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// decodeSchedule reads `schedule: "0 3 * * *"` or a mapping with cron or
// every, and optionally tasks.
func decodeSchedule(n config.Node) (Schedule, error) {
	if n.Node == nil || (n.Node.Kind == yaml.ScalarNode && n.Node.Value == "") {
		return Schedule{}, nil
	}
	if n.Node.Kind == yaml.ScalarNode {
		return ParseSchedule(n.Node.Value, 0, nil)
	}
	var raw struct {
		Cron  string          `yaml:"cron"`
		Every config.Duration `yaml:"every"`
		Tasks []string        `yaml:"tasks"`
	}
	if err := n.Decode(&raw); err != nil {
		return Schedule{}, err
	}
	if (raw.Cron == "") == (raw.Every == 0) {
		return Schedule{}, errors.New("give exactly one of cron and every")
	}
	return ParseSchedule(raw.Cron, raw.Every.D(), raw.Tasks)
}

// Names returns the names of the tasks s configures, sorted; memory is
// always among them.
func (s Settings) Names() []string {
	out := []string{"memory"}
	if s.Database != nil {
		out = append(out, "database")
	}
	if s.Cache != nil {
		out = append(out, "cache")
	}
	if s.CPU != nil {
		out = append(out, "cpu")
	}
	if s.Response != nil {
		out = append(out, "response")
	}
	if s.Exec != nil {
		out = append(out, "exec")
	}
	slices.Sort(out)
	return out
}

// lineOf returns the line of the dotted key under m, or of its deepest
// ancestor present.
func lineOf(m *yaml.Node, key string) int {
	if m == nil {
		return 0
	}
	line := m.Line
	for _, part := range strings.Split(key, ".") {
		if m.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == part {
				line, next = m.Content[i].Line, m.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		m = next
	}
	return line
}

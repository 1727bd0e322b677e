package tasks

import (
	"errors"
	"fmt"
)

// Build makes the tasks s configures, finding their targets among sources
// (the collector's sources by name, each satisfying [PostgresSource],
// [RedisSource], [SQLiteSource] or [HTTPSource]). It returns an error
// wrapping [ErrSource] for a missing source or one of the wrong kind, and
// connects to nothing.
func Build(s Settings, sources map[string]any) (map[string]Task, error) {
	if s.Samples < MinSamples {
		s.Samples = MinSamples
	}
	samp := sampling{n: s.Samples, every: s.SampleInterval}
	out := map[string]Task{}
	var errs []error

	mem := &memory{samp: samp}
	if s.Memory != nil && s.Memory.Redis != "" {
		r, err := lookup[RedisSource](sources, s.Memory.Redis, "redis", "memory")
		errs = append(errs, err)
		mem.redisName, mem.redis = s.Memory.Redis, r
	}
	out["memory"] = mem

	if d := s.Database; d != nil {
		t := &database{s: *d, samp: samp, pgName: d.Source, liteName: d.SQLite}
		if d.Source != "" {
			pg, err := lookup[PostgresSource](sources, d.Source, "postgres", "database")
			errs = append(errs, err)
			t.pg = pg
		}
		if d.SQLite != "" {
			lite, err := lookup[SQLiteSource](sources, d.SQLite, "sqlite", "database")
			errs = append(errs, err)
			t.lite = lite
		}
		if d.Source == "" && d.SQLite == "" {
			errs = append(errs, fmt.Errorf("%w: database names no source", ErrSource))
		}
		out["database"] = t
	}
	if c := s.Cache; c != nil {
		r, err := lookup[RedisSource](sources, c.Source, "redis", "cache")
		errs = append(errs, err)
		out["cache"] = &cache{s: *c, name: c.Source, redis: r, http: newHTTPClient(), samp: samp}
	}
	if c := s.CPU; c != nil {
		if len(c.Processes) == 0 {
			errs = append(errs, errors.New("cpu: no processes allowed"))
		}
		out["cpu"] = &cpuTask{s: *c, samp: samp}
	}
	if r := s.Response; r != nil {
		t := &response{s: *r, samp: samp}
		if t.s.Probes < MinSamples {
			t.s.Probes = MinSamples
		}
		for _, name := range r.Sources {
			h, err := lookup[HTTPSource](sources, name, "http", "response")
			errs = append(errs, err)
			t.names, t.sources = append(t.names, name), append(t.sources, h)
		}
		out["response"] = t
	}
	if e := s.Exec; e != nil {
		lvl, err := ParseLevel(e.Level)
		errs = append(errs, err)
		if len(e.Command) == 0 || len(e.Measure) == 0 {
			errs = append(errs, errors.New("exec: command and measure are required"))
		}
		out["exec"] = &execTask{s: *e, level: lvl, samp: samp}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// lookup finds source name and checks it offers what task needs.
func lookup[T any](sources map[string]any, name, kind, task string) (T, error) {
	var zero T
	src, ok := sources[name]
	if !ok {
		return zero, fmt.Errorf("%w: %s: no source named %q", ErrSource, task, name)
	}
	t, ok := src.(T)
	if !ok {
		return zero, fmt.Errorf("%w: %s: source %q is not a %s source (%T)", ErrSource, task, name, kind, src)
	}
	return t, nil
}

package tasks_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/tend-dev/tend/config"
	"github.com/tend-dev/tend/optimizer/tasks"
)

func node(t *testing.T, src string) config.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Content) == 0 {
		return config.Node{File: "tend.yaml", Path: "optimizer"}
	}
	return config.Node{File: "tend.yaml", Path: "optimizer", Node: doc.Content[0]}
}

func TestDecode_Defaults(t *testing.T) {
	s, err := tasks.Decode(node(t, ""))
	if err != nil {
		t.Fatal(err)
	}
	if s.Enabled || s.Level != tasks.Low || s.Cooldown != 30*time.Minute || s.Samples != 3 ||
		!s.Schedule.IsZero() || s.Database != nil {
		t.Errorf("defaults = %+v", s)
	}
	if got := s.Names(); len(got) != 1 || got[0] != "memory" {
		t.Errorf("Names() = %v, want [memory]", got)
	}
}

func TestDecode_Full(t *testing.T) {
	s, err := tasks.Decode(node(t, `
enabled: true
level: medium
allow_disruptive: true
cooldown: 1h
schedule: {every: 6h, tasks: [database]}
tasks:
  database: {source: db, sqlite: lite, dead_tuple_ratio: 0.2}
  memory: {redis: cache}
  cache: {source: cache, warm_keys: [a, b], config_set: {hz: "20"}}
  cpu: {processes: [backup-agent]}
  response: {sources: [api], probes: 5}
  exec: {command: [sh, -c, "true"], measure: [echo, "1"], lower_is_better: false}
`))
	if err != nil {
		t.Fatal(err)
	}
	if !s.Enabled || s.Level != tasks.Medium || !s.AllowDisruptive || s.Cooldown != time.Hour {
		t.Errorf("top level = %+v", s)
	}
	if s.Schedule.Every != 6*time.Hour || len(s.Schedule.Tasks) != 1 {
		t.Errorf("schedule = %+v", s.Schedule)
	}
	if d := s.Database; d.DeadTupleRatio != 0.2 || d.MinDeadTuples != 100 || d.AnalyzeRatio != 0.1 {
		t.Errorf("database = %+v, want ratio 0.2 and defaults", d)
	}
	if s.CPU.Nice != 10 || s.Response.Probes != 5 || s.Response.Warmup != 10 || s.Exec.LowerIsBetter {
		t.Errorf("cpu %+v, response %+v, exec %+v", s.CPU, s.Response, s.Exec)
	}
	if got := strings.Join(s.Names(), ","); got != "cache,cpu,database,exec,memory,response" {
		t.Errorf("Names() = %s", got)
	}
}

func TestDecode_Errors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"level", "level: max", "optimizer.level"},
		{"samples", "samples: 2", "at least 3"},
		{"cron", `schedule: "0 25 * * *"`, "hour"},
		{"schedule both", "schedule: {every: 1h, cron: '* * * * *'}", "exactly one"},
		{"unknown key", "tasks: {database: {source: db, sauce: x}}", "unknown key"},
		{"config_set", "tasks: {cache: {source: c, config_set: {save: ''}}}", "not a setting tend may change"},
		{"cpu list", "tasks: {cpu: {nice: 5}}", "list the process names"},
		{"ratio", "tasks: {database: {source: db, dead_tuple_ratio: 2}}", "ratio"},
		{"exec", "tasks: {exec: {command: [x]}}", "exec.measure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tasks.Decode(node(t, tt.src))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Decode(%s) = %v, want an error with %q", tt.src, err, tt.want)
			}
			if !strings.Contains(err.Error(), "tend.yaml:") {
				t.Errorf("error %q does not name the file and line", err)
			}
		})
	}
}

func TestBuild_Sources(t *testing.T) {
	s := quick()
	s.Database = &tasks.DatabaseSettings{Source: "db"}
	if _, err := tasks.Build(s, map[string]any{}); !errors.Is(err, tasks.ErrSource) {
		t.Errorf("missing source: %v, want ErrSource", err)
	}
	if _, err := tasks.Build(s, map[string]any{"db": sqliteSource{}}); !errors.Is(err, tasks.ErrSource) ||
		!strings.Contains(err.Error(), "not a postgres source") {
		t.Errorf("wrong kind: %v, want ErrSource naming the kind", err)
	}
}

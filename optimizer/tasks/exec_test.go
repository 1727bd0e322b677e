package tasks_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tend-dev/tend/optimizer/tasks"
)

func TestExec_BeforeAfter(t *testing.T) {
	ctx := context.Background()
	file := filepath.Join(t.TempDir(), "value")
	if err := os.WriteFile(file, []byte("40\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := quick()
	s.Exec = &tasks.ExecSettings{
		Command:       []string{"sh", "-c", `echo 10 > "$0"; echo "$TEND_LEVEL" > "$0.level"`, file},
		Measure:       []string{"cat", file},
		LowerIsBetter: true, Level: "medium",
	}
	task := build(t, s, nil, "exec")

	tests := []struct {
		name    string
		env     tasks.Env
		verdict string
		value   string
	}{
		{"below its level", tasks.Env{Level: tasks.Low}, tasks.Skipped, "40"},
		{"dry run", tasks.Env{Level: tasks.High, DryRun: true}, tasks.Skipped, "40"},
		{"runs", tasks.Env{Level: tasks.High}, tasks.Improved, "10"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := task.Run(ctx, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != tt.verdict {
				t.Errorf("verdict = %q, want %q (%+v)", res.Verdict, tt.verdict, res)
			}
			b, _ := os.ReadFile(file)
			if got := strings.TrimSpace(string(b)); got != tt.value {
				t.Errorf("value = %s, want %s", got, tt.value)
			}
		})
	}
	lvl, _ := os.ReadFile(file + ".level")
	if strings.TrimSpace(string(lvl)) != "high" {
		t.Errorf("TEND_LEVEL = %q, want high", lvl)
	}
}

func TestExec_DisruptiveNeedsOptIn(t *testing.T) {
	s := quick()
	s.Exec = &tasks.ExecSettings{Command: []string{"true"}, Measure: []string{"echo", "1"},
		Level: "low", Disruptive: true}
	steps, err := build(t, s, nil, "exec").Plan(context.Background(), tasks.Env{Level: tasks.High})
	if err != nil {
		t.Fatal(err)
	}
	if st := step(t, steps, "run", "true"); !strings.Contains(st.Skipped, "allow_disruptive") {
		t.Errorf("disruptive command without opt-in = %+v", st)
	}

	s.Exec.Measure = []string{"echo", "many"}
	res, _ := build(t, s, nil, "exec").Run(context.Background(), tasks.Env{AllowDisruptive: true})
	if st := step(t, res.Steps, "measure", "measure"); !strings.Contains(st.Error, "not a number") {
		t.Errorf("measure printing a word = %+v", st)
	}
}

package tasks_test

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"

	"github.com/tend-dev/tend/optimizer/tasks"
)

// child starts a copy of sleep under a unique name, the only name the test
// allows the task to touch.
func child(t *testing.T) (string, *process.Process) {
	t.Helper()
	name := unique("tendcpu") // 15 bytes at most, as the kernel keeps it
	path := filepath.Join(t.TempDir(), name)
	src, err := os.Open("/bin/sleep")
	if err != nil {
		t.Skipf("no /bin/sleep to copy: %v", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	cmd := exec.Command(path, "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	p, err := process.NewProcess(int32(cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { n, _ := p.Name(); return n == name })
	return name, p
}

// nice reads a process's nice value; the raw call returns 20 - nice.
func nice(t *testing.T, p *process.Process) int {
	t.Helper()
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, int(p.Pid))
	if err != nil {
		t.Fatal(err)
	}
	return 20 - raw
}

func TestCPU_ReniceAllowListed(t *testing.T) {
	ctx := context.Background()
	name, p := child(t)
	s := quick()
	s.CPU = &tasks.CPUSettings{Processes: []string{name}, Nice: 10}
	task := build(t, s, nil, "cpu")

	// Without the opt-in nothing is reniced, and the step says why.
	res, err := task.Run(ctx, tasks.Env{Level: tasks.Medium})
	if err != nil {
		t.Fatal(err)
	}
	st := step(t, res.Steps, "renice to 10", name)
	if st.Done || !strings.Contains(st.Skipped, "allow_disruptive") {
		t.Errorf("renice without opt-in = %+v", st)
	}
	if n := nice(t, p); n != 0 {
		t.Fatalf("nice = %d after a run without opt-in, want 0", n)
	}
	if len(res.Steps) != 4 {
		t.Errorf("steps = %+v, want 4 for the one allowed process and none for others", res.Steps)
	}

	res, err = task.Run(ctx, tasks.Env{Level: tasks.Medium, AllowDisruptive: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := step(t, res.Steps, "renice to 10", name); !st.Done {
		t.Errorf("renice with opt-in = %+v", st)
	}
	if st := step(t, res.Steps, "ionice best-effort 7", name); st.Done {
		t.Errorf("ionice at medium = %+v, want skipped", st)
	}
	if n := nice(t, p); n != 10 {
		t.Errorf("nice = %d, want 10", n)
	}
	for _, m := range []string{"cpu share of allowed processes", "host load 1m"} {
		if got := measure(t, res.Measures, m); got.Before.N != 3 || got.After.N != 3 {
			t.Errorf("%s = %+v", m, got)
		}
	}
	t.Logf("summary: %s", tasks.Summary(res))
}

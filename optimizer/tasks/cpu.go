package tasks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"

	"github.com/tend-dev/tend/events"
)

// I/O scheduling classes and the ioprio_set "who" for one thread.
const (
	ioprioClassBE   = 2
	ioprioClassIdle = 3
	ioprioWhoThread = 1
	ioprioShift     = 13
)

// cpuTask lowers the CPU and I/O priority of allow-listed processes so that
// the host's other work gets ahead. It never touches a process whose name is
// not on the list, nor PID 1, nor kernel threads, and it only ever lowers a
// priority.
type cpuTask struct {
	s    CPUSettings
	samp sampling
}

func (c *cpuTask) Name() string { return "cpu" }

// Plan implements [Task].
func (c *cpuTask) Plan(ctx context.Context, env Env) ([]events.Step, error) {
	p, err := c.prepare(ctx)
	if err != nil {
		return nil, err
	}
	return p.steps(env), nil
}

// Run implements [Task].
func (c *cpuTask) Run(ctx context.Context, env Env) (events.TaskResult, error) {
	p, err := c.prepare(ctx)
	if err != nil {
		return failedResult(c.Name(), err), err
	}
	return execute(ctx, c.Name(), env, c.samp, p), nil
}

// proc is one allow-listed process found.
type proc struct {
	pid  int32
	name string
	nice int
	// ioClass and ioData are the current I/O priority; class 0 means the
	// default, best effort derived from nice.
	ioClass, ioData int
}

func (p proc) label() string { return fmt.Sprintf("process %s[%d]", p.name, p.pid) }

// matches reports whether comm, as the kernel shows it (at most 15 bytes),
// is one of the allowed names.
func matches(allowed []string, comm string) bool {
	return slices.ContainsFunc(allowed, func(w string) bool {
		return w == comm || (len(w) > 15 && w[:15] == comm)
	})
}

func (c *cpuTask) find(ctx context.Context) ([]proc, error) {
	all, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var out []proc
	for _, p := range all {
		if p.Pid <= 2 {
			continue
		}
		name, err := p.NameWithContext(ctx)
		if err != nil || !matches(c.s.Processes, name) {
			continue
		}
		if ppid, err := p.PpidWithContext(ctx); err != nil || ppid == 2 {
			continue // kernel thread, or gone
		}
		nice, err := niceOf(int(p.Pid))
		if err != nil {
			continue
		}
		v, err := ioprioGet(int(p.Pid))
		if err != nil {
			continue
		}
		out = append(out, proc{pid: p.Pid, name: name, nice: nice,
			ioClass: v >> ioprioShift, ioData: v & 0xff})
	}
	return out, nil
}

func (c *cpuTask) prepare(ctx context.Context) (plan, error) {
	var p plan
	procs, err := c.find(ctx)
	if err != nil {
		return p, err
	}
	if len(procs) == 0 {
		p.notes = append(p.notes, events.Step{Name: "find processes", Target: fmt.Sprint(c.s.Processes),
			Skipped: "no running process has an allowed name"})
	}
	const disrupts = "the process gets less CPU and disk time while the host is busy"
	for _, pr := range procs {
		renice := func(nice int) action {
			a := action{name: "renice to " + strconv.Itoa(nice), target: pr.label(), disrupts: disrupts,
				do: func(context.Context) error {
					return eachThread(pr.pid, func(tid int) error {
						return unix.Setpriority(unix.PRIO_PROCESS, tid, nice)
					})
				}}
			if pr.nice >= nice {
				a.unavailable = "already at nice " + strconv.Itoa(pr.nice)
			}
			return a
		}
		ionice := func(name string, class, data int) action {
			a := action{name: name, target: pr.label(), disrupts: disrupts,
				do: func(context.Context) error {
					return eachThread(pr.pid, func(tid int) error {
						return ioprioSet(tid, class<<ioprioShift|data)
					})
				}}
			if pr.ioClass == ioprioClassIdle || (pr.ioClass == class && pr.ioData >= data) {
				a.unavailable = fmt.Sprintf("already at I/O class %d level %d", pr.ioClass, pr.ioData)
			}
			return a
		}

		be := ionice("ionice best-effort 7", ioprioClassBE, 7)
		be.level, be.coveredBy, be.coveredAbove = High, "ionice idle", High
		idle := ionice("ionice idle", ioprioClassIdle, 0)
		idle.level = Aggressive
		mid := renice(c.s.Nice)
		mid.level = Medium
		if c.s.Nice >= 19 {
			p.actions = append(p.actions, mid, be, idle)
			continue
		}
		mid.coveredBy, mid.coveredAbove = "renice to 19", High
		top := renice(19)
		top.level = Aggressive
		p.actions = append(p.actions, mid, top, be, idle)
	}

	ncpu := float64(runtime.NumCPU())
	window := max(c.samp.every, 250*time.Millisecond)
	p.meters = []meter{
		{name: "cpu share of allowed processes", unit: "%", lowerIsBetter: true, every: time.Millisecond,
			read: func(ctx context.Context) (float64, error) {
				return c.share(ctx, window, ncpu)
			}},
		{name: "host load 1m", lowerIsBetter: true, minChange: 0.05 * ncpu,
			read: func(ctx context.Context) (float64, error) {
				avg, err := load.AvgWithContext(ctx)
				if err != nil {
					return 0, err
				}
				return avg.Load1, nil
			}},
	}
	return p, nil
}

// share is the allowed processes' CPU time over window, as a percentage of
// all the host's CPUs. Processes found afresh each time, so one that starts
// or ends in between counts for the part it ran.
func (c *cpuTask) share(ctx context.Context, window time.Duration, ncpu float64) (float64, error) {
	procs, err := c.find(ctx)
	if err != nil {
		return 0, err
	}
	cpuTime := func() map[int32]float64 {
		out := map[int32]float64{}
		for _, pr := range procs {
			p, err := process.NewProcessWithContext(ctx, pr.pid)
			if err != nil {
				continue
			}
			t, err := p.TimesWithContext(ctx)
			if err != nil {
				continue
			}
			out[pr.pid] = t.User + t.System
		}
		return out
	}
	t0, start := cpuTime(), time.Now()
	if err := wait(ctx, window); err != nil {
		return 0, err
	}
	t1, wall := cpuTime(), time.Since(start).Seconds()
	var used float64
	for pid, v := range t1 {
		if b, ok := t0[pid]; ok && v >= b {
			used += v - b
		}
	}
	return 100 * used / (wall * ncpu), nil
}

// eachThread calls fn with every thread of pid: on Linux a priority belongs
// to a thread, and setting it on the PID alone leaves the others as they were.
func eachThread(pid int32, fn func(tid int) error) error {
	entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/task", pid))
	if err != nil {
		return fmt.Errorf("list threads of %d: %w", pid, err)
	}
	var errs []error
	for _, e := range entries {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if err := fn(tid); err != nil && !errors.Is(err, unix.ESRCH) {
			errs = append(errs, fmt.Errorf("thread %d: %w", tid, err))
		}
	}
	return errors.Join(errs...)
}

// niceOf returns a thread's nice value. (gopsutil's Nice reports the
// kernel's priority field, 20 above the nice value, so it is not used.)
func niceOf(tid int) (int, error) {
	// The raw system call returns 20 - nice, keeping the result positive.
	raw, err := unix.Getpriority(unix.PRIO_PROCESS, tid)
	if err != nil {
		return 0, err
	}
	return 20 - raw, nil
}

func ioprioGet(tid int) (int, error) {
	r, _, errno := unix.Syscall(unix.SYS_IOPRIO_GET, ioprioWhoThread, uintptr(tid), 0)
	if errno != 0 {
		return 0, errno
	}
	return int(r), nil
}

func ioprioSet(tid, prio int) error {
	_, _, errno := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoThread, uintptr(tid), uintptr(prio))
	if errno != 0 {
		return errno
	}
	return nil
}

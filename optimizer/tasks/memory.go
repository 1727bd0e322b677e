package tasks

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
	"golang.org/x/sys/unix"

	"github.com/tend-dev/tend/events"
)

// dropCachesPath is the kernel's knob for dropping clean caches.
const dropCachesPath = "/proc/sys/vm/drop_caches"

// memory returns memory to the system: tend's own heap, Redis's allocator
// pages and, when allowed, the kernel's page cache.
type memory struct {
	redisName string
	redis     RedisSource
	samp      sampling
}

func (m *memory) Name() string { return "memory" }

// Plan implements [Task].
func (m *memory) Plan(ctx context.Context, env Env) ([]events.Step, error) {
	return m.prepare(ctx).steps(env), nil
}

// Run implements [Task].
func (m *memory) Run(ctx context.Context, env Env) (events.TaskResult, error) {
	return execute(ctx, m.Name(), env, m.samp, m.prepare(ctx)), nil
}

func (m *memory) prepare(ctx context.Context) plan {
	var p plan
	p.actions = append(p.actions, action{name: "return heap to the OS", target: "process tend", level: Low,
		do: func(context.Context) error { debug.FreeOSMemory(); return nil }})

	self := int32(os.Getpid())
	p.meters = append(p.meters,
		meter{name: "tend heap released", unit: "bytes", read: func(context.Context) (float64, error) {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			return float64(ms.HeapReleased), nil
		}},
		meter{name: "tend resident memory", unit: "bytes", lowerIsBetter: true,
			read: func(ctx context.Context) (float64, error) {
				proc, err := process.NewProcessWithContext(ctx, self)
				if err != nil {
					return 0, err
				}
				mi, err := proc.MemoryInfoWithContext(ctx)
				if err != nil {
					return 0, err
				}
				return float64(mi.RSS), nil
			}},
		meter{name: "host available memory", unit: "bytes", read: func(ctx context.Context) (float64, error) {
			vm, err := mem.VirtualMemoryWithContext(ctx)
			if err != nil {
				return 0, err
			}
			return float64(vm.Available), nil
		}},
	)

	if m.redis != nil {
		c := m.redis.Client()
		label := "redis " + m.redisName
		purge := action{name: "MEMORY PURGE", target: label, level: Medium,
			do: func(ctx context.Context) error { return c.Do(ctx, "MEMORY", "PURGE").Err() }}
		info, err := redisInfo(ctx, c, "memory")
		if err != nil {
			p.notes = append(p.notes, events.Step{Name: "read memory report", Target: label,
				Error: err.Error()})
		} else {
			if alloc := info["mem_allocator"]; !strings.HasPrefix(alloc, "jemalloc") {
				purge.unavailable = "allocator is " + alloc + ": MEMORY PURGE works with jemalloc only"
			}
			p.recs = append(p.recs, fragmentation(label, info)...)
		}
		p.actions = append(p.actions, purge)
		p.meters = append(p.meters, meter{name: label + " resident memory", unit: "bytes",
			lowerIsBetter: true, read: infoMeter(c, "memory", "used_memory_rss")})
	}

	// The page cache is dropped whole: every process then reads its files
	// from disk again, so it is disruptive, and only root may do it.
	drop := func(v string) func(context.Context) error {
		return func(context.Context) error {
			unix.Sync()
			return os.WriteFile(dropCachesPath, []byte(v), 0)
		}
	}
	const disrupts = "every process reads its files from disk again afterwards"
	why := dropCachesUnavailable()
	p.actions = append(p.actions,
		action{name: "drop page cache", target: "host kernel", level: High, disrupts: disrupts,
			unavailable: why, coveredBy: "drop page cache, dentries and inodes", coveredAbove: High,
			do: drop("1")},
		action{name: "drop page cache, dentries and inodes", target: "host kernel", level: Aggressive,
			disrupts: disrupts, unavailable: why, do: drop("3")},
	)
	return p
}

// dropCachesUnavailable says why this process may not drop caches, or "".
func dropCachesUnavailable() string {
	if os.Geteuid() != 0 {
		return "not running as root"
	}
	if err := unix.Access(dropCachesPath, unix.W_OK); err != nil {
		return dropCachesPath + " is not writable here: " + err.Error()
	}
	return ""
}

// fragmentation reports Redis's fragmentation with its figures, and what to
// do when it wastes enough to matter.
func fragmentation(label string, info map[string]string) []string {
	ratio, err1 := num(info, "mem_fragmentation_ratio")
	rss, err2 := num(info, "used_memory_rss")
	used, err3 := num(info, "used_memory")
	if err1 != nil || err2 != nil || err3 != nil {
		return nil
	}
	line := fmt.Sprintf("%s: fragmentation ratio %.2f (resident %s for %s of data)", label, ratio,
		bytesText(int64(rss)), bytesText(int64(used)))
	switch {
	case ratio > 1.5 && rss-used > 100<<20:
		line += "; set activedefrag yes (cache task config_set) to reclaim the difference"
	case ratio > 1.5:
		line += "; the difference is under 100 MiB, allocator overhead rather than waste"
	case ratio < 1:
		line += "; below 1 means part of Redis is swapped out: give the host more memory"
	default:
		line += "; healthy"
	}
	return []string{line}
}

package collector

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	"github.com/shirou/gopsutil/v4/load"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/net"

	"github.com/tend-dev/tend/config"
)

func init() { Register("host", newHost) }

// HostSettings configure the host source. Every field is optional.
type HostSettings struct {
	// Mounts limits disk usage to these mount points. Default: every real
	// file system.
	Mounts []string `yaml:"mounts"`
	// Interfaces limits network rates to these interfaces. Default: every
	// interface except loopback.
	Interfaces []string `yaml:"interfaces"`
}

// pseudoFS are file systems whose usage says nothing about storage.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "pstore": true, "debugfs": true,
	"tracefs": true, "mqueue": true, "hugetlbfs": true, "configfs": true, "fusectl": true,
	"binfmt_misc": true, "autofs": true, "bpf": true, "nsfs": true, "overlay": true,
	"squashfs": true, "ramfs": true, "rpc_pipefs": true, "efivarfs": true, "fuse.lxcfs": true,
	"selinuxfs": true, "nfsd": true, "shm": true,
}

type hostSource struct {
	set   HostSettings
	rates *Rates
}

func newHost(spec config.Source, _ Deps) (Source, error) {
	var set HostSettings
	if err := spec.Settings.Decode(&set); err != nil {
		return nil, err
	}
	return &hostSource{set: set, rates: NewRates()}, nil
}

// Collect reads CPU, load, memory, swap, disk usage and I/O, and network
// counters. Rates come from counter deltas, so the first call yields none.
func (h *hostSource) Collect(ctx context.Context) ([]Sample, error) {
	now := time.Now()
	var out []Sample
	add := func(name string, v float64, unit string, labels map[string]string) {
		out = append(out, Sample{Name: name, Value: v, Unit: unit, Labels: labels, Time: now})
	}

	// Percent(0) compares with the previous call, so it costs no sleep.
	if pct, err := cpu.PercentWithContext(ctx, 0, false); err == nil && len(pct) == 1 {
		add("cpu.percent", pct[0], "%", nil)
	}
	if l, err := load.AvgWithContext(ctx); err == nil {
		add("load.1", l.Load1, "", nil)
		add("load.5", l.Load5, "", nil)
		add("load.15", l.Load15, "", nil)
	}
	vm, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("read memory: %w", err)
	}
	add("memory.used_percent", vm.UsedPercent, "%", nil)
	add("memory.used_bytes", float64(vm.Used), "bytes", nil)
	add("memory.available_bytes", float64(vm.Available), "bytes", nil)
	if sw, err := mem.SwapMemoryWithContext(ctx); err == nil {
		add("swap.used_percent", sw.UsedPercent, "%", nil)
	}

	h.disks(ctx, now, add)
	h.network(ctx, now, add)
	return out, nil
}

// addFunc appends one sample: name, value, unit, labels.
type addFunc func(name string, v float64, unit string, labels map[string]string)

func (h *hostSource) disks(ctx context.Context, now time.Time, add addFunc) {
	parts, err := disk.PartitionsWithContext(ctx, false)
	if err == nil {
		seen := map[string]bool{}
		for _, p := range parts {
			if pseudoFS[p.Fstype] || seen[p.Mountpoint] || !h.wantMount(p.Mountpoint) {
				continue
			}
			seen[p.Mountpoint] = true
			u, err := disk.UsageWithContext(ctx, p.Mountpoint)
			if err != nil || u.Total == 0 {
				continue
			}
			add("disk.used_percent", u.UsedPercent, "%", map[string]string{"mount": p.Mountpoint})
		}
	}

	io, err := disk.IOCountersWithContext(ctx)
	if err != nil {
		return
	}
	for name, c := range io {
		if strings.HasPrefix(name, "loop") || strings.HasPrefix(name, "ram") {
			continue
		}
		labels := map[string]string{"device": name}
		if r, ok := h.rates.Rate("disk.read."+name, float64(c.ReadBytes), now); ok {
			add("disk.read_bytes_per_second", r, "bytes/s", labels)
		}
		if w, ok := h.rates.Rate("disk.write."+name, float64(c.WriteBytes), now); ok {
			add("disk.write_bytes_per_second", w, "bytes/s", labels)
		}
	}
}

func (h *hostSource) network(ctx context.Context, now time.Time, add addFunc) {
	ifs, err := net.IOCountersWithContext(ctx, true)
	if err != nil {
		return
	}
	for _, c := range ifs {
		if c.Name == "lo" || !h.wantInterface(c.Name) {
			continue
		}
		labels := map[string]string{"interface": c.Name}
		if r, ok := h.rates.Rate("net.rx."+c.Name, float64(c.BytesRecv), now); ok {
			add("net.rx_bytes_per_second", r, "bytes/s", labels)
		}
		if t, ok := h.rates.Rate("net.tx."+c.Name, float64(c.BytesSent), now); ok {
			add("net.tx_bytes_per_second", t, "bytes/s", labels)
		}
	}
}

func (h *hostSource) wantMount(m string) bool {
	return len(h.set.Mounts) == 0 || contains(h.set.Mounts, m)
}

func (h *hostSource) wantInterface(i string) bool {
	return len(h.set.Interfaces) == 0 || contains(h.set.Interfaces, i)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

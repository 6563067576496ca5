package bench

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"
)

// progStat is one BPF program's counters (kernel.bpf_stats_enabled).
type progStat struct {
	id      ebpf.ProgramID
	name    string
	runs    uint64
	runtime int64 // ns
	misses  uint64
}

// tracerProgIDs lists the BPF programs a process holds, through the
// prog_id lines of its fds' fdinfo (program and link fds alike).
func tracerProgIDs(pid int) ([]ebpf.ProgramID, error) {
	ns, err := fdinfoIDs(pid, "prog_id")
	if err != nil {
		return nil, err
	}
	if len(ns) == 0 {
		return nil, fmt.Errorf("process %d holds no BPF programs", pid)
	}
	ids := make([]ebpf.ProgramID, len(ns))
	for i, n := range ns {
		ids[i] = ebpf.ProgramID(n)
	}
	return ids, nil
}

// fdinfoIDs lists, sorted and once each, the non-zero values of the key
// lines (prog_id, map_id) of the fdinfo of pid's fds.
func fdinfoIDs(pid int, key string) ([]uint32, error) {
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[uint32]bool{}
	var ids []uint32
	for _, fd := range fds {
		b, err := os.ReadFile(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || k != key {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil || n == 0 || seen[uint32(n)] {
				continue
			}
			seen[uint32(n)] = true
			ids = append(ids, uint32(n))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

// kernelCountSum sums sigtrace's in-kernel counts (the per-CPU hash map
// "counts", bpf/sigtrace.c) held by the tracer pid: what it counted in
// the kernel rather than in Go. found is false when it holds no such map.
func kernelCountSum(pid int) (sum int64, found bool, err error) {
	ids, err := fdinfoIDs(pid, "map_id")
	if err != nil {
		return 0, false, err
	}
	for _, id := range ids {
		m, err := ebpf.NewMapFromID(ebpf.MapID(id))
		if err != nil {
			continue // gone meanwhile
		}
		info, err := m.Info()
		if err != nil || info.Name != "counts" || info.Type != ebpf.PerCPUHash || info.ValueSize != 8 {
			m.Close()
			continue
		}
		key := make([]byte, info.KeySize)
		var per []uint64
		it := m.Iterate()
		for it.Next(&key, &per) {
			for _, n := range per {
				sum += int64(n)
			}
		}
		err = it.Err()
		m.Close()
		return sum, true, err
	}
	return 0, false, nil
}

// readProgStats reads the counters of the programs ids.
func readProgStats(ids []ebpf.ProgramID) ([]progStat, error) {
	var out []progStat
	for _, id := range ids {
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			return nil, fmt.Errorf("program %d: %w", id, err)
		}
		name := fmt.Sprintf("prog%d", id)
		if info, err := p.Info(); err == nil && info.Name != "" {
			name = info.Name
		}
		st, err := p.Stats()
		p.Close()
		if err != nil {
			return nil, fmt.Errorf("program %d: %w", id, err)
		}
		out = append(out, progStat{id: id, name: name, runs: st.RunCount, runtime: st.Runtime.Nanoseconds(), misses: st.RecursionMisses})
	}
	return out, nil
}

// enableBPFStats turns on run-time statistics through BPF_ENABLE_STATS:
// they stay on while the returned closer is open and go back off when it
// is closed, or when this process dies, whatever the reason. (It is the
// same switch kernel.bpf_stats_enabled shows.)
func enableBPFStats() (io.Closer, error) {
	c, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		return nil, fmt.Errorf("enabling BPF run-time statistics: %w", err)
	}
	return c, nil
}

// bpfStatsSysctl reads kernel.bpf_stats_enabled.
func bpfStatsSysctl() string {
	b, err := os.ReadFile("/proc/sys/kernel/bpf_stats_enabled")
	if err != nil {
		return "?"
	}
	return strings.TrimSpace(string(b))
}

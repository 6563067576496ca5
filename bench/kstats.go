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
	dir := fmt.Sprintf("/proc/%d/fdinfo", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	seen := map[ebpf.ProgramID]bool{}
	var ids []ebpf.ProgramID
	for _, fd := range fds {
		b, err := os.ReadFile(filepath.Join(dir, fd.Name()))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || k != "prog_id" {
				continue
			}
			n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32)
			if err != nil || n == 0 || seen[ebpf.ProgramID(n)] {
				continue
			}
			seen[ebpf.ProgramID(n)] = true
			ids = append(ids, ebpf.ProgramID(n))
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	if len(ids) == 0 {
		return nil, fmt.Errorf("process %d holds no BPF programs", pid)
	}
	return ids, nil
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

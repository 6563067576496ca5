package bench

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/cilium/ebpf"
)

// Another tracer on the machine (say, a test suite loading sigtrace's
// programs while the bench runs) makes every signal slower, the storm
// alone included. Before each run the bench looks for tracing programs it
// did not start and waits for them to go; a run with one loaded before or
// after it is counted as contaminated.

// ownProgs are the programs of every tracer this process started: they stay
// listed for a while after it exits, until the kernel frees them (RCU).
var (
	ownMu    sync.Mutex
	ownProgs = map[ebpf.ProgramID]bool{}
)

func addOwn(ids []ebpf.ProgramID) {
	ownMu.Lock()
	defer ownMu.Unlock()
	for _, id := range ids {
		ownProgs[id] = true
	}
}

func isOwn(id ebpf.ProgramID) bool {
	ownMu.Lock()
	defer ownMu.Unlock()
	return ownProgs[id]
}

// foreignPrograms lists loaded tracing-type BPF programs that are not
// ours, as "name(id)".
func foreignPrograms() []string {
	var out []string
	var id ebpf.ProgramID
	for {
		next, err := ebpf.ProgramGetNextID(id)
		if err != nil {
			break // ErrNotExist at the end, or no permission
		}
		id = next
		if isOwn(id) {
			continue
		}
		p, err := ebpf.NewProgramFromID(id)
		if err != nil {
			continue // gone meanwhile
		}
		info, err := p.Info()
		p.Close()
		if err != nil {
			continue
		}
		switch info.Type {
		case ebpf.Tracing, ebpf.TracePoint, ebpf.RawTracepoint, ebpf.RawTracepointWritable, ebpf.Kprobe, ebpf.PerfEvent:
			out = append(out, fmt.Sprintf("%s(%d)", info.Name, id))
		}
	}
	sort.Strings(out)
	return out
}

// waitNoForeign waits up to max for foreign tracing programs to go away,
// and returns those still there.
func waitNoForeign(ctx context.Context, cfg *Config, max time.Duration) []string {
	deadline := time.Now().Add(max)
	told := false
	for {
		f := foreignPrograms()
		if len(f) == 0 || time.Now().After(deadline) || ctx.Err() != nil {
			if told && len(f) == 0 {
				cfg.logf("  ... gone")
			}
			return f
		}
		if !told {
			cfg.logf("  other tracing BPF programs are loaded (%s): waiting up to %s for them to go", strings.Join(f, ", "), max.Round(time.Second))
			told = true
		}
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

package tracer

import (
	"bufio"
	"io"
	"os"
	"strconv"
	"strings"
)

// oomKillFuncs are the functions through which the OOM killer sends its
// SIGKILL (mm/oom_kill.c): __oom_kill_process() sends it, also to the
// processes that share the victim's memory, and may be inlined into
// oom_kill_process(), which may be inlined into out_of_memory() (the
// global, memcg and sysrq OOM paths all go through it). No other SIGKILL
// is sent from their text.
var oomKillFuncs = [sigtraceLimitsOOM_RANGES]string{"__oom_kill_process", "oom_kill_process", "out_of_memory"}

// oomText returns the kernel text ranges [start, end) of oomKillFuncs, as
// the BPF side's oom_text wants them, from /proc/kallsyms. All zero when
// they cannot be read (kptr_restrict hides addresses): SI_KERNEL SIGKILLs
// then cannot be told to be the OOM killer's, and say so.
func oomText() [2 * sigtraceLimitsOOM_RANGES]uint64 {
	var out [2 * sigtraceLimitsOOM_RANGES]uint64
	f, err := os.Open("/proc/kallsyms")
	if err != nil {
		return out
	}
	defer f.Close()
	return kallsymsRanges(f, oomKillFuncs[:])
}

// kallsymsRanges finds each named text symbol of the core kernel and ends
// it at the next symbol with a higher address (kallsyms lists the core
// kernel in address order; modules, which follow, are not looked at).
func kallsymsRanges(r io.Reader, names []string) (out [2 * sigtraceLimitsOOM_RANGES]uint64) {
	want := map[string]int{}
	for i, n := range names {
		want[n] = i
	}
	open := -1 // index of the symbol whose end is the next address
	var openAddr uint64
	found := 0
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		// "ffffffff81599ce0 T out_of_memory", modules add "\t[mod]".
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		if len(f) > 3 {
			break // module symbols from here on
		}
		addr, err := strconv.ParseUint(f[0], 16, 64)
		if err != nil {
			continue
		}
		if open >= 0 && addr > openAddr {
			out[2*open+1] = addr
			open = -1
			if found == len(names) {
				break
			}
		}
		if t := f[1]; t != "t" && t != "T" {
			continue // per-CPU and absolute symbols may sit at 0
		}
		if addr == 0 {
			return [2 * sigtraceLimitsOOM_RANGES]uint64{} // text addresses hidden (kptr_restrict)
		}
		if i, ok := want[f[2]]; ok && out[2*i] == 0 && open < 0 {
			out[2*i] = addr
			open, openAddr = i, addr
			found++
		}
	}
	for i := range names {
		if out[2*i+1] == 0 {
			out[2*i] = 0 // no end seen: unusable
		}
	}
	return out
}

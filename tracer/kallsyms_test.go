package tracer

import (
	"regexp"
	"strings"
	"testing"
)

func TestKallsymsRanges(t *testing.T) {
	// With CONFIG_KALLSYMS_ALL (Debian) per-CPU symbols come first, at 0.
	const syms = `0000000000000000 A fixed_percpu_data
0000000000001000 A cpu_debug_store
ffffffff81597b80 t __pfx_mark_oom_victim
ffffffff81598eb0 t __oom_kill_process
ffffffff81598eb0 t __oom_kill_process_alias
ffffffff81599000 t oom_kill_process.cold
ffffffff81599100 T oom_kill_process
ffffffff81599200 T out_of_memory
ffffffff81599600 t pagefault_out_of_memory
ffffffffc0000000 t some_mod_fn	[mod]
`
	for _, tc := range []struct {
		name string
		in   string
		want [6]uint64
	}{
		{"all found, each ends at the next higher address", syms,
			[6]uint64{0xffffffff81598eb0, 0xffffffff81599000, 0xffffffff81599100, 0xffffffff81599200, 0xffffffff81599200, 0xffffffff81599600}},
		{"addresses hidden (kptr_restrict)", regexp.MustCompile(`(?m)^[0-9a-f]+`).ReplaceAllString(syms, "0000000000000000"), [6]uint64{}},
		{"one missing", "ffffffff81599100 T oom_kill_process\nffffffff81599200 T out_of_memory\n",
			[6]uint64{0, 0, 0xffffffff81599100, 0xffffffff81599200}},
		{"last symbol has no end", "ffffffff81599100 T oom_kill_process\n", [6]uint64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := kallsymsRanges(strings.NewReader(tc.in), oomKillFuncs[:]); got != tc.want {
				t.Errorf("got %x, want %x", got, tc.want)
			}
		})
	}
}

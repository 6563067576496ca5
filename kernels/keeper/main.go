// Command keeper holds the tracepoints that sigtrace attaches to enabled for
// the life of a kernel-matrix guest, so that no test's attach or detach
// rewrites kernel text.
//
// Why: the guests run under qemu's software emulation (TCG), where the
// text patching that enabling or disabling a tracepoint does (its static
// key and, on x86, its static call: kernel/tracepoint.c, tracepoint_add_func
// and tracepoint_remove_func) races a second virtual CPU executing the
// same site: a 6.12 guest oopsed in get_signal and __send_signal_locked
// mid-instruction, a 5.10 guest locked up. Real CPUs do not do this. With
// two probes on a tracepoint, adding a third and removing it again only
// swaps the probe array (the N->N+1 case): nothing is patched.
//
// keeper attaches two no-op raw tracepoint programs to each tracepoint
// that the tracer's object declares, pins the links under /sys/fs/bpf and
// exits: the pins keep them attached without a process around (a process
// would receive signals the tests could see).
package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	"github.com/cilium/ebpf/rlimit"

	"github.com/sigtrace/sigtrace/tracer"
)

const pinDir = "/sys/fs/bpf/sigtrace-keeper"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "keeper:", err)
		os.Exit(1)
	}
}

func run() error {
	if err := rlimit.RemoveMemlock(); err != nil {
		return fmt.Errorf("raising the locked-memory limit: %w", err)
	}
	tps, err := tracer.Tracepoints()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(pinDir, 0o700); err != nil {
		return fmt.Errorf("making the pin directory: %w", err)
	}
	for i := range 2 {
		// Two programs: one program twice on a tracepoint is refused
		// (EEXIST) where the probe's data is the program (before 6.10).
		prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
			Name:         fmt.Sprintf("keeper%d", i),
			Type:         ebpf.RawTracepoint,
			License:      "GPL",
			Instructions: asm.Instructions{asm.Mov.Imm(asm.R0, 0), asm.Return()},
		})
		if err != nil {
			return fmt.Errorf("loading a no-op program: %w", err)
		}
		for _, tp := range tps {
			l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: tp, Program: prog})
			if err != nil {
				return fmt.Errorf("attaching to %s: %w", tp, err)
			}
			if err := l.Pin(filepath.Join(pinDir, fmt.Sprintf("%s-%d", tp, i))); err != nil {
				return fmt.Errorf("pinning the link on %s: %w", tp, err)
			}
		}
	}
	fmt.Printf("keeper: %d tracepoints held enabled: %v\n", len(tps), tps)
	return nil
}

package tracer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseProcStack(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []string
	}{
		{"vfork parent, 6.18 x86_64 (read on the build machine)",
			"[<0>] kernel_clone+0x1af/0x3e0\n[<0>] __do_sys_vfork+0x43/0x70\n[<0>] do_syscall_64+0x71/0x280\n[<0>] entry_SYSCALL_64_after_hwframe+0x76/0x7e\n",
			[]string{"kernel_clone", "__do_sys_vfork", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"}},
		{"module frame and a real address (kptr_restrict=0)",
			"[<ffffffffc0a1b2c3>] nfs_wait_bit_killable+0x1c/0x90 [nfs]\n[<ffffffff81234567>] __wait_on_bit+0x40/0x90\n",
			[]string{"nfs_wait_bit_killable", "__wait_on_bit"}},
		{"empty: a running task", "", nil},
		{"no trailing newline", "[<0>] do_exit+0x2/0x3", []string{"do_exit"}},
		{"blank lines", "\n\n[<0>] a+0x1/0x2\n\n", []string{"a"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := parseProcStack([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseProcStack = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseProcSyscall(t *testing.T) {
	for _, tc := range []struct {
		in   string
		nr   int
		inSC bool
	}{
		{"58 0x563bd0289069 0x7fffb9eff928 0x7fffb9eff938 0x7fdba2759850 0x0 0x7fdba29406d0 0x7fffb9eff800 0x7fdba281a3b8\n", 58, true},
		{"0 0x3 0x7fbba4964000 0x20000 0x7fbba49f6b60 0xffffffff 0x0 0x7ffe17d2e688 0x7fbba4adf2ad\n", 0, true},
		{"-1 0x7ffe17d2e688 0x7fbba4adf2ad\n", 0, false},
		{"running\n", 0, false},
		{"", 0, false},
	} {
		nr, ok := parseProcSyscall([]byte(tc.in))
		if nr != tc.nr || ok != tc.inSC {
			t.Errorf("parseProcSyscall(%q) = %d, %v; want %d, %v", tc.in, nr, ok, tc.nr, tc.inSC)
		}
	}
}

func TestWaitSiteFrames(t *testing.T) {
	for _, tc := range []struct {
		name  string
		stack []string
		want  []string
	}{
		{"x86_64 vfork", []string{"kernel_clone", "__do_sys_vfork", "do_syscall_64", "entry_SYSCALL_64_after_hwframe"}, []string{"kernel_clone"}},
		{"x86_64 6.9+ dispatch", []string{"filemap_write_and_wait_range", "filp_close", "__x64_sys_close", "x64_sys_call", "do_syscall_64"}, []string{"filemap_write_and_wait_range", "filp_close"}},
		{"arm64 clone", []string{"wait_for_vfork_done", "kernel_clone", "__do_sys_clone", "__arm64_sys_clone", "invoke_syscall", "el0_svc_common", "do_el0_svc", "el0_svc", "el0t_64_sync_handler", "el0t_64_sync"}, []string{"wait_for_vfork_done", "kernel_clone"}},
		{"a kernel thread: no entry at all", []string{"worker_thread", "kthread", "ret_from_fork"}, []string{"worker_thread", "kthread", "ret_from_fork"}},
		{"empty", nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &WaitSite{Stack: tc.stack}
			if got := w.Frames(); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Frames = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestWaitSiteProc: what waitSite makes of the files a /proc gives, and
// of their absence.
func TestWaitSiteProc(t *testing.T) {
	root := t.TempDir()
	write := func(pid, tid, name, body string) {
		dir := filepath.Join(root, pid, "task", tid)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if name != "" {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	write("10", "11", "stack", "[<0>] kernel_clone+0x1af/0x3e0\n[<0>] __do_sys_vfork+0x43/0x70\n")
	write("10", "11", "syscall", "58 0x1 0x2 0x3 0x4 0x5 0x6 0x7 0x8\n")
	write("20", "20", "syscall", "-1 0x7 0x8\n") // no stack file: no CONFIG_STACKTRACE
	write("30", "30", "stack", "")
	write("30", "30", "syscall", "running\n")
	k := newTracker(0)
	k.procRoot = root

	for _, tc := range []struct {
		name     string
		pid, tid uint32
		want     WaitSite
	}{
		{"stack and system call", 10, 11, WaitSite{Stack: []string{"kernel_clone", "__do_sys_vfork"}, InSyscall: true, SyscallNr: 58}},
		{"kernel without /proc/PID/stack", 20, 20, WaitSite{StackErr: StackNoProcFile}},
		{"woke up while read", 30, 30, WaitSite{StackErr: StackEmpty}},
		{"exited", 40, 40, WaitSite{StackErr: StackGone}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := k.waitSite(tc.pid, tc.tid); !reflect.DeepEqual(*got, tc.want) {
				t.Errorf("waitSite = %+v, want %+v", *got, tc.want)
			}
		})
	}
}

func TestPendingReason(t *testing.T) {
	for _, tc := range []struct {
		state   byte
		blocked bool
		want    PendingReason
	}{
		{'S', true, PendingBlocked},
		{'R', true, PendingBlocked},
		{'D', true, PendingBlocked}, // it stays pending after the task wakes
		{'T', true, PendingBlocked}, // and after SIGCONT
		{'t', true, PendingBlocked},
		{'D', false, PendingUninterruptible},
		{'T', false, PendingStopped},
		{'t', false, PendingTraced},
		{'S', false, PendingUnknown},
		{0, false, PendingUnknown},
	} {
		if got := pendingReason(tc.state, tc.blocked); got != tc.want {
			t.Errorf("pendingReason(%q, blocked %v) = %v, want %v", tc.state, tc.blocked, got, tc.want)
		}
	}
}

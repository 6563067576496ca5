package tracer

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"strconv"
	"strings"
)

// WaitSite is where a task in uninterruptible sleep (D state) waits: its
// kernel stack and the system call it is in, read from /proc when a
// pending event finds it there. It is a sample: the task may wake up the
// moment after.
type WaitSite struct {
	// Stack is the kernel's own unwind (/proc/PID/task/TID/stack),
	// innermost first, function names without offsets or module. The
	// scheduler's frames (__schedule, schedule_timeout, the
	// wait_for_completion family: everything in .sched.text) are not in
	// it: the kernel leaves them out, so the first frame is the caller
	// that went to sleep.
	Stack []string
	// StackErr says why Stack is empty (no /proc/PID/stack in this
	// kernel, not allowed, the task exited or woke up).
	StackErr string
	// InSyscall: the task sleeps inside system call SyscallNr
	// (/proc/PID/task/TID/syscall); false when it sleeps outside one
	// (a page fault, a kernel thread) or that could not be read.
	InSyscall bool
	SyscallNr int
}

// Reasons for an empty WaitSite.Stack.
const (
	StackNoProcFile = "this kernel has no /proc/PID/stack: built without CONFIG_STACKTRACE"
	StackDenied     = "reading /proc/PID/stack needs CAP_SYS_ADMIN"
	StackGone       = "the task exited"
	StackEmpty      = "the kernel gave an empty stack (the task was running when read)"
)

// waitSite reads where task tid of pid sleeps.
func (k *tracker) waitSite(pid, tid uint32) *WaitSite {
	dir := k.procRoot + "/" + strconv.FormatUint(uint64(pid), 10) + "/task/" + strconv.FormatUint(uint64(tid), 10)
	w := &WaitSite{}
	stack, err := os.ReadFile(dir + "/stack")
	switch {
	case err == nil:
		w.Stack = parseProcStack(stack)
		if len(w.Stack) == 0 {
			w.StackErr = StackEmpty
		}
	case errors.Is(err, fs.ErrNotExist):
		// The directory without the file is a kernel without
		// CONFIG_STACKTRACE (fs/proc/base.c lists "stack" only then).
		if _, serr := os.Stat(dir); serr == nil {
			w.StackErr = StackNoProcFile
		} else {
			w.StackErr = StackGone
		}
	case errors.Is(err, fs.ErrPermission):
		// proc_pid_stack() (fs/proc/base.c) fails reads with EACCES
		// without CAP_SYS_ADMIN since 2018 ("proc: restrict kernel
		// stack dumps to root", CVE-2018-17972): CAP_BPF and
		// CAP_PERFMON, enough to trace, are not enough here.
		w.StackErr = StackDenied
	default:
		w.StackErr = err.Error()
	}
	if sc, err := os.ReadFile(dir + "/syscall"); err == nil {
		w.SyscallNr, w.InSyscall = parseProcSyscall(sc)
	}
	return w
}

// parseProcStack turns /proc/PID/stack ("[<0>] kernel_clone+0x1af/0x3e0"
// per line, "[<0>] nfs_wait_bit_killable+0x1c/0x90 [nfs]" for a module;
// the address is 0 unless kptr_restrict allows it) into function names.
func parseProcStack(b []byte) []string {
	var out []string
	for _, line := range bytes.Split(b, []byte{'\n'}) {
		if i := bytes.IndexByte(line, ']'); i >= 0 {
			line = line[i+1:]
		}
		line = bytes.TrimSpace(line)
		if i := bytes.IndexAny(line, "+ "); i >= 0 {
			line = line[:i]
		}
		if len(line) > 0 {
			out = append(out, string(line))
		}
	}
	return out
}

// parseProcSyscall reads the number at the start of /proc/PID/syscall:
// "NR ARGS... SP PC" inside a system call, "-1 SP PC" outside one, and
// "running" when the task runs (proc_pid_syscall() in fs/proc/base.c).
func parseProcSyscall(b []byte) (nr int, ok bool) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, false
	}
	n, err := strconv.Atoi(string(f[0]))
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// syscallEntryPrefixes name the frames from the system call entry down to
// the system call's own body (SYSCALL_DEFINE makes __do_sys_NAME, wrapped
// in __se_sys_NAME and __x64_sys_NAME / __arm64_sys_NAME): x86_64 and
// arm64, compat entries included.
var syscallEntryPrefixes = []string{
	"__do_sys_", "__se_sys_", "__x64_sys_", "__ia32_sys_", "__arm64_sys_", "__arm64_compat_sys_",
	"x64_sys_call", "do_syscall_64", "entry_SYSCALL", "do_fast_syscall_32", "__do_fast_syscall_32",
	"do_int80_syscall_32", "entry_INT80", "invoke_syscall", "el0_svc", "do_el0_svc", "el0t_",
}

// Frames returns the stack down to where the system call entered the
// kernel (what the wait is, without the entry plumbing that every system
// call shares), innermost first.
func (w *WaitSite) Frames() []string {
	for i, f := range w.Stack {
		for _, p := range syscallEntryPrefixes {
			if strings.HasPrefix(f, p) {
				return w.Stack[:i]
			}
		}
	}
	return w.Stack
}

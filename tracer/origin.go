package tracer

import (
	"syscall"

	"github.com/sigtrace/sigtrace/signals"
)

// OriginInput is what the generate tracepoint tells about where a signal
// came from.
type OriginInput struct {
	Sig        int
	Code       int32
	NoInfo     bool // info was SEND_SIG_NOINFO: SI_USER from current
	Priv       bool // info was SEND_SIG_PRIV: SI_KERNEL
	Group      bool
	KThread    bool // current is a kernel thread
	CurrentPID uint32
	TargetPID  uint32
	// KernelKill is the kernel side's evidence for why an SI_KERNEL
	// SIGKILL was sent.
	KernelKill KernelKill
}

// KernelKill is why the kernel sent a SIGKILL of its own.
type KernelKill uint8

const (
	KernelKillUnknown   KernelKill = iota
	KernelKillOOM                  // the OOM killer (mm/oom_kill.c)
	KernelKillRlimitCPU            // the hard RLIMIT_CPU (kernel/time/posix-cpu-timers.c)
	KernelKillRlimitRT             // the hard RLIMIT_RTTIME
	KernelKillPidNS                // the init of its pid namespace exited (zap_pid_ns_processes)
)

var kernelKillReasons = [...]string{
	"killed by the kernel (reason unknown)",
	"OOM killer",
	"CPU time hard limit reached (RLIMIT_CPU)",
	"real-time CPU time hard limit reached (RLIMIT_RTTIME)",
	"its pid namespace's init exited",
}

func (k KernelKill) String() string { return kernelKillReasons[k] }

// Origin decides whether a process sent the signal (current is the sender)
// or the kernel raised it, in which case current is merely whatever task
// was running (the faulting thread, the idle task in a timer interrupt, the
// writer of a broken pipe) and must not be named as the sender.
func Origin(in OriginInput) (kernel bool, reason string) {
	if in.Priv || in.Code == signals.SIKernel {
		if in.Sig == sigKill {
			return true, in.KernelKill.String()
		}
		return true, kernelReason(in.Sig)
	}
	if in.Code > 0 {
		return true, codeReason(in.Sig, in.Code)
	}
	switch in.Code {
	case signals.SITimer:
		return true, "POSIX timer expired"
	case signals.SIMesgQ:
		return true, "message queue notification"
	case signals.SIAsyncIO:
		return true, "asynchronous I/O completed"
	case signals.SISigIO:
		return true, "I/O readiness (SIGIO)"
	case signals.SIDethrd:
		return true, "exec in another thread"
	case signals.SIAsyncNL:
		return true, "asynchronous name lookup completed"
	}
	if in.CurrentPID == 0 {
		return true, "interrupt context"
	}
	if in.KThread {
		return true, "kernel thread"
	}
	// pipe_write() and the file size checks raise these on the writer
	// itself with send_sig(sig, current, 0): SI_USER, thread-directed,
	// current == target (fs/pipe.c, mm/filemap.c generic_write_check_limits).
	if in.Code == signals.SIUser && in.NoInfo && !in.Group && in.CurrentPID == in.TargetPID {
		switch syscall.Signal(in.Sig) {
		case syscall.SIGPIPE:
			return true, "broken pipe: write with no reader"
		case syscall.SIGXFSZ:
			return true, "file size limit exceeded (RLIMIT_FSIZE)"
		}
	}
	return false, ""
}

// kernelReason explains SI_KERNEL signals, which carry no more detail than
// the signal itself.
func kernelReason(sig int) string {
	switch syscall.Signal(sig) {
	case syscall.SIGALRM:
		return "timer expired (alarm/setitimer)"
	case syscall.SIGVTALRM, syscall.SIGPROF:
		return "interval timer expired (setitimer)"
	case syscall.SIGXCPU:
		return "CPU time limit exceeded (RLIMIT_CPU)"
	case syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTSTP,
		syscall.SIGTTIN, syscall.SIGTTOU, syscall.SIGWINCH, syscall.SIGCONT:
		return "terminal"
	case syscall.SIGSEGV, syscall.SIGBUS, syscall.SIGILL, syscall.SIGFPE, syscall.SIGTRAP:
		return "fault"
	case syscall.SIGIO:
		return "I/O readiness (SIGIO)"
	case syscall.SIGCHLD:
		return "child state changed"
	}
	return "kernel"
}

// codeReason explains the per-signal si_codes the kernel sets when it
// raises a signal itself (include/uapi/asm-generic/siginfo.h).
func codeReason(sig int, code int32) string {
	switch syscall.Signal(sig) {
	case syscall.SIGSEGV:
		switch code {
		case 1:
			return "invalid memory access: address not mapped"
		case 2:
			return "invalid memory access: permission denied"
		}
		return "invalid memory access"
	case syscall.SIGBUS:
		return "bus error"
	case syscall.SIGFPE:
		if code == 1 {
			return "integer division by zero"
		}
		return "arithmetic exception"
	case syscall.SIGILL:
		return "illegal instruction"
	case syscall.SIGTRAP:
		return "trap or breakpoint"
	case syscall.SIGCHLD:
		switch code {
		case 1:
			return "child exited"
		case 2:
			return "child killed"
		case 3:
			return "child dumped core"
		case 4:
			return "child trapped"
		case 5:
			return "child stopped"
		case 6:
			return "child continued"
		}
		return "child state changed"
	case syscall.SIGIO:
		return "I/O readiness (SIGIO)"
	case syscall.SIGSYS:
		if code == 1 {
			return "seccomp filter"
		}
		return "bad system call"
	}
	return "kernel"
}

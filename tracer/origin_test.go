package tracer

import (
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	const (
		self  = 4242 // the task that is current
		other = 777  // another process
	)
	for _, tc := range []struct {
		name   string
		in     OriginInput
		kernel bool
		reason string // a part of the reason, when kernel
	}{
		// SEND_SIG_PRIV: the kernel, whoever is current.
		{"SEND_SIG_PRIV SIGKILL (OOM)", OriginInput{Sig: 9, Code: 0x80, Priv: true, Group: true, CurrentPID: self, TargetPID: other}, true, "killed by the kernel"},
		{"SEND_SIG_PRIV SIGXCPU (RLIMIT_CPU)", OriginInput{Sig: 24, Code: 0x80, Priv: true, Group: true, CurrentPID: self, TargetPID: self}, true, "CPU time limit"},
		{"SEND_SIG_PRIV whatever the code says", OriginInput{Sig: 15, Code: 0, Priv: true, CurrentPID: self, TargetPID: other}, true, "kernel"},
		// SI_KERNEL in a real siginfo.
		{"SI_KERNEL SIGALRM from alarm() in an interrupt", OriginInput{Sig: 14, Code: 0x80, Group: true, CurrentPID: 0, TargetPID: other}, true, "timer expired"},
		{"SI_KERNEL SIGALRM while another process runs", OriginInput{Sig: 14, Code: 0x80, Group: true, CurrentPID: other, TargetPID: self}, true, "timer expired"},
		{"SI_KERNEL SIGHUP (tty hangup)", OriginInput{Sig: 1, Code: 0x80, Group: true, CurrentPID: self, TargetPID: other}, true, "terminal"},
		{"SI_KERNEL SIGSEGV (general protection)", OriginInput{Sig: 11, Code: 0x80, CurrentPID: self, TargetPID: self}, true, "fault"},
		{"SI_KERNEL SIGPROF", OriginInput{Sig: 27, Code: 0x80, Group: true, CurrentPID: self, TargetPID: self}, true, "interval timer"},
		{"SI_KERNEL SIGUSR1 (no better reason)", OriginInput{Sig: 10, Code: 0x80, CurrentPID: self, TargetPID: other}, true, "kernel"},
		// Faults: per-signal codes > 0; current is the faulting thread,
		// which is not a sender.
		{"SEGV_MAPERR", OriginInput{Sig: 11, Code: 1, CurrentPID: self, TargetPID: self}, true, "not mapped"},
		{"SEGV_ACCERR", OriginInput{Sig: 11, Code: 2, CurrentPID: self, TargetPID: self}, true, "permission"},
		{"SEGV_PKUERR", OriginInput{Sig: 11, Code: 4, CurrentPID: self, TargetPID: self}, true, "invalid memory access"},
		{"BUS_ADRERR", OriginInput{Sig: 7, Code: 2, CurrentPID: self, TargetPID: self}, true, "bus error"},
		{"FPE_INTDIV", OriginInput{Sig: 8, Code: 1, CurrentPID: self, TargetPID: self}, true, "division by zero"},
		{"FPE_FLTINV", OriginInput{Sig: 8, Code: 7, CurrentPID: self, TargetPID: self}, true, "arithmetic"},
		{"ILL_ILLOPC", OriginInput{Sig: 4, Code: 1, CurrentPID: self, TargetPID: self}, true, "illegal instruction"},
		{"TRAP_BRKPT", OriginInput{Sig: 5, Code: 1, CurrentPID: self, TargetPID: self}, true, "breakpoint"},
		{"SYS_SECCOMP", OriginInput{Sig: 31, Code: 1, CurrentPID: self, TargetPID: self}, true, "seccomp"},
		{"POLL_IN", OriginInput{Sig: 29, Code: 1, Group: true, CurrentPID: other, TargetPID: self}, true, "I/O"},
		// SIGCHLD: current is the exiting child, not a sender.
		{"CLD_EXITED", OriginInput{Sig: 17, Code: 1, Group: true, CurrentPID: other, TargetPID: self}, true, "child exited"},
		{"CLD_KILLED", OriginInput{Sig: 17, Code: 2, Group: true, CurrentPID: other, TargetPID: self}, true, "child killed"},
		{"CLD_DUMPED", OriginInput{Sig: 17, Code: 3, Group: true, CurrentPID: other, TargetPID: self}, true, "core"},
		{"CLD_STOPPED", OriginInput{Sig: 17, Code: 5, Group: true, CurrentPID: other, TargetPID: self}, true, "child stopped"},
		{"CLD_CONTINUED", OriginInput{Sig: 17, Code: 6, Group: true, CurrentPID: other, TargetPID: self}, true, "child continued"},
		{"unknown positive code for SIGHUP", OriginInput{Sig: 1, Code: 3, CurrentPID: other, TargetPID: self}, true, "kernel"},
		// Kernel facilities acting for a process, negative codes.
		{"SI_TIMER", OriginInput{Sig: 14, Code: -2, Group: true, CurrentPID: 0, TargetPID: self}, true, "POSIX timer"},
		{"SI_TIMER while a process runs", OriginInput{Sig: 34, Code: -2, CurrentPID: other, TargetPID: self}, true, "POSIX timer"},
		{"SI_MESGQ", OriginInput{Sig: 10, Code: -3, Group: true, CurrentPID: other, TargetPID: self}, true, "message queue"},
		{"SI_ASYNCIO", OriginInput{Sig: 10, Code: -4, Group: true, CurrentPID: other, TargetPID: self}, true, "asynchronous I/O"},
		{"SI_SIGIO", OriginInput{Sig: 29, Code: -5, Group: true, CurrentPID: other, TargetPID: self}, true, "I/O"},
		{"SI_DETHREAD", OriginInput{Sig: 9, Code: -7, CurrentPID: self, TargetPID: self}, true, "exec"},
		{"SI_ASYNCNL", OriginInput{Sig: 10, Code: -60, Group: true, CurrentPID: other, TargetPID: self}, true, "name lookup"},
		// Processes.
		{"SI_USER kill() to another process", OriginInput{Sig: 15, Code: 0, Group: true, CurrentPID: self, TargetPID: other}, false, ""},
		{"SI_USER kill() to itself", OriginInput{Sig: 15, Code: 0, Group: true, CurrentPID: self, TargetPID: self}, false, ""},
		{"SI_QUEUE sigqueue()", OriginInput{Sig: 35, Code: -1, Group: true, CurrentPID: self, TargetPID: other}, false, ""},
		{"SI_QUEUE to itself", OriginInput{Sig: 35, Code: -1, Group: true, CurrentPID: self, TargetPID: self}, false, ""},
		{"SI_TKILL tgkill()", OriginInput{Sig: 10, Code: -6, CurrentPID: self, TargetPID: other}, false, ""},
		{"SI_TKILL raise(SIGPIPE)", OriginInput{Sig: 13, Code: -6, CurrentPID: self, TargetPID: self}, false, ""},
		{"SI_USER NOINFO SIGTERM thread-directed to itself", OriginInput{Sig: 15, Code: 0, NoInfo: true, CurrentPID: self, TargetPID: self}, false, ""},
		// SIGPIPE/SIGXFSZ: send_sig(sig, current, 0) from a write is the
		// kernel; the same signal from kill() is a process.
		{"SIGPIPE from a write to a broken pipe", OriginInput{Sig: 13, Code: 0, NoInfo: true, CurrentPID: self, TargetPID: self}, true, "broken pipe"},
		{"SIGXFSZ from a write past RLIMIT_FSIZE", OriginInput{Sig: 25, Code: 0, NoInfo: true, CurrentPID: self, TargetPID: self}, true, "file size limit"},
		{"SIGPIPE kill() to another pid", OriginInput{Sig: 13, Code: 0, Group: true, CurrentPID: self, TargetPID: other}, false, ""},
		{"SIGPIPE kill() to itself", OriginInput{Sig: 13, Code: 0, Group: true, CurrentPID: self, TargetPID: self}, false, ""},
		{"SIGPIPE NOINFO to its process group", OriginInput{Sig: 13, Code: 0, NoInfo: true, Group: true, CurrentPID: self, TargetPID: self}, false, ""},
		{"SIGPIPE NOINFO to another thread-group", OriginInput{Sig: 13, Code: 0, NoInfo: true, CurrentPID: self, TargetPID: other}, false, ""},
		{"SIGXFSZ kill() to another pid", OriginInput{Sig: 25, Code: 0, Group: true, CurrentPID: self, TargetPID: other}, false, ""},
		// Who current is.
		{"current pid 0: interrupt context", OriginInput{Sig: 15, Code: 0, NoInfo: true, Group: true, CurrentPID: 0, TargetPID: other}, true, "interrupt"},
		{"kernel thread", OriginInput{Sig: 9, Code: 0, NoInfo: true, Group: true, KThread: true, CurrentPID: 2, TargetPID: other}, true, "kernel thread"},
		{"kernel thread with a real siginfo", OriginInput{Sig: 15, Code: 0, Group: true, KThread: true, CurrentPID: 45, TargetPID: other}, true, "kernel thread"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kernel, reason := Origin(tc.in)
			if kernel != tc.kernel {
				t.Fatalf("Origin(%+v) kernel = %v (reason %q), want %v", tc.in, kernel, reason, tc.kernel)
			}
			if !kernel {
				if reason != "" {
					t.Errorf("process sender with a reason %q", reason)
				}
				return
			}
			if reason == "" {
				t.Fatalf("kernel origin without a reason")
			}
			if !strings.Contains(reason, tc.reason) {
				t.Errorf("reason %q, want it to mention %q", reason, tc.reason)
			}
		})
	}
}

package tracer

// Values a system call returns when a signal interrupts it
// (include/linux/errno.h); userspace never sees them.
const (
	errRestartSys          = -512
	errRestartNoIntr       = -513
	errRestartNoHand       = -514
	errRestartRestartBlock = -516
)

// saRestart is SA_RESTART (include/uapi/asm-generic/signal-defs.h).
const saRestart = 0x10000000

// SyscallOutcome is what happens to the interrupted system call.
type SyscallOutcome uint8

const (
	OutcomeRestart SyscallOutcome = iota + 1 // it runs again, transparently
	OutcomeEINTR                             // it fails with EINTR
)

func (o SyscallOutcome) String() string {
	switch o {
	case OutcomeRestart:
		return "restart"
	case OutcomeEINTR:
		return "eintr"
	}
	return "unknown"
}

// RestartOutcome applies the kernel's rules (arch/x86/kernel/signal.c:
// handle_signal() when a handler runs, arch_do_signal_or_restart() when
// none does): with a handler, -ERESTARTNOHAND and -ERESTART_RESTARTBLOCK
// fail with EINTR, -ERESTARTSYS restarts only with SA_RESTART, and
// -ERESTARTNOINTR always restarts; without one, every -ERESTART* restarts.
func RestartOutcome(ret int32, disp Disposition, saFlags uint64) SyscallOutcome {
	if disp != DispHandler {
		return OutcomeRestart
	}
	switch ret {
	case errRestartNoHand, errRestartRestartBlock:
		return OutcomeEINTR
	case errRestartSys:
		if saFlags&saRestart != 0 {
			return OutcomeRestart
		}
		return OutcomeEINTR
	}
	return OutcomeRestart
}

#include "textflag.h"

// func vforkSleep(ts *unix.Timespec, mask *uint64) (pid, errno uintptr)
//
// The child must not touch the stack it shares with the parent (no CALL,
// no PUSH) and never returns: it keeps its arguments in registers.
TEXT ·vforkSleep(SB),NOSPLIT|NOFRAME,$0-32
	MOVQ	ts+0(FP), R12
	MOVQ	mask+8(FP), R13
	MOVQ	$58, AX		// SYS_vfork
	SYSCALL
	CMPQ	AX, $0
	JEQ	child
	CMPQ	AX, $0xfffffffffffff001
	JLS	ok
	MOVQ	$-1, pid+16(FP)
	NEGQ	AX
	MOVQ	AX, errno+24(FP)
	RET
ok:
	MOVQ	AX, pid+16(FP)
	MOVQ	$0, errno+24(FP)
	RET

child:
	// No Go signal handler may run here, on memory the parent owns.
	MOVQ	$2, DI		// SIG_SETMASK
	MOVQ	R13, SI
	MOVQ	$0, DX
	MOVQ	$8, R10		// sizeof(sigset_t) in the kernel
	MOVQ	$14, AX		// SYS_rt_sigprocmask
	SYSCALL
	MOVQ	R12, DI
	MOVQ	$0, SI
	MOVQ	$35, AX		// SYS_nanosleep
	SYSCALL
	MOVQ	$0, DI
	MOVQ	$231, AX	// SYS_exit_group
	SYSCALL
	JMP	child		// not reached

#include "textflag.h"

// func vforkSleep(ts *unix.Timespec, mask *uint64) (pid, errno uintptr)
//
// arm64 has no vfork system call: glibc's vfork() is clone(CLONE_VM |
// CLONE_VFORK | SIGCHLD) with no new stack, which is what this does. The
// child must not touch the stack it shares with the parent and never
// returns: it keeps its arguments in registers.
TEXT ·vforkSleep(SB),NOSPLIT|NOFRAME,$0-32
	MOVD	ts+0(FP), R19
	MOVD	mask+8(FP), R20
	MOVD	$0x4111, R0	// CLONE_VM | CLONE_VFORK | SIGCHLD
	MOVD	$0, R1		// newsp: 0 keeps the parent's stack pointer
	MOVD	$0, R2
	MOVD	$0, R3
	MOVD	$0, R4
	MOVD	$220, R8	// SYS_clone
	SVC
	CBZ	R0, child
	CMN	$4095, R0
	BCC	ok
	MOVD	$-1, R1
	MOVD	R1, pid+16(FP)
	NEG	R0, R0
	MOVD	R0, errno+24(FP)
	RET
ok:
	MOVD	R0, pid+16(FP)
	MOVD	ZR, errno+24(FP)
	RET

child:
	// No Go signal handler may run here, on memory the parent owns.
	MOVD	$2, R0		// SIG_SETMASK
	MOVD	R20, R1
	MOVD	$0, R2
	MOVD	$8, R3		// sizeof(sigset_t) in the kernel
	MOVD	$135, R8	// SYS_rt_sigprocmask
	SVC
	MOVD	R19, R0
	MOVD	$0, R1
	MOVD	$101, R8	// SYS_nanosleep
	SVC
	MOVD	$0, R0
	MOVD	$94, R8		// SYS_exit_group
	SVC
	B	child		// not reached

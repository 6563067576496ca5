package testproc

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Kernel-level dispositions for test helpers. The Go runtime installs its
// own handler for nearly every signal, so a helper that must have SIG_DFL
// or SIG_IGN as the kernel sees it sets it with rt_sigaction(2) directly.
const (
	SigDfl = 0
	SigIgn = 1
)

// sigaction is the rt_sigaction(2) argument on x86_64 and arm64
// (include/uapi/asm-generic/signal.h with SA_RESTORER).
type sigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// SetDisposition sets sig's handler to SigDfl or SigIgn in the kernel.
func SetDisposition(sig syscall.Signal, handler uintptr) error {
	sa := sigaction{handler: handler}
	_, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// ClearRestart re-installs sig's current handler without SA_RESTART, so a
// system call it interrupts fails with EINTR.
func ClearRestart(sig syscall.Signal) error {
	var sa sigaction
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&sa)), 8, 0, 0); e != 0 {
		return e
	}
	sa.flags &^= 0x10000000 // SA_RESTART
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0); e != 0 {
		return e
	}
	return nil
}

// Sigaction is sig's action as the kernel keeps it.
type Sigaction struct {
	Handler uintptr
	Flags   uint64
	raw     sigaction
}

// QuerySigaction reads sig's action: rt_sigaction(2) with no new action,
// which changes nothing.
func QuerySigaction(sig syscall.Signal) (Sigaction, error) {
	var sa sigaction
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&sa)), 8, 0, 0); e != 0 {
		return Sigaction{}, e
	}
	return Sigaction{Handler: sa.handler, Flags: sa.flags, raw: sa}, nil
}

// SetSigaction installs a (from QuerySigaction) again, with its Flags as
// they are now.
func SetSigaction(sig syscall.Signal, a Sigaction) error {
	sa := a.raw
	sa.handler, sa.flags = a.Handler, a.Flags
	if _, _, e := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0); e != 0 {
		return e
	}
	return nil
}

//go:build linux && (amd64 || arm64)

package testproc

import (
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// vforkSleep is in vfork_amd64.s and vfork_arm64.s: vfork, and in the
// child rt_sigprocmask(SIG_SETMASK, mask), nanosleep(ts) and exit_group(0).
// It returns in the parent only, once the child has exited.
func vforkSleep(ts *unix.Timespec, mask *uint64) (pid, errno uintptr)

// VforkSleep vforks a child that sleeps for d with every signal blocked and
// then exits 0. Meanwhile the calling thread waits in the kernel's
// wait_for_vfork_done() (kernel/fork.c) in TASK_KILLABLE, which /proc shows
// as D: a task put in uninterruptible sleep on purpose, woken only by the
// child's exit (or exec) or a fatal signal. Any other signal sent to that
// thread stays pending until then.
//
// The child shares the parent's memory and stack until it exits, so it runs
// only raw system calls from assembly and never returns to Go (the reason
// Go code cannot call vfork). Call it on a locked OS thread. The Go runtime
// believes that thread busy in Go meanwhile: its preemption signal (SIGURG)
// waits pending too, and a garbage collection would wait for the child.
// Returns the child's pid after it exited (or was killed).
func VforkSleep(d time.Duration) (pid int, err error) {
	// On the heap, and read by the child only while the parent is
	// suspended in the kernel.
	ts := new(unix.Timespec)
	*ts = unix.NsecToTimespec(d.Nanoseconds())
	mask := new(uint64)
	*mask = ^uint64(0)
	p, e := vforkSleep(ts, mask)
	if e != 0 {
		return 0, syscall.Errno(e)
	}
	return int(p), nil
}

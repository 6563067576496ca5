package tracer

// Helper modes for "what happens later" (issue 16, item 5): a thread that
// holds signals blocked until told to unblock them, and a thread parked in
// D state in vfork().

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

// runLaterHelper runs the modes of this file; ok is false for any other.
func runLaterHelper(mode string) (rc int, ok bool) {
	switch mode {
	case "unblock":
		return helperUnblock(), true
	case "vfork":
		return helperVfork(), true
	}
	return 0, false
}

// helperUnblock: one locked thread sets SIGTRACE_DFL/IGN/HANDLE, blocks
// SIGTRACE_BLOCK, says "ready TID" and waits for a byte on stdin; then it
// unblocks them, which makes the kernel act on what is pending as
// rt_sigprocmask() returns (a stop or a death happens before the next
// line), and says "unblocked". A process-directed signal could go to any
// other thread of the runtime: tests send thread-directed ones (tgkill).
func helperUnblock() int {
	runtime.LockOSThread()
	applyDispositions()
	helperMust(unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}))
	var set unix.Sigset_t
	for _, s := range envSignals("SIGTRACE_BLOCK") {
		set.Val[(s-1)/64] |= 1 << ((s - 1) % 64)
	}
	helperMust(unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil))
	ready(unix.Gettid())
	var b [1]byte
	for {
		n, err := unix.Read(0, b[:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n == 0 {
			return 0
		}
		break
	}
	helperMust(unix.PthreadSigmask(unix.SIG_UNBLOCK, &set, nil))
	fmt.Println("unblocked")
	return echo()
}

// helperVfork: SIGTRACE_DFL/IGN/HANDLE as usual; the locked main thread
// blocks SIGTRACE_BLOCK, says "ready TID" and vforks a child that sleeps
// SIGTRACE_VFORK_SLEEP, waiting for it in D state; once the child is gone
// it says "vforked PID".
func helperVfork() int {
	applyDispositions()
	runtime.LockOSThread()
	var set unix.Sigset_t
	for _, s := range envSignals("SIGTRACE_BLOCK") {
		set.Val[(s-1)/64] |= 1 << ((s - 1) % 64)
	}
	helperMust(unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil))
	d, err := time.ParseDuration(os.Getenv("SIGTRACE_VFORK_SLEEP"))
	helperMust(err)
	ready(unix.Gettid())
	pid, err := testproc.VforkSleep(d)
	helperMust(err)
	fmt.Println("vforked", pid)
	return echo()
}

// readLine reads the helper's next line, bounded; ok is false at EOF (it
// died).
func (c *child) readLine(t testing.TB) (line string, ok bool) {
	t.Helper()
	got := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		s, err := c.stdout.ReadString('\n')
		if err != nil {
			errc <- err
			return
		}
		got <- strings.TrimSpace(s)
	}()
	select {
	case s := <-got:
		return s, true
	case <-errc:
		return "", false
	case <-time.After(waitTimeout()):
		t.Fatalf("helper %d wrote no line and did not die within %v", c.pid(), waitTimeout())
		return "", false
	}
}

// waitStopped waits (bounded) until the helper stops and returns the
// signal that stopped it.
func (c *child) waitStopped(t testing.TB) syscall.Signal {
	t.Helper()
	type res struct {
		ws  syscall.WaitStatus
		err error
	}
	done := make(chan res, 1)
	go func() {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(c.pid(), &ws, syscall.WUNTRACED, nil)
		done <- res{ws, err}
	}()
	select {
	case r := <-done:
		if r.err != nil || !r.ws.Stopped() {
			t.Fatalf("helper %d: wait4 = %v, status %v: want it stopped", c.pid(), r.err, r.ws)
		}
		return r.ws.StopSignal()
	case <-time.After(waitTimeout()):
		_ = syscall.Kill(c.pid(), syscall.SIGKILL)
		t.Fatalf("helper %d did not stop within %v", c.pid(), waitTimeout())
		return 0
	}
}

// tgkill sends sig to one thread of pid.
func tgkill(t testing.TB, pid, tid int, sig syscall.Signal) {
	t.Helper()
	if err := unix.Tgkill(pid, tid, sig); err != nil {
		t.Fatalf("tgkill(%d, %d, %v): %v", pid, tid, sig, err)
	}
}

// helperTID is the thread id a helper printed after "ready".
func (c *child) helperTID(t testing.TB) int {
	t.Helper()
	var tid int
	if len(c.fields) < 1 {
		t.Fatalf("helper %d printed no tid", c.pid())
	}
	if _, err := fmt.Sscan(c.fields[0], &tid); err != nil {
		t.Fatalf("helper %d: tid %q: %v", c.pid(), c.fields[0], err)
	}
	return tid
}

// taskState is the state letter of /proc/PID/task/TID/stat, 0 if gone.
func taskState(pid, tid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/stat", pid, tid))
	if err != nil {
		return 0
	}
	// The comm is in parentheses and may hold anything: the state
	// follows the last ')'.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2]
	}
	return 0
}

// waitTaskState polls (bounded) until the thread is in state want: the
// condition to wait for, not a time to guess.
func waitTaskState(t testing.TB, pid, tid int, want byte) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout())
	for {
		got := taskState(pid, tid)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("thread %d of %d in state %q after %v, want %q", tid, pid, got, waitTimeout(), want)
		}
		time.Sleep(time.Millisecond)
	}
}

// childrenOf lists the processes whose parent is pid, from /proc (no
// procps in the guests).
func childrenOf(pid int) []int {
	dirs, _ := os.ReadDir("/proc")
	var out []int
	for _, d := range dirs {
		var p int
		if _, err := fmt.Sscan(d.Name(), &p); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + d.Name() + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// ") S PPID ..."
		f := strings.Fields(string(b[i+1:]))
		var ppid int
		if len(f) > 1 {
			if _, err := fmt.Sscan(f[1], &ppid); err == nil && ppid == pid {
				out = append(out, p)
			}
		}
	}
	return out
}

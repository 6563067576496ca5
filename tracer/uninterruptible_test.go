package tracer

import (
	"errors"
	"io/fs"
	"os"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/syscalls"
)

// vforkSyscall is the system call a vfork() parent waits in: arm64 has no
// vfork, and glibc (like testproc) makes it clone(CLONE_VM|CLONE_VFORK).
var vforkSyscall = map[string]string{"amd64": "vfork", "arm64": "clone"}[runtime.GOARCH]

// TestPendingUninterruptible: a signal pending at a task in D state says
// where that task waits, its kernel stack and system call (issue 16, item
// 5). The task is a vfork() parent, which the kernel keeps in
// wait_for_vfork_done() (kernel/fork.c, TASK_KILLABLE: D in /proc) until
// the child exits; a handled signal sent to that thread waits meanwhile.
func TestPendingUninterruptible(t *testing.T) {
	const after = 300 * time.Millisecond
	_, col := startTracer(t, Options{PendingAfter: after, Signals: []int{int(syscall.SIGUSR1), int(syscall.SIGUSR2)}})

	c := spawn(t, "vfork", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1),
		"SIGTRACE_DFL="+sigList(syscall.SIGUSR2), "SIGTRACE_BLOCK="+sigList(syscall.SIGUSR2),
		"SIGTRACE_VFORK_SLEEP="+(10*waitTimeout()).String()))
	tid := c.helperTID(t)
	waitTaskState(t, c.pid(), tid, 'D')
	kids := childrenOf(c.pid())
	if len(kids) != 1 {
		t.Fatalf("vfork parent %d has children %v, want one", c.pid(), kids)
	}
	child := kids[0]
	t.Cleanup(func() { _ = syscall.Kill(child, syscall.SIGKILL) })

	// Thread-directed, so that no other thread of the Go runtime takes it.
	from := col.len()
	sent := time.Now()
	tgkill(t, c.pid(), tid, syscall.SIGUSR1)
	// SIGUSR2 the thread blocks: the mask, not the sleep, holds it, and
	// it kills once unblocked (SIG_DFL), vfork or not.
	tgkill(t, c.pid(), tid, syscall.SIGUSR2)
	blk, _ := col.waitFor(t, from, "pending SIGUSR2 at the vfork parent", func(e *Event) bool {
		return e.Type == TypePending && e.Target.TID == uint32(tid) && e.Sig == int(syscall.SIGUSR2)
	})
	if blk.Pending.Reason != PendingBlocked || blk.Pending.WhenUnblocked != UnblockedTerminate || blk.Pending.Wait != nil {
		t.Errorf("blocked SIGUSR2 at a task in D state: reason %v, when unblocked %q, wait %+v; want blocked, terminate, no wait site",
			blk.Pending.Reason, blk.Pending.WhenUnblocked, blk.Pending.Wait)
	}
	ev, _ := col.waitFor(t, from, "pending SIGUSR1 at the vfork parent", func(e *Event) bool {
		return e.Type == TypePending && e.Target.TID == uint32(tid) && e.Sig == int(syscall.SIGUSR1)
	})
	if ev.Pending.Reason != PendingUninterruptible || ev.Scope != ScopeThread {
		t.Errorf("reason %v scope %v, want uninterruptible, thread", ev.Pending.Reason, ev.Scope)
	}
	if ev.Pending.Ns < after.Nanoseconds() {
		t.Errorf("pending_ns %v, want at least %v", time.Duration(ev.Pending.Ns), after)
	}
	w := ev.Pending.Wait
	if w == nil {
		t.Fatal("pending uninterruptible event without a wait site")
	}
	t.Logf("stack %q (%s), in syscall %v %d %s", w.Stack, w.StackErr, w.InSyscall, w.SyscallNr, syscalls.Name(w.SyscallNr))

	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/stack"); errors.Is(err, fs.ErrNotExist) {
		// Debian builds every kernel of the matrix with
		// CONFIG_STACKTRACE; one without it has no stack to show,
		// and the event must say so instead.
		t.Logf("this kernel has no /proc/PID/stack: the event must say why it has no stack")
		if len(w.Stack) != 0 || w.StackErr != StackNoProcFile {
			t.Errorf("stack %q, reason %q; want none, %q", w.Stack, w.StackErr, StackNoProcFile)
		}
	} else {
		// The scheduler's frames are left out by the kernel; what is
		// left names the vfork wait: wait_for_vfork_done() itself
		// where it is not inlined, else its caller kernel_clone()
		// (_do_fork before 5.10).
		if !slices.ContainsFunc(w.Stack, func(f string) bool {
			return f == "wait_for_vfork_done" || f == "kernel_clone" || f == "_do_fork"
		}) {
			t.Errorf("stack %q (%s) names no vfork wait", w.Stack, w.StackErr)
		}
		if w.StackErr != "" {
			t.Errorf("stack error %q with a stack file", w.StackErr)
		}
	}
	if !w.InSyscall || syscalls.Name(w.SyscallNr) != vforkSyscall {
		t.Errorf("syscall %d (%s, in one: %v), want %s", w.SyscallNr, syscalls.Name(w.SyscallNr), w.InSyscall, vforkSyscall)
	}

	// Ending the child ends the wait: the signal is delivered to the
	// handler at last, and the parent goes on.
	if err := syscall.Kill(child, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if line, ok := c.readLine(t); !ok || line != "vforked "+strconv.Itoa(child) {
		t.Fatalf("helper said %q (alive %v), want \"vforked %d\"", line, ok, child)
	}
	del, _ := col.waitFor(t, from, "deliver SIGUSR1 after the vfork", func(e *Event) bool {
		return e.Type == TypeDeliver && e.Target.TID == uint32(tid) && e.Sig == int(syscall.SIGUSR1)
	})
	if !del.Deliver.HasLatency || time.Duration(del.Deliver.LatencyNs) < after || time.Duration(del.Deliver.LatencyNs) > time.Since(sent) {
		t.Errorf("latency %v (known %v), want between %v and %v", time.Duration(del.Deliver.LatencyNs), del.Deliver.HasLatency, after, time.Since(sent))
	}
	if !c.alive(t) {
		t.Error("the vfork parent died")
	}
}

package tracer

import (
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestHideSelf: with HideSelf, the signals this process sends itself (as
// Go's runtime does, preempting a goroutine with SIGURG to its own
// thread) leave no event, while a signal another process sends it, and one
// it sends another process, are reported.
func TestHideSelf(t *testing.T) {
	self := uint32(os.Getpid())
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGWINCH), int(syscall.SIGURG)}, HideSelf: true})

	must(t, unix.Tgkill(os.Getpid(), unix.Gettid(), syscall.SIGURG))
	must(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))

	// Another process signals this one: kept, both ends.
	k := spawn(t, "kill", withEnv("SIGTRACE_KILL_TARGET="+strconv.Itoa(os.Getpid())))
	kpid := uint32(k.pid())
	col.waitFor(t, 0, "SIGWINCH from the helper", func(e *Event) bool {
		return e.Type == TypeGenerate && e.Sig == int(syscall.SIGWINCH) && e.Generate.Sender.PID == kpid && e.Target.PID == self
	})
	col.waitFor(t, 0, "SIGWINCH from the helper delivered", func(e *Event) bool {
		return e.Type == TypeDeliver && e.Sig == int(syscall.SIGWINCH) && e.Target.PID == self
	})

	// This process signals another one: kept. It is also the fence: the
	// self-sent signals were generated before it, on this thread, so
	// their records (had they been made) are ahead of it in the ring.
	c := spawn(t, "daemon")
	must(t, syscall.Kill(c.pid(), syscall.SIGWINCH))
	col.waitFor(t, 0, "SIGWINCH to the child", genTo(c.pid(), syscall.SIGWINCH))

	for _, e := range col.since(0, func(e *Event) bool { return e.Target.PID == self }) {
		switch {
		case e.Type == TypeGenerate && e.Generate.Sender.PID == self:
			t.Errorf("generate %d from this process to itself was reported", e.Sig)
		case e.Type == TypeDeliver && e.Sig == int(syscall.SIGURG):
			t.Errorf("deliver of this process's own SIGURG was reported")
		}
	}
	if n := len(col.since(0, func(e *Event) bool {
		return e.Type == TypeDeliver && e.Target.PID == self && e.Sig == int(syscall.SIGWINCH)
	})); n != 1 {
		t.Errorf("%d SIGWINCH deliveries to this process reported, want 1 (the helper's)", n)
	}
}

package tracer

import (
	"syscall"
	"testing"
	"time"
)

func pendingOf(pid int, sig syscall.Signal) func(*Event) bool {
	return func(e *Event) bool {
		return e.Type == TypePending && e.Target.PID == uint32(pid) && e.Sig == int(sig)
	}
}

// TestPendingSignals: with PendingAfter, a signal still undelivered after
// that long is reported once, with the reason the kernel holds it.
func TestPendingSignals(t *testing.T) {
	const after = 500 * time.Millisecond
	_, col := startTracer(t, Options{PendingAfter: after, Signals: []int{
		int(syscall.SIGTERM), int(syscall.SIGSTOP), int(syscall.SIGUSR1), int(syscall.SIGWINCH),
	}})

	t.Run("blocked", func(t *testing.T) {
		c := spawn(t, "exec", withEnv("SIGTRACE_BLOCK="+sigList(syscall.SIGTERM)))
		sent := time.Now()
		must(t, syscall.Kill(c.pid(), syscall.SIGTERM))
		ev, _ := col.waitFor(t, 0, "pending SIGTERM", pendingOf(c.pid(), syscall.SIGTERM))
		if ev.Pending.Reason != PendingBlocked || ev.Pending.WhenUnblocked != UnblockedTerminate {
			t.Errorf("reason %v, when unblocked %q; want blocked, terminate", ev.Pending.Reason, ev.Pending.WhenUnblocked)
		}
		if ev.Pending.Ns < after.Nanoseconds() || time.Duration(ev.Pending.Ns) > time.Since(sent)+time.Second {
			t.Errorf("pending_ns %v, want at least %v and about the time since sending", time.Duration(ev.Pending.Ns), after)
		}
		if !c.alive(t) {
			t.Error("receiver died")
		}
	})

	t.Run("stopped", func(t *testing.T) {
		c := spawn(t, "exec")
		must(t, syscall.Kill(c.pid(), syscall.SIGSTOP))
		// Only once it has stopped is SIGTERM held; before, it kills.
		var ws syscall.WaitStatus
		if _, err := syscall.Wait4(c.pid(), &ws, syscall.WUNTRACED, nil); err != nil || !ws.Stopped() {
			t.Fatalf("wait for the stop: %v %v", err, ws)
		}
		must(t, syscall.Kill(c.pid(), syscall.SIGTERM))
		ev, _ := col.waitFor(t, 0, "pending SIGTERM to a stopped process", pendingOf(c.pid(), syscall.SIGTERM))
		if ev.Pending.Reason != PendingStopped {
			t.Errorf("reason %v, want stopped", ev.Pending.Reason)
		}
		_ = syscall.Kill(c.pid(), syscall.SIGKILL)
	})

	t.Run("delivered in time is not pending", func(t *testing.T) {
		c := spawn(t, "daemon", withEnv("SIGTRACE_HANDLE="+sigList(syscall.SIGUSR1)))
		must(t, syscall.Kill(c.pid(), syscall.SIGUSR1))
		ev, _ := col.waitFor(t, 0, "deliver SIGUSR1", func(e *Event) bool {
			return e.Type == TypeDeliver && e.Target.PID == uint32(c.pid()) && e.Sig == int(syscall.SIGUSR1)
		})
		if !ev.Deliver.HasLatency || ev.Deliver.LatencyNs <= 0 || ev.Deliver.LatencyNs >= int64(time.Second) {
			t.Errorf("latency %v (known %v), want positive and below a second", time.Duration(ev.Deliver.LatencyNs), ev.Deliver.HasLatency)
		}
		// Past the threshold and a sweep, nothing may be reported for it.
		other := spawn(t, "exec", withEnv("SIGTRACE_BLOCK="+sigList(syscall.SIGTERM)))
		must(t, syscall.Kill(other.pid(), syscall.SIGTERM))
		col.waitFor(t, 0, "a later pending event (a sweep ran)", pendingOf(other.pid(), syscall.SIGTERM))
		if got := col.since(0, pendingOf(c.pid(), syscall.SIGUSR1)); len(got) != 0 {
			t.Error("a delivered signal was reported pending")
		}
	})
}

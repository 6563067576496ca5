package tracer

import (
	"syscall"
	"testing"

	"github.com/sigtrace/sigtrace/signals"
)

// TestWhenUnblocked: for a blocked signal, the generate event says what
// will happen once it is unblocked, and the receiver then does exactly
// that when it unblocks it (issue 16, item 5).
func TestWhenUnblocked(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{
		int(syscall.SIGTSTP), int(syscall.SIGTERM), int(syscall.SIGQUIT), int(syscall.SIGUSR1),
		int(syscall.SIGUSR2), int(syscall.SIGWINCH), int(syscall.SIGCONT),
	}})

	// blockAndSend starts an "unblock" helper in a process group of its
	// own (so that it is not orphaned: its parent, this test, is in
	// another group of the same session), sends sig to its blocking
	// thread and returns the generate event.
	blockAndSend := func(t *testing.T, sig syscall.Signal, want Unblocked, env ...string) (*child, int) {
		t.Helper()
		c := spawn(t, "unblock", withEnv(append(env, "SIGTRACE_BLOCK="+sigList(sig))...),
			withSysProcAttr(&syscall.SysProcAttr{Setpgid: true}))
		tid := c.helperTID(t)
		from := col.len()
		tgkill(t, c.pid(), tid, sig)
		ev, _ := col.waitFor(t, from, "generate "+signals.Name(int(sig)), genTo(c.pid(), sig))
		if ev.Generate.Kind != VerdictBlocked || !ev.Generate.Blocked || ev.Generate.WhenUnblocked != want || ev.Generate.FatalWhenUnblocked != want.Kills() {
			t.Errorf("verdict %+v blocked %v, want blocked with when_unblocked %q", ev.Generate.Verdict, ev.Generate.Blocked, want)
		}
		return c, from
	}
	deliverTo := func(pid int, sig syscall.Signal) func(*Event) bool {
		return func(e *Event) bool {
			return e.Type == TypeDeliver && e.Target.PID == uint32(pid) && e.Sig == int(sig)
		}
	}
	unblock := func(t *testing.T, c *child) {
		t.Helper()
		if _, err := c.stdin.Write([]byte{'u'}); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("SIGTSTP stops", func(t *testing.T) {
		c, _ := blockAndSend(t, syscall.SIGTSTP, UnblockedStop, "SIGTRACE_DFL="+sigList(syscall.SIGTSTP))
		unblock(t, c)
		if sig := c.waitStopped(t); sig != syscall.SIGTSTP {
			t.Errorf("stopped by %v, want SIGTSTP", sig)
		}
		_ = syscall.Kill(c.pid(), syscall.SIGKILL)
	})

	t.Run("SIGTSTP in an orphaned process group: the kernel discards it", func(t *testing.T) {
		// What sigtrace cannot know at generation: get_signal() drops
		// a job-control stop when the receiver's process group is
		// orphaned at delivery (is_current_pgrp_orphaned()). A session
		// leader whose parent is in another session is in one.
		c := spawn(t, "unblock", withEnv("SIGTRACE_DFL="+sigList(syscall.SIGTSTP), "SIGTRACE_BLOCK="+sigList(syscall.SIGTSTP)),
			withSysProcAttr(&syscall.SysProcAttr{Setsid: true}))
		from := col.len()
		tgkill(t, c.pid(), c.helperTID(t), syscall.SIGTSTP)
		ev, _ := col.waitFor(t, from, "generate SIGTSTP", genTo(c.pid(), syscall.SIGTSTP))
		if ev.Generate.WhenUnblocked != UnblockedStop {
			t.Errorf("when_unblocked %q, want stop (the orphaned group is not known at generation)", ev.Generate.WhenUnblocked)
		}
		unblock(t, c)
		// A stop would happen before the helper could write this.
		if line, ok := c.readLine(t); !ok || line != "unblocked" {
			t.Fatalf("helper said %q (alive %v), want it to go on: the stop is discarded", line, ok)
		}
		col.waitFor(t, from, "deliver SIGTSTP", deliverTo(c.pid(), syscall.SIGTSTP))
	})

	for _, tc := range []struct {
		sig  syscall.Signal
		want Unblocked
	}{
		{syscall.SIGTERM, UnblockedTerminate},
		{syscall.SIGQUIT, UnblockedCore},
	} {
		t.Run(signals.Name(int(tc.sig))+" kills", func(t *testing.T) {
			c, _ := blockAndSend(t, tc.sig, tc.want, "SIGTRACE_DFL="+sigList(tc.sig))
			unblock(t, c)
			if line, ok := c.readLine(t); ok {
				t.Fatalf("helper said %q after unblocking, want it dead", line)
			}
			if sig := killedBy(c.wait(t)); sig != tc.sig {
				t.Errorf("ended by %v, want %v", sig, tc.sig)
			}
		})
	}

	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		env  string
		want Unblocked
		disp Disposition
	}{
		{"SIGUSR1 with a handler is handled", syscall.SIGUSR1, "SIGTRACE_HANDLE=" + sigList(syscall.SIGUSR1), UnblockedHandler, DispHandler},
		{"SIGUSR2 with SIG_IGN is ignored", syscall.SIGUSR2, "SIGTRACE_IGN=" + sigList(syscall.SIGUSR2), UnblockedIgnore, DispIgnore},
		{"SIGWINCH by default does nothing", syscall.SIGWINCH, "SIGTRACE_DFL=" + sigList(syscall.SIGWINCH), UnblockedIgnore, DispDefault},
		{"SIGCONT by default does nothing more", syscall.SIGCONT, "SIGTRACE_DFL=" + sigList(syscall.SIGCONT), UnblockedIgnore, DispDefault},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, from := blockAndSend(t, tc.sig, tc.want, tc.env)
			if n := len(col.since(from, deliverTo(c.pid(), tc.sig))); n != 0 {
				t.Errorf("%d deliver events while blocked, want 0", n)
			}
			unblock(t, c)
			if line, ok := c.readLine(t); !ok || line != "unblocked" {
				t.Fatalf("helper said %q (alive %v), want it to go on", line, ok)
			}
			ev, _ := col.waitFor(t, from, "deliver "+signals.Name(int(tc.sig)), deliverTo(c.pid(), tc.sig))
			if ev.Deliver.Disposition != tc.disp {
				t.Errorf("delivered to disposition %v, want %v", ev.Deliver.Disposition, tc.disp)
			}
			if !c.alive(t) {
				t.Error("receiver died")
			}
		})
	}
}

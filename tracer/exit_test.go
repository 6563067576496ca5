package tracer

// Exit attribution: real processes die of real signals, and the exit
// event must name the cause and the killer.

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/testproc"
	"github.com/sigtrace/sigtrace/signals"
)

func exitOf(pid int) func(*Event) bool {
	return func(e *Event) bool { return e.Type == TypeExit && e.Target.PID == uint32(pid) }
}

func TestExitAttribution(t *testing.T) {
	_, col := startTracer(t, Options{NoDeliver: true, Signals: []int{
		int(syscall.SIGUSR1), int(syscall.SIGUSR2), int(syscall.SIGSEGV), int(syscall.SIGKILL), int(syscall.SIGWINCH),
	}})

	t.Run("pkill from nightlyjob", func(t *testing.T) {
		name := uniqueName("exitd")
		c := spawn(t, "daemon", withName(t, name), withEnv("SIGTRACE_DFL="+sigList(syscall.SIGUSR1)))
		script := filepath.Join(t.TempDir(), "nightlyjob")
		must(t, os.WriteFile(script, []byte("#!/bin/sh\npkill -USR1 -x "+name+"\n"), 0o755))
		job := exec.Command(script)
		job.Env = append(os.Environ(), "PATH="+testproc.PathWithPkill(t))
		if out, err := job.CombinedOutput(); err != nil {
			t.Fatalf("nightlyjob: %v: %s", err, out)
		}
		ws := c.wait(t)
		if killedBy(ws) != syscall.SIGUSR1 {
			t.Fatalf("daemon ended by %v, want SIGUSR1", killedBy(ws))
		}
		ev, _ := col.waitFor(t, 0, "exit of the daemon", exitOf(c.pid()))
		end := barrier(t, col, 0)
		if n := len(col.since(0, exitOf(c.pid()))); n != 1 {
			t.Errorf("%d exit events, want exactly 1", n)
		}
		_ = end
		if ev.Sig != int(syscall.SIGUSR1) {
			t.Errorf("exit signal %s, want SIGUSR1 (not the internal SIGKILL)", signals.Name(ev.Sig))
		}
		if ev.Exit.CoreDumped {
			t.Error("core_dumped for SIGUSR1")
		}
		if !ev.Exit.KillerKnown || ev.Exit.Killer.KernelSender || ev.Exit.Killer.Sender.CommString() != "pkill" {
			t.Fatalf("killer known %v kernel %v comm %q, want pkill", ev.Exit.KillerKnown, ev.Exit.Killer.KernelSender, ev.Exit.Killer.Sender.CommString())
		}
		if len(ev.Exit.Killer.Sender.Ancestry) == 0 || commOf(ev.Exit.Killer.Sender.Ancestry[0]) != "nightlyjob" {
			t.Errorf("killer ancestry %v, want nightlyjob first", ancestryNames(ev.Exit.Killer.Sender.Ancestry))
		}
		if ev.Exit.Disposition != DispDefault {
			t.Errorf("disposition %v, want default", ev.Exit.Disposition)
		}
	})

	t.Run("NULL dereference", func(t *testing.T) {
		c := spawn(t, "segv")
		ws := c.wait(t)
		ev, _ := col.waitFor(t, 0, "exit of the faulting process", exitOf(c.pid()))
		if ev.Sig != int(syscall.SIGSEGV) || !ev.Exit.KillerKnown || !ev.Exit.Killer.KernelSender {
			t.Errorf("exit %s killer known %v kernel %v, want SIGSEGV from the kernel", signals.Name(ev.Sig), ev.Exit.KillerKnown, ev.Exit.Killer.KernelSender)
		}
		sys := ws.Sys().(syscall.WaitStatus)
		if ev.Exit.CoreDumped != sys.CoreDump() {
			t.Errorf("core_dumped %v, waitpid says %v", ev.Exit.CoreDumped, sys.CoreDump())
		}
	})

	t.Run("thread-directed fatal signal, many threads", func(t *testing.T) {
		c := spawn(t, "thread", withEnv("SIGTRACE_DFL="+sigList(syscall.SIGUSR2)))
		tid, err := strconv.Atoi(c.fields[0])
		must(t, err)
		must(t, unix.Tgkill(c.pid(), tid, syscall.SIGUSR2))
		if sig := killedBy(c.wait(t)); sig != syscall.SIGUSR2 {
			t.Fatalf("ended by %v, want SIGUSR2", sig)
		}
		col.waitFor(t, 0, "exit of the group", exitOf(c.pid()))
		barrier(t, col, 0)
		if n := len(col.since(0, exitOf(c.pid()))); n != 1 {
			t.Errorf("%d exit events for one thread group, want exactly 1", n)
		}
	})

	t.Run("SIGKILL from a named sender", func(t *testing.T) {
		c := spawn(t, "daemon")
		script := filepath.Join(t.TempDir(), "reaperjob")
		must(t, os.WriteFile(script, []byte("#!/bin/sh\nkill -KILL "+strconv.Itoa(c.pid())+"\n"), 0o755))
		if out, err := exec.Command(script).CombinedOutput(); err != nil {
			t.Fatalf("reaperjob: %v: %s", err, out)
		}
		c.wait(t)
		ev, _ := col.waitFor(t, 0, "exit by SIGKILL", exitOf(c.pid()))
		if ev.Sig != int(syscall.SIGKILL) || !ev.Exit.KillerKnown || ev.Exit.Killer.Sender.CommString() != "reaperjob" {
			t.Errorf("exit %s killer %q (known %v), want SIGKILL from reaperjob", signals.Name(ev.Sig), ev.Exit.Killer.Sender.CommString(), ev.Exit.KillerKnown)
		}
	})

	t.Run("normal exit", func(t *testing.T) {
		c := spawn(t, "daemon") // a Go program: many threads, exit_group(0)
		if sig := killedBy(c.wait(t)); sig != 0 {
			t.Fatalf("ended by %v", sig)
		}
		barrier(t, col, 0)
		if got := col.since(0, exitOf(c.pid())); len(got) != 0 {
			t.Errorf("exit event for a normal exit: %s", signals.Name(got[0].Sig))
		}
	})
}

// TestExitKillerWithoutGenerate: the killer is joined in the kernel, so the
// exit names it even when its generate record never reached userspace.
// The victim is stopped, so the fatal signal stays pending while its record
// is lost in a full one-page ring; it dies only after SIGCONT.
func TestExitKillerWithoutGenerate(t *testing.T) {
	requirePrivileged(t)
	sink := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR2)))
	victim := spawn(t, "daemon", withEnv("SIGTRACE_DFL="+sigList(syscall.SIGUSR1)))
	// No reserve: the point is a generate record lost to a full ring,
	// which the reserve would otherwise keep for this fatal signal. Only
	// signals to this test's processes: other tests' storms (go test runs
	// packages at once) would fill a one-page ring too.
	tr, err := New(Options{NoDeliver: true, RingSize: 4096, Reserve: -1, Signals: []int{
		int(syscall.SIGUSR1), int(syscall.SIGUSR2), int(syscall.SIGSTOP), int(syscall.SIGWINCH),
	}, TargetPIDs: []uint32{uint32(sink.pid()), uint32(victim.pid()), uint32(os.Getpid())}})
	must(t, err)
	defer tr.Close()
	col := &collector{changed: make(chan struct{})}
	release := make(chan struct{})
	stalled := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		first := true
		done <- tr.Run(ctx, func(ev *Event) error {
			if first {
				first = false
				close(stalled)
				<-release
			}
			return col.add(ev)
		}, nil)
	}()
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	defer func() { unblock(); cancel(); <-done }()

	must(t, syscall.Kill(victim.pid(), syscall.SIGSTOP))
	select {
	case <-stalled:
	case <-time.After(waitTimeout()):
		t.Fatal("reader never got the SIGSTOP record")
	}
	// Until it has really stopped, SIGUSR1 would kill it at once (and its
	// exit record would be lost in the full ring): wait for the stop.
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(victim.pid(), &ws, syscall.WUNTRACED, nil); err != nil || !ws.Stopped() {
		t.Fatalf("wait for the stop: %v %v", err, ws)
	}
	for i := 0; i < 100; i++ { // fill the ring
		must(t, syscall.Kill(sink.pid(), syscall.SIGUSR2))
	}
	must(t, syscall.Kill(victim.pid(), syscall.SIGUSR1)) // pending: the victim is stopped
	st, err := tr.Stats()
	must(t, err)
	if st.Lost == 0 {
		t.Fatal("the ring did not overflow; the test proves nothing")
	}
	unblock()
	// Catch up with everything the kernel submitted: the barrier is
	// retried, since the first may meet a ring that is still full.
	drained(t, col, syscall.SIGWINCH)
	if got := col.since(0, genTo(victim.pid(), syscall.SIGUSR1)); len(got) != 0 {
		t.Fatal("the SIGUSR1 generate record arrived; the test proves nothing")
	}

	must(t, syscall.Kill(victim.pid(), syscall.SIGCONT))
	if sig := killedBy(victim.wait(t)); sig != syscall.SIGUSR1 {
		t.Fatalf("victim ended by %v, want SIGUSR1", sig)
	}
	ev, _ := col.waitFor(t, 0, "exit of the victim", exitOf(victim.pid()))
	if ev.Sig != int(syscall.SIGUSR1) || !ev.Exit.KillerKnown || ev.Exit.Killer.Sender.PID != uint32(os.Getpid()) {
		t.Errorf("exit %s killer known %v pid %d, want SIGUSR1 from this test process %d",
			signals.Name(ev.Sig), ev.Exit.KillerKnown, ev.Exit.Killer.Sender.PID, os.Getpid())
	}
}

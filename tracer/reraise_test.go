package tracer

// Re-raises on the real kernel: a process catches a signal, then sends it
// to itself to die of it. The generate event of the re-raise and the exit
// must name the original sender, not the process.

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/testproc"
	"github.com/sigtrace/sigtrace/signals"
)

// reraiseHelpers are the helper modes of these tests (see runHelper). A
// helper that should have died sleeps, then exits 3, so a test sees it.
var reraiseHelpers = map[string]func() int{
	// C style: catch SIGTERM, clean up, then signal(SIGTERM, SIG_DFL)
	// and kill(getpid(), SIGTERM): SI_USER from the process itself.
	"reraise-term": func() int {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		ready()
		<-ch
		helperMust(rawSigaction(int(syscall.SIGTERM), 0))
		helperMust(syscall.Kill(os.Getpid(), syscall.SIGTERM))
		time.Sleep(waitTimeout())
		return 3
	},
	// A kernel-made original: SIGALRM from setitimer, caught, re-raised.
	"reraise-alarm": func() int {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGALRM)
		ready()
		it := unix.Itimerval{Value: unix.NsecToTimeval(int64(20 * time.Millisecond))}
		_, err := unix.Setitimer(unix.ItimerReal, it)
		helperMust(err)
		<-ch
		helperMust(rawSigaction(int(syscall.SIGALRM), 0))
		helperMust(syscall.Kill(os.Getpid(), syscall.SIGALRM))
		time.Sleep(waitTimeout())
		return 3
	},
	// Sends SIGTERM to SIGTRACE_KILL_TARGET and exits.
	"kill-term": func() int {
		target, err := strconv.Atoi(os.Getenv("SIGTRACE_KILL_TARGET"))
		helperMust(err)
		helperMust(syscall.Kill(target, syscall.SIGTERM))
		return 0
	},
	// No original: a handled SIGUSR1 to itself, then a fatal SIGUSR2 to
	// itself that nobody sent it before.
	"selfsend": func() int {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		ready()
		helperMust(syscall.Kill(os.Getpid(), syscall.SIGUSR1))
		<-ch
		helperMust(rawSigaction(int(syscall.SIGUSR2), 0))
		helperMust(syscall.Kill(os.Getpid(), syscall.SIGUSR2))
		time.Sleep(waitTimeout())
		return 3
	},
}

// selfSent matches generate events in which pid sends itself sig.
func selfSent(pid int, sig syscall.Signal) func(*Event) bool {
	return func(e *Event) bool {
		return genTo(pid, sig)(e) && !e.Generate.KernelSender && e.Generate.Sender.PID == uint32(pid)
	}
}

// checkReraises: the process re-raised sig at least once, every signal it
// sent itself names an original that want accepts, and the last one is
// the fatal one (SIG_DFL by then).
func checkReraises(t *testing.T, col *collector, pid int, sig syscall.Signal, wantCode int32, want func(*Original) string) {
	t.Helper()
	re := col.since(0, selfSent(pid, sig))
	if len(re) == 0 {
		t.Fatalf("no %s from process %d to itself", signals.Name(int(sig)), pid)
	}
	for i, e := range re {
		if e.Code != wantCode {
			t.Errorf("re-raise %d: code %s, want %s", i, signals.CodeName(e.Sig, e.Code), signals.CodeName(e.Sig, wantCode))
		}
		if e.Generate.ReraiseOf == nil {
			t.Errorf("re-raise %d (%s, verdict %s) names no original", i, signals.CodeName(e.Sig, e.Code), e.Generate.Kind)
			continue
		}
		if msg := want(e.Generate.ReraiseOf); msg != "" {
			t.Errorf("re-raise %d: %s", i, msg)
		}
		if e.Generate.ReraiseOf.Time.After(e.Time) {
			t.Errorf("re-raise %d at %v names an original from later, %v", i, e.Time, e.Generate.ReraiseOf.Time)
		}
	}
	if last := re[len(re)-1]; !last.Generate.Fatal || last.Generate.Disposition != DispDefault {
		t.Errorf("last re-raise: verdict %s disposition %s, want fatal at SIG_DFL", last.Generate.Kind, last.Generate.Disposition)
	}
}

// checkExitVia: exactly one exit, by sig, whose killer is the original
// (want accepts it), marked as passed on through a re-raise.
func checkExitVia(t *testing.T, col *collector, pid int, sig syscall.Signal, want func(*Original) string) {
	t.Helper()
	col.waitFor(t, 0, "exit", exitOf(pid))
	barrier(t, col, 0)
	exits := col.since(0, exitOf(pid))
	if len(exits) != 1 {
		t.Fatalf("%d exit events, want 1", len(exits))
	}
	ev := exits[0]
	if ev.Sig != int(sig) || !ev.Exit.KillerKnown {
		t.Fatalf("exit by %s, killer known %v; want %s with its killer", signals.Name(ev.Sig), ev.Exit.KillerKnown, signals.Name(int(sig)))
	}
	if ev.Exit.KillerVia != KillerReraise {
		t.Errorf("killer_via %s, want reraise", ev.Exit.KillerVia)
	}
	o := Original{Code: ev.Code, From: ev.Exit.Killer, Disposition: ev.Exit.Disposition}
	if msg := want(&o); msg != "" {
		t.Errorf("exit killer: %s", msg)
	}
	if ev.Exit.Disposition != DispHandler {
		t.Errorf("exit disposition %s, want handler (what the original met)", ev.Exit.Disposition)
	}
}

func TestReraise(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{
		int(syscall.SIGHUP), int(syscall.SIGTERM), int(syscall.SIGALRM),
		int(syscall.SIGUSR1), int(syscall.SIGUSR2), int(syscall.SIGWINCH),
	}})

	// The seed incident on a Go daemon: a Go program that never called
	// signal.Notify dies of SIGHUP, which the runtime catches and
	// re-raises with tgkill (runtime/signal_unix.go dieFromSignal).
	t.Run("Go daemon without signal.Notify, pkill -HUP from a cron job", func(t *testing.T) {
		name := uniqueName("goapp")
		c := spawn(t, "daemon", withName(t, name))
		script := filepath.Join(t.TempDir(), "nightlyjob")
		must(t, os.WriteFile(script, []byte("#!/bin/sh\npkill -HUP -x "+name+"\n"), 0o755))
		job := exec.Command(script)
		job.Env = append(os.Environ(), "PATH="+testproc.PathWithPkill(t))
		if out, err := job.CombinedOutput(); err != nil {
			t.Fatalf("nightlyjob: %v: %s", err, out)
		}
		if sig := killedBy(c.reap(t, waitTimeout())); sig != syscall.SIGHUP {
			t.Fatalf("Go daemon ended by %v, want SIGHUP", sig)
		}
		col.waitFor(t, 0, "exit of the Go daemon", exitOf(c.pid()))
		barrier(t, col, 0)

		fromPkill := col.since(0, func(e *Event) bool {
			return genTo(c.pid(), syscall.SIGHUP)(e) && e.Generate.Sender.CommString() == "pkill"
		})
		if len(fromPkill) != 1 {
			t.Fatalf("%d SIGHUPs from pkill, want 1", len(fromPkill))
		}
		orig := fromPkill[0]
		// The handler's verdict is handled; the Go runtime's rules make
		// it fatal when the daemon's notify mask could be read (a test
		// binary with a symbol table, as go test -c builds it).
		want := VerdictHandled
		if orig.Generate.Go.Met && orig.Generate.Go.MaskKnown {
			want = VerdictFatal
		}
		if orig.Generate.Disposition != DispHandler || orig.Generate.Kind != want || orig.Generate.ReraiseOf != nil {
			t.Errorf("pkill's SIGHUP: disposition %s verdict %s re-raise %v; want the Go runtime's handler, %s, no re-raise",
				orig.Generate.Disposition, orig.Generate.Kind, orig.Generate.ReraiseOf != nil, want)
		}
		isPkill := func(o *Original) string {
			switch {
			case o.KernelSender || o.Sender.PID != orig.Generate.Sender.PID || o.Sender.CommString() != "pkill":
				return "original is not pkill " + o.Sender.CommString()
			case o.Code != signals.SIUser:
				return "original code " + signals.CodeName(1, o.Code) + ", want SI_USER"
			case len(o.Sender.Ancestry) == 0 || commOf(o.Sender.Ancestry[0]) != "nightlyjob":
				return "original's ancestry does not start with nightlyjob"
			case !slices.Contains(o.Sender.ArgvStrings(), name):
				return "original's argv lacks " + name
			}
			return ""
		}
		checkReraises(t, col, c.pid(), syscall.SIGHUP, signals.SITKill, isPkill)
		checkExitVia(t, col, c.pid(), syscall.SIGHUP, isPkill)
	})

	t.Run("C style: handler, SIG_DFL, kill(getpid())", func(t *testing.T) {
		c := spawn(t, "reraise-term")
		must(t, syscall.Kill(c.pid(), syscall.SIGTERM))
		if sig := killedBy(c.reap(t, waitTimeout())); sig != syscall.SIGTERM {
			t.Fatalf("ended by %v, want SIGTERM", sig)
		}
		self := uint32(os.Getpid())
		isTest := func(o *Original) string {
			if o.KernelSender || o.Sender.PID != self || o.Code != signals.SIUser {
				return "original is not this test's SI_USER kill"
			}
			return ""
		}
		col.waitFor(t, 0, "exit", exitOf(c.pid()))
		barrier(t, col, 0)
		checkReraises(t, col, c.pid(), syscall.SIGTERM, signals.SIUser, isTest)
		if n := len(col.since(0, selfSent(c.pid(), syscall.SIGTERM))); n != 1 {
			t.Errorf("%d SIGTERMs to itself, want the one kill(getpid())", n)
		}
		checkExitVia(t, col, c.pid(), syscall.SIGTERM, isTest)
	})

	t.Run("kernel original: SIGALRM from setitimer, caught and re-raised", func(t *testing.T) {
		c := spawn(t, "reraise-alarm")
		if sig := killedBy(c.reap(t, waitTimeout())); sig != syscall.SIGALRM {
			t.Fatalf("ended by %v, want SIGALRM", sig)
		}
		isTimer := func(o *Original) string {
			if !o.KernelSender || o.KernelReason != "timer expired (alarm/setitimer)" || o.Code != signals.SIKernel {
				return "original is not the kernel's timer: kernel " + map[bool]string{true: "yes", false: "no"}[o.KernelSender] + ", reason " + o.KernelReason
			}
			return ""
		}
		col.waitFor(t, 0, "exit", exitOf(c.pid()))
		barrier(t, col, 0)
		checkReraises(t, col, c.pid(), syscall.SIGALRM, signals.SIUser, isTimer)
		checkExitVia(t, col, c.pid(), syscall.SIGALRM, isTimer)
	})

	t.Run("not a re-raise: a signal to itself that nobody sent before", func(t *testing.T) {
		c := spawn(t, "selfsend")
		if sig := killedBy(c.reap(t, waitTimeout())); sig != syscall.SIGUSR2 {
			t.Fatalf("ended by %v, want SIGUSR2", sig)
		}
		col.waitFor(t, 0, "exit", exitOf(c.pid()))
		barrier(t, col, 0)
		for _, sig := range []syscall.Signal{syscall.SIGUSR1, syscall.SIGUSR2} {
			got := col.since(0, selfSent(c.pid(), sig))
			if len(got) != 1 {
				t.Fatalf("%d %ss to itself, want 1", len(got), signals.Name(int(sig)))
			}
			if got[0].Generate.ReraiseOf != nil {
				t.Errorf("%s to itself called a re-raise of one from pid %d", signals.Name(int(sig)), got[0].Generate.ReraiseOf.Sender.PID)
			}
		}
		exits := col.since(0, exitOf(c.pid()))
		if len(exits) != 1 {
			t.Fatalf("%d exits, want 1", len(exits))
		}
		if ev := exits[0]; !ev.Exit.KillerKnown || ev.Exit.Killer.Sender.PID != uint32(c.pid()) || ev.Exit.KillerVia != KillerDirect {
			t.Errorf("exit killer known %v pid %d via %s; want the process itself (%d), direct", ev.Exit.KillerKnown, ev.Exit.Killer.Sender.PID, ev.Exit.KillerVia, c.pid())
		}
	})
}

// TestReraiseOriginalFilteredOut: when the kernel filters out the
// original (here --sender-pid of the re-raising process only), the join
// cannot be made and the process is named, as before, not guessed at.
func TestReraiseOriginalFilteredOut(t *testing.T) {
	requirePrivileged(t)
	c := spawn(t, "reraise-term")
	_, col := startTracer(t, Options{
		SenderPIDs: []uint32{uint32(c.pid()), uint32(os.Getpid())},
		Signals:    []int{int(syscall.SIGTERM), int(syscall.SIGWINCH)},
	})
	// A child sends the original: the filter lets through only what
	// the helper and this test process send.
	sender := exec.Command(selfExe(t))
	sender.Env = append(os.Environ(), helperEnv+"=kill-term", "SIGTRACE_KILL_TARGET="+strconv.Itoa(c.pid()))
	if out, err := sender.CombinedOutput(); err != nil {
		t.Fatalf("sender: %v: %s", err, out)
	}
	if sig := killedBy(c.reap(t, waitTimeout())); sig != syscall.SIGTERM {
		t.Fatalf("ended by %v, want SIGTERM", sig)
	}
	col.waitFor(t, 0, "exit", exitOf(c.pid()))
	barrier(t, col, 0)
	if got := col.since(0, func(e *Event) bool {
		return genTo(c.pid(), syscall.SIGTERM)(e) && e.Generate.Sender.PID != uint32(c.pid())
	}); len(got) != 0 {
		t.Fatal("the original arrived through the filter; the test proves nothing")
	}
	re := col.since(0, selfSent(c.pid(), syscall.SIGTERM))
	if len(re) != 1 || re[0].Generate.ReraiseOf != nil {
		t.Errorf("%d self-sent SIGTERMs (want 1), naming an original: %v", len(re), len(re) == 1 && re[0].Generate.ReraiseOf != nil)
	}
	exits := col.since(0, exitOf(c.pid()))
	if len(exits) != 1 {
		t.Fatalf("%d exits, want 1", len(exits))
	}
	if ev := exits[0]; ev.Exit.Killer.Sender.PID != uint32(c.pid()) || ev.Exit.KillerVia != KillerDirect {
		t.Errorf("exit killer %d via %s, want the process itself (%d), direct", ev.Exit.Killer.Sender.PID, ev.Exit.KillerVia, c.pid())
	}
}

package tracer

// A Go program always has a handler for SIGHUP, yet dies of it unless it
// called signal.Notify: the generate event must say so when sent, not
// only the death after it.

import (
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/goruntime"
	"github.com/sigtrace/sigtrace/internal/elftest"
	"github.com/sigtrace/sigtrace/signals"
)

// TestGoRuntimeRunningBeforeTracing: a Go daemon that was running when
// tracing started is judged on its first signal, though it is gone by the
// time the reader sees it: its mask was read at start.
func TestGoRuntimeRunningBeforeTracing(t *testing.T) {
	requirePrivileged(t)
	exe, err := elftest.SelfWithSymbols(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := spawn(t, "daemon", withPath(exe))
	tr, col := startTracer(t, Options{Signals: []int{int(syscall.SIGHUP)}})
	select {
	case <-tr.gom.scanned:
	case <-time.After(waitTimeout()):
		t.Fatal("the scan of running processes did not end")
	}
	must(t, syscall.Kill(c.pid(), syscall.SIGHUP))
	if got := killedBy(c.reap(t, waitTimeout())); got != syscall.SIGHUP {
		t.Fatalf("ended by %v, want SIGHUP", got)
	}
	ev, _ := col.waitFor(t, 0, "SIGHUP", genTo(c.pid(), syscall.SIGHUP))
	if !ev.Generate.Go.Met || ev.Generate.Go.Action != goruntime.Exit || ev.Generate.Go.Notified || !ev.Generate.Go.MaskKnown || !ev.Generate.Fatal {
		t.Errorf("go runtime %+v fatal %v, want the runtime's exit, fatal", ev.Generate.Go, ev.Generate.Fatal)
	}
}

func TestGoRuntimeAtTraceTime(t *testing.T) {
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGHUP), int(syscall.SIGUSR1), int(syscall.SIGWINCH)}})
	// The notify mask is read through the executable's symbol table.
	exe, err := elftest.SelfWithSymbols(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		env      []string
		sig      syscall.Signal
		action   goruntime.Action
		notified bool
		verdict  VerdictKind
		dies     bool
	}{
		{"SIGHUP without signal.Notify: the runtime re-raises it", nil, syscall.SIGHUP, goruntime.Exit, false, VerdictFatal, true},
		{"SIGHUP with signal.Notify", []string{"SIGTRACE_HANDLE=" + sigList(syscall.SIGHUP)}, syscall.SIGHUP, goruntime.Exit, true, VerdictHandled, false},
		{"SIGUSR1 without signal.Notify: dropped", nil, syscall.SIGUSR1, goruntime.Discard, false, VerdictHandled, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from := col.len()
			c := spawn(t, "daemon", withEnv(tc.env...), withPath(exe))
			// A signal it survives first, as a daemon gets before its
			// fatal one: a re-raising Go program is gone before the
			// reader could look at it, so what counts is what was learnt
			// of it earlier.
			must(t, syscall.Kill(c.pid(), syscall.SIGWINCH))
			col.waitFor(t, from, "SIGWINCH", genTo(c.pid(), syscall.SIGWINCH))
			must(t, syscall.Kill(c.pid(), tc.sig))
			ev, _ := col.waitFor(t, from, "the signal", genTo(c.pid(), tc.sig))
			if !ev.Generate.Go.Met || ev.Generate.Go.Action != tc.action || ev.Generate.Go.Notified != tc.notified || !ev.Generate.Go.MaskKnown {
				t.Errorf("go runtime %+v, want met, action %v, notified %v, mask known", ev.Generate.Go, tc.action, tc.notified)
			}
			if ev.Generate.Kind != tc.verdict || ev.Generate.Fatal != tc.dies {
				t.Errorf("verdict %v fatal %v, want %v fatal %v", ev.Generate.Kind, ev.Generate.Fatal, tc.verdict, tc.dies)
			}
			// What the kernel then does agrees.
			if tc.dies {
				if got := killedBy(c.reap(t, waitTimeout())); got != tc.sig {
					t.Errorf("ended by %v, want %v", got, tc.sig)
				}
			} else if !c.alive(t) {
				t.Errorf("died of %v, which the verdict said it survives", tc.sig)
			}
		})
	}
}

// TestGoMarkRules: which generate events the Go runtime's rules apply to,
// from a cache filled as the reader would have filled it.
func TestGoMarkRules(t *testing.T) {
	now := time.Now()
	handled := func(f func(*Event)) Event {
		ev := Event{
			Type: TypeGenerate,
			Time: now,
			Sig:  int(syscall.SIGHUP),
			Generate: Generate{
				Setup:   Setup{Disposition: DispHandler},
				Result:  ResultDelivered,
				Verdict: Verdict{Kind: VerdictHandled},
			},
		}
		ev.Generate.Sender.PID, ev.Target.PID = 50, 100
		ev.Generate.DefaultAction = signals.DefaultAction(ev.Sig)
		if f != nil {
			f(&ev)
		}
		return ev
	}
	for _, tc := range []struct {
		name    string
		ev      Event
		proc    goProc
		met     bool
		verdict VerdictKind
	}{
		{"SIGHUP, not asked for: fatal", handled(nil), goProc{isGo: true, maskKnown: true}, true, VerdictFatal},
		{"SIGHUP asked for", handled(nil), goProc{isGo: true, maskKnown: true, wanted: signals.Set(0).With(1)}, true, VerdictHandled},
		{"mask unreadable: the handler's verdict stands", handled(nil), goProc{isGo: true}, true, VerdictHandled},
		{"SIGUSR1 is dropped, not fatal", handled(func(e *Event) { e.Sig = 10 }), goProc{isGo: true, maskKnown: true}, true, VerdictHandled},
		{"SIGQUIT: exits 2", handled(func(e *Event) { e.Sig = 3; e.Generate.DefaultAction = signals.DefaultAction(3) }), goProc{isGo: true, maskKnown: true}, true, VerdictFatal},
		{"not a Go program", handled(nil), goProc{maskKnown: true}, false, VerdictHandled},
		{"sent to itself (a re-raise)", handled(func(e *Event) { e.Generate.Sender.PID = 100 }), goProc{isGo: true, maskKnown: true}, false, VerdictHandled},
		{"from the kernel", handled(func(e *Event) { e.Generate.KernelSender = true; e.Generate.Sender.PID = 0 }), goProc{isGo: true, maskKnown: true}, false, VerdictHandled},
		{"blocked", handled(func(e *Event) { e.Generate.Blocked = true; e.Generate.Kind = VerdictBlocked }), goProc{isGo: true, maskKnown: true}, false, VerdictBlocked},
		{"target already exiting", handled(func(e *Event) { e.Generate.TargetExiting = true; e.Generate.Kind = VerdictIgnored }), goProc{isGo: true, maskKnown: true}, false, VerdictIgnored},
		{"merged", handled(func(e *Event) { e.Generate.Result = ResultAlreadyPending; e.Generate.Kind = VerdictMerged }), goProc{isGo: true, maskKnown: true}, false, VerdictMerged},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newGoMarker()
			p := tc.proc
			p.checked = now
			m.procs[100] = &p
			ev := tc.ev
			m.mark(&ev)
			if ev.Generate.Go.Met != tc.met || ev.Generate.Kind != tc.verdict {
				t.Errorf("met %v verdict %v, want met %v verdict %v", ev.Generate.Go.Met, ev.Generate.Kind, tc.met, tc.verdict)
			}
			if ev.Generate.Fatal != (tc.verdict == VerdictFatal) {
				t.Errorf("fatal %v with verdict %v", ev.Generate.Fatal, ev.Generate.Kind)
			}
		})
	}
}

func init() {
	// latenotify: a Go daemon that calls signal.Notify(SIGHUP) only when
	// told (a byte on stdin), then echoes the byte, as a daemon that asks
	// for its signals once it has read its configuration.
	moreHelpers["latenotify"] = func() int {
		ready()
		var b [1]byte
		if _, err := os.Stdin.Read(b[:]); err != nil {
			return 0
		}
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		_, _ = os.Stdout.Write(b[:])
		go func() {
			for range c {
			}
		}()
		return echo()
	}
}

// TestGoRuntimeLateNotify: the notify mask was read (by the scan at start,
// and at an earlier signal) before the daemon asked for SIGHUP; its SIGHUP
// is handled, not fatal: a mask read before the signal was sent that would
// make it fatal is read again.
func TestGoRuntimeLateNotify(t *testing.T) {
	requirePrivileged(t)
	exe, err := elftest.SelfWithSymbols(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := spawn(t, "latenotify", withPath(exe))
	tr, col := startTracer(t, Options{Signals: []int{int(syscall.SIGHUP), int(syscall.SIGWINCH)}})
	select {
	case <-tr.gom.scanned:
	case <-time.After(waitTimeout()):
		t.Fatal("the scan of running processes did not end")
	}
	must(t, syscall.Kill(c.pid(), syscall.SIGWINCH))
	col.waitFor(t, 0, "SIGWINCH", genTo(c.pid(), syscall.SIGWINCH))
	if _, err := c.stdin.Write([]byte{'n'}); err != nil {
		t.Fatal(err)
	}
	if b, err := c.stdout.ReadByte(); err != nil || b != 'n' {
		t.Fatalf("the daemon did not say it asked for SIGHUP: %q %v", b, err)
	}
	time.Sleep(2 * goRecheck) // past the bound on re-reads, which this test is not about
	must(t, syscall.Kill(c.pid(), syscall.SIGHUP))
	ev, _ := col.waitFor(t, 0, "SIGHUP", genTo(c.pid(), syscall.SIGHUP))
	if !ev.Generate.Go.Met || !ev.Generate.Go.Notified || !ev.Generate.Go.MaskKnown || ev.Generate.Fatal || ev.Generate.Kind != VerdictHandled {
		t.Errorf("go runtime %+v, verdict %v fatal %v: want notified, handled", ev.Generate.Go, ev.Generate.Kind, ev.Generate.Fatal)
	}
	if !c.alive(t) {
		t.Error("the daemon died of a SIGHUP it asked for")
	}
}

// TestGoMarkRereads: a cached mask read before the signal was sent is read
// again only when it would make the signal fatal, and at most every
// goRecheck: a storm of signals the runtime drops (SIGUSR1 to a Go
// program without signal.Notify, as in make bench's ping-pong) must not
// read /proc once per signal.
func TestGoMarkRereads(t *testing.T) {
	checked := time.Now().Add(-10 * goRecheck) // re-reads allowed now
	for _, tc := range []struct {
		name  string
		sig   syscall.Signal
		after time.Duration // when the signals are sent, after the mask was read
		reads int
	}{
		{"SIGUSR1, dropped by the runtime: never", syscall.SIGUSR1, time.Millisecond, 0},
		{"SIGHUP sent after the read: again", syscall.SIGHUP, time.Millisecond, 1},
		{"SIGHUP sent before the read: no", syscall.SIGHUP, -time.Millisecond, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newGoMarker()
			m.procRoot = t.TempDir() // the process is gone: what was known stands
			m.procs[100] = &goProc{isGo: true, maskKnown: true, checked: checked}
			for i := 0; i < 100; i++ {
				ev := Event{
					Type: TypeGenerate,
					Time: checked.Add(tc.after),
					Sig:  int(tc.sig),
					Generate: Generate{
						Setup:   Setup{Disposition: DispHandler, DefaultAction: signals.DefaultAction(int(tc.sig))},
						Result:  ResultDelivered,
						Verdict: Verdict{Kind: VerdictHandled},
					},
				}
				ev.Generate.Sender.PID, ev.Target.PID = 50, 100
				m.mark(&ev)
			}
			if m.reads > tc.reads {
				t.Errorf("%d reads of /proc for 100 signals, want at most %d", m.reads, tc.reads)
			}
			if tc.reads > 0 && m.reads == 0 {
				t.Error("a mask read before the signal was not read again")
			}
		})
	}
}

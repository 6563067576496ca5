package tracer

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Issue 21, item 8: an unprivileged process flooding the machine with
// signals it ignores, behind a reader that has stalled, must not hide the
// kill of another process. The ring keeps room for vital records.

func init() {
	// selfstorm: SIGUSR1 ignored, then kill(getpid(), SIGUSR1) in a
	// tight loop until stdin closes.
	moreHelpers["selfstorm"] = func() int {
		helperMust(rawSigaction(int(syscall.SIGUSR1), 1))
		runtime.LockOSThread()
		stop := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(stop)
		}()
		ready()
		pid := os.Getpid()
		for {
			select {
			case <-stop:
				return 0
			default:
			}
			for i := 0; i < 1000; i++ {
				_ = syscall.Kill(pid, syscall.SIGUSR1)
			}
		}
	}
	// killloop: starts a child (this binary, blocked reading a pipe) and
	// SIGKILLs it, again and again until stdin closes: every round is a
	// death, so every round makes vital records.
	moreHelpers["killloop"] = func() int {
		exe, err := os.Executable()
		helperMust(err)
		stop := make(chan struct{})
		go func() {
			_, _ = io.Copy(io.Discard, os.Stdin)
			close(stop)
		}()
		ready()
		for {
			select {
			case <-stop:
				return 0
			default:
			}
			r, w, err := os.Pipe()
			helperMust(err)
			pid, err := syscall.ForkExec(exe, []string{exe}, &syscall.ProcAttr{
				Env:   []string{helperEnv + "=block"},
				Files: []uintptr{r.Fd(), 2, 2},
			})
			helperMust(err)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, 0, nil)
			r.Close()
			w.Close()
		}
	}
	moreHelpers["block"] = func() int {
		_, _ = io.Copy(io.Discard, os.Stdin)
		return 0
	}
}

// nobodyExe copies this test binary where uid 65534 may run it (the build
// directory is root's alone).
func nobodyExe(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "sigtrace-nobody")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.Chmod(dir, 0o755))
	data, err := os.ReadFile(selfExe(t))
	must(t, err)
	exe := filepath.Join(dir, "tracer.test")
	must(t, os.WriteFile(exe, data, 0o755))
	return exe
}

func asNobody(t *testing.T) []spawnOpt {
	return []spawnOpt{withPath(nobodyExe(t)), withSysProcAttr(&syscall.SysProcAttr{
		Credential: &syscall.Credential{Uid: 65534, Gid: 65534},
	})}
}

// stalledReader runs the tracer with a handler that blocks on the first
// event until released, as a reader behind a slow pipe does, and keeps
// every event after that.
type stalledReader struct {
	release chan struct{}
	col     *collector
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
}

func startStalled(t testing.TB, tr *Tracer) *stalledReader {
	s := &stalledReader{release: make(chan struct{}), col: &collector{changed: make(chan struct{})}, done: make(chan error, 1)}
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	first := true
	go func() {
		s.done <- tr.Run(ctx, func(ev *Event) error {
			if first {
				first = false
				<-s.release
			}
			return s.col.add(ev)
		}, nil)
	}()
	t.Cleanup(func() {
		s.unblock()
		cancel()
		if err := <-s.done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return s
}

func (s *stalledReader) unblock() { s.once.Do(func() { close(s.release) }) }

// waitStats polls the kernel's counters (bounded) until cond holds.
func waitStats(t *testing.T, tr *Tracer, what string, cond func(Stats) bool) Stats {
	t.Helper()
	deadline := time.Now().Add(waitTimeout())
	for {
		st, err := tr.Stats()
		must(t, err)
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (stats %+v)", what, waitTimeout(), st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// drained sends sig (one that does nothing to this process: SIGCONT,
// SIGWINCH) to this process until its event is read: the ring is FIFO,
// so everything before it has been read too. Retried, because the first
// ones may meet a ring that is still full.
func drained(t *testing.T, col *collector, sig syscall.Signal) {
	t.Helper()
	self := uint32(os.Getpid())
	for i := 0; ; i++ {
		from := col.len()
		must(t, syscall.Kill(os.Getpid(), sig))
		deadline := time.After(200 * time.Millisecond)
		for {
			if len(col.since(from, func(e *Event) bool {
				return e.Type == TypeGenerate && e.Sig == int(sig) && e.Target.PID == self
			})) > 0 {
				return
			}
			col.mu.Lock()
			ch := col.changed
			col.mu.Unlock()
			select {
			case <-ch:
				continue
			case <-deadline:
			}
			break
		}
		if time.Duration(i)*200*time.Millisecond > waitTimeout() {
			t.Fatal("the reader never caught up with the ring")
		}
	}
}

func TestDeathSurvivesFlood(t *testing.T) {
	requirePrivileged(t)
	for _, tc := range []struct {
		name     string
		reserve  int
		killLoop bool // nobody also kills its own processes in a loop
		wantSeen bool
	}{
		{"reserve", 0, false, true},
		{"no reserve", -1, false, false},
		{"reserve, nobody killing its own", 0, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			victim := spawn(t, "exec")
			// The flood (and the loop) first, so that the kernel's pid
			// filter can keep to this test's processes: other tests run
			// at once, and their deaths would use uid 0's share.
			storm := spawn(t, "selfstorm", asNobody(t)...)
			pids := []uint32{uint32(victim.pid()), uint32(storm.pid()), uint32(os.Getpid())}
			var loop *child
			if tc.killLoop {
				loop = spawn(t, "killloop", asNobody(t)...)
				pids = append(pids, uint32(loop.pid())) // its children's deaths name it as the killer
			}
			tr, err := New(Options{
				Signals:  []int{int(syscall.SIGUSR1), int(syscall.SIGTERM), int(syscall.SIGKILL), int(syscall.SIGWINCH), int(syscall.SIGCONT)},
				AnyPIDs:  pids,
				RingSize: 256 << 10,
				Reserve:  tc.reserve,
				Debug:    true,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { tr.Close() }) // after the reader's cleanup (LIFO)
			rd := startStalled(t, tr)
			// The reader takes the first record and stalls on it.
			must(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))

			if tc.reserve < 0 {
				waitStats(t, tr, "ring full", func(s Stats) bool { return s.Lost > 0 })
			} else {
				waitStats(t, tr, "ring into its reserve", func(s Stats) bool { return s.Shed > 0 })
			}
			if loop != nil {
				waitStats(t, tr, "nobody's share of the reserve used up", func(s Stats) bool { return s.ShedVital > 0 })
				defer loop.wait(t)
			}

			must(t, syscall.Kill(victim.pid(), syscall.SIGTERM))
			if sig := killedBy(victim.reap(t, waitTimeout())); sig != syscall.SIGTERM {
				t.Fatalf("victim ended by %v, want SIGTERM", sig)
			}
			storm.wait(t)
			st, err := tr.Stats()
			must(t, err)
			rd.unblock()
			drained(t, rd.col, syscall.SIGCONT) // the stall was on a SIGWINCH

			vpid := uint32(victim.pid())
			gen := rd.col.since(0, func(e *Event) bool { return genTo(victim.pid(), syscall.SIGTERM)(e) })
			del := rd.col.since(0, func(e *Event) bool { return e.Type == TypeDeliver && e.Target.PID == vpid })
			exit := rd.col.since(0, func(e *Event) bool { return e.Type == TypeExit && e.Target.PID == vpid })
			var lost, shed uint64
			for _, e := range rd.col.since(0, func(e *Event) bool { return e.Type == TypeLost }) {
				lost += e.Lost.Count
				shed += e.Lost.Shed
			}
			t.Logf("stats %+v; generate %d, deliver %d, exit %d; lost events say %d (%d shed)", st, len(gen), len(del), len(exit), lost, shed)
			if lost < st.Dropped() {
				t.Errorf("lost events say %d, the kernel dropped %d", lost, st.Dropped())
			}
			if !tc.wantSeen {
				// Without the reserve the kill is lost in the flood: what
				// the reserve is for.
				if len(exit) != 0 || st.Lost == 0 || st.Shed != 0 {
					t.Errorf("without a reserve: want the exit lost with the flood (exit %d, stats %+v)", len(exit), st)
				}
				return
			}
			if len(gen) != 1 || gen[0].Generate.Sender.PID != uint32(os.Getpid()) {
				t.Errorf("want the one SIGTERM from this test to the victim, got %d", len(gen))
			}
			if len(del) == 0 {
				t.Error("no delivery to the victim")
			}
			if len(exit) != 1 {
				t.Fatalf("want one exit of the victim, got %d", len(exit))
			}
			if e := exit[0]; e.Sig != int(syscall.SIGTERM) || !e.Exit.KillerKnown || e.Exit.Killer.Sender.PID != uint32(os.Getpid()) {
				t.Errorf("exit: signal %d, killer known %v (pid %d), want SIGTERM from %d", e.Sig, e.Exit.KillerKnown, e.Exit.Killer.Sender.PID, os.Getpid())
			}
			if shed == 0 {
				t.Error("no record was shed: the flood never reached the reserve")
			}
		})
	}
}

func init() {
	// execonbyte: the Go runtime's handlers (SIGUSR1's among them), then,
	// on a byte from stdin, exec cat(1): the exec resets them to default.
	moreHelpers["execonbyte"] = func() int {
		ready()
		var b [1]byte
		if _, err := os.Stdin.Read(b[:]); err != nil {
			return 1
		}
		cat, err := exec.LookPath("cat")
		helperMust(err)
		helperMust(syscall.Exec(cat, []string{"cat"}, os.Environ()))
		return 1
	}
}

// A disposition change is never summarised: nobody's flood of ignored
// signals behind a stalled reader must not push out the record of a
// process losing its handlers (here at exec, seen on every kernel).
func TestDispositionSurvivesFlood(t *testing.T) {
	requirePrivileged(t)
	victim := spawn(t, "execonbyte")
	storm := spawn(t, "selfstorm", asNobody(t)...)
	tr, err := New(Options{
		Signals:   []int{int(syscall.SIGUSR1), int(syscall.SIGWINCH), int(syscall.SIGCONT)},
		AnyPIDs:   []uint32{uint32(victim.pid()), uint32(storm.pid()), uint32(os.Getpid())},
		RingSize:  256 << 10,
		History:   HistoryFatal,
		NoDeliver: true,
		Debug:     true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	rd := startStalled(t, tr)
	must(t, syscall.Kill(os.Getpid(), syscall.SIGWINCH))
	waitStats(t, tr, "ring into its reserve", func(s Stats) bool { return s.Shed > 0 })

	if _, err := victim.stdin.Write([]byte{'x'}); err != nil {
		t.Fatal(err)
	}
	if !victim.alive(t) { // cat echoes: the exec is done
		t.Fatal("the victim died at its exec")
	}
	storm.wait(t)
	rd.unblock()
	drained(t, rd.col, syscall.SIGCONT)
	got := rd.col.since(0, func(e *Event) bool {
		return e.Type == TypeDisposition && e.Target.PID == uint32(victim.pid()) && e.Sig == int(syscall.SIGUSR1) &&
			e.Disposition.Cause == CauseExec && e.Disposition.Fatal
	})
	if st, err := tr.Stats(); err == nil {
		t.Logf("stats %+v; SIGUSR1 reset at exec: %d", st, len(got))
	}
	if len(got) != 1 {
		t.Fatalf("want the exec's reset of SIGUSR1's handler, once, got %d", len(got))
	}
}

package tracer

import (
	"context"
	"os"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

func (f *sleepFlag) load() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.p == nil {
		return 0
	}
	return atomic.LoadUint32(f.p)
}

// waitFor checks cond until it holds or the test's wait timeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout())
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// startIgnTarget starts a process that ignores SIGUSR1 in the kernel (so
// each kill is one generate event) and a tracer that sees only those.
func startIgnTarget(t *testing.T, opts Options) (*child, *Tracer) {
	target := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
	opts.Signals = []int{int(syscall.SIGUSR1)}
	opts.TargetPIDs = []uint32{uint32(target.pid())}
	opts.NoDeliver = true
	tr, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return target, tr
}

// An idle reader waits with no deadline (no timer wake-ups), having said
// so through the mmapped flag: the next record must wake it, and a stop
// must end the wait.
func TestIdleReaderWokenByNextRecord(t *testing.T) {
	requirePrivileged(t)
	target, tr := startIgnTarget(t, Options{Poll: 20 * time.Millisecond})
	if tr.sleep == nil {
		t.Fatal("reader_state could not be mapped: the reader would poll forever")
	}
	events := make(chan EventType, 16)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *Event) error {
			events <- ev.Type
			return nil
		}, nil)
	}()

	for round := range 3 {
		waitFor(t, "the reader to go idle", func() bool { return tr.sleep.load() == 1 })
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
		select {
		case typ := <-events:
			if typ != TypeGenerate {
				t.Fatalf("round %d: got a %v event, want generate", round, typ)
			}
		case <-time.After(waitTimeout()):
			t.Fatalf("round %d: the record did not wake the idle reader", round)
		}
	}

	waitFor(t, "the reader to go idle", func() bool { return tr.sleep.load() == 1 })
	cancel()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(waitTimeout()):
		t.Fatal("a stop did not end the idle reader's wait")
	}
	if v := tr.sleep.load(); v != 0 {
		t.Errorf("reader_state left at %d after Run", v)
	}
}

// A wake-up can still be missed: the program looks at the flag before
// its record is in the ring, and a reader that set the flag in between
// finds no record and sleeps. Played here by clearing the flag behind the
// idle reader's back (the program then sees a busy reader and wakes no
// one): the record must still be read, within maxIdle, not at the next
// record, which may never come.
func TestIdleReaderMissedWakeupBounded(t *testing.T) {
	requirePrivileged(t)
	target, tr := startIgnTarget(t, Options{Poll: 20 * time.Millisecond})
	if tr.sleep == nil {
		t.Fatal("reader_state could not be mapped")
	}
	events := make(chan time.Time, 16)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = tr.Run(ctx, func(ev *Event) error {
			if ev.Type == TypeGenerate {
				events <- time.Now()
			}
			return nil
		}, nil)
	}()
	for round := range 1 {
		waitFor(t, "the reader to go idle", func() bool { return tr.sleep.load() == 1 })
		tr.sleep.clear()
		sent := time.Now()
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
		select {
		case got := <-events:
			t.Logf("round %d: read %v after the unannounced record", round, got.Sub(sent).Round(time.Millisecond))
		case <-time.After(maxIdle + waitTimeout()):
			t.Fatalf("round %d: a record whose wake-up was missed was not read within %v", round, maxIdle+waitTimeout())
		}
	}
}

// A busy reader is not woken per record, only when a burst takes the
// unread data past the mark: with a poll deadline that never comes, the
// burst alone must get records to it. Stopped mid-burst, it must drain
// everything: received equals sent, exactly.
func TestBurstWakesBusyReader(t *testing.T) {
	requirePrivileged(t)
	target, tr := startIgnTarget(t, Options{Poll: time.Hour, WakeupBytes: 4096, RingSize: 1 << 20})
	var received atomic.Int64
	first := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- tr.Run(ctx, func(ev *Event) error {
			if ev.Type == TypeGenerate && received.Add(1) == 1 {
				close(first)
			}
			return nil
		}, nil)
	}()

	sent := 0
	deadline := time.Now().Add(waitTimeout())
	woken := false
	for !woken {
		// ~32 records of 128 bytes pass the 4 KiB mark.
		for range 64 {
			must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
			sent++
		}
		select {
		case <-first:
			woken = true
		case <-time.After(20 * time.Millisecond):
			if time.Now().After(deadline) {
				t.Fatalf("%d records past the wake-up mark did not wake the reader", sent)
			}
		}
	}
	for range 100 {
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
		sent++
	}
	cancel()
	must(t, <-done)
	st, err := tr.Stats()
	must(t, err)
	if st.Lost != 0 {
		t.Fatalf("%d lost in a 1 MiB ring", st.Lost)
	}
	if got := received.Load(); got != int64(sent) {
		t.Errorf("received %d of %d records sent before the stop", got, sent)
	}
}

// A sender's ancestry and argv are copied into the ring once per CPU and
// sender slot, then referred to (F_DETAIL_SAME): every event of a sender
// signalling over and over must still carry them, and most must share the
// first copy.
func TestRepeatedSenderKeepsDetail(t *testing.T) {
	const sends = 200
	target := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
	_, col := startTracer(t, Options{Signals: []int{int(syscall.SIGUSR1)}, TargetPIDs: []uint32{uint32(target.pid())}, NoDeliver: true})
	for range sends {
		must(t, syscall.Kill(target.pid(), syscall.SIGUSR1))
	}
	col.waitFor(t, 0, "last of the storm", func(*Event) bool { return col.lenLocked() >= sends })
	cmdline, err := os.ReadFile("/proc/self/cmdline")
	must(t, err)
	wantArgv := string(cmdline[:min(len(cmdline), 256)])
	ids := map[uint64]bool{}
	for i, ev := range col.since(0, func(*Event) bool { return true }) {
		if got := string(ev.Generate.Sender.Argv); got != wantArgv {
			t.Fatalf("event %d: argv %q, want %q", i, got, wantArgv)
		}
		if len(ev.Generate.Sender.Ancestry) == 0 || ev.Generate.Sender.Ancestry[0].PID != uint32(os.Getppid()) {
			t.Fatalf("event %d: ancestry %v, want it to start with our parent %d", i, ev.Generate.Sender.Ancestry, os.Getppid())
		}
		ids[ev.Generate.DetailID] = true
	}
	// One copy per CPU we ran on, and one more per second (detail_ttl_ns).
	if len(ids) > sends/4 {
		t.Errorf("%d distinct copies of the sender's detail in %d events: the kernel is not referring to earlier ones", len(ids), sends)
	}
}

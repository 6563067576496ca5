package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
)

// TestDrainedStopMidStorm stops a tracer while a storm of kill(2) runs at
// a target, with the reader held back at first so that the ring fills and
// records are lost. Once Run has returned the programs are detached: the
// kernel side's counters no longer move although the storm goes on, and
// the events handed over plus the lost counts reported are exactly the
// records the kernel side made (submitted) or could not make (dropped) of
// the storm's signals while attached.
func TestDrainedStopMidStorm(t *testing.T) {
	requirePrivileged(t)
	target := spawn(t, "exec", withEnv("SIGTRACE_IGN="+sigList(syscall.SIGUSR1)))
	tr, err := New(Options{Signals: []int{int(syscall.SIGUSR1)}, TargetPIDs: []uint32{uint32(target.pid())},
		NoDeliver: true, NoExit: true, RingSize: 64 << 10})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	var received, lost uint64
	release := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	progress := make(chan uint64, 1) // received so far, sent now and then
	go func() {
		first := true
		done <- tr.Run(ctx, func(ev *Event) error {
			switch ev.Type {
			case TypeGenerate:
				if first {
					first = false
					<-release // hold the reader while the ring fills
				}
				received++
				if received%1024 == 0 {
					select {
					case progress <- received:
					default:
					}
				}
			case TypeLost:
				lost += ev.Lost.Count
			default:
				return fmt.Errorf("unexpected %v event", ev.Type)
			}
			return nil
		}, nil)
	}()

	storm := spawn(t, "storm", withEnv("SIGTRACE_STORM_TARGET="+strconv.Itoa(target.pid()), "SIGTRACE_STORM_FOR=60s"))
	// Held back until the kernel has lost records (the ring is full).
	deadline := time.Now().Add(waitTimeout())
	for {
		st, err := tr.Stats()
		must(t, err)
		if st.Dropped() > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the storm filled no ring within %v: %+v", waitTimeout(), st)
		}
		time.Sleep(time.Millisecond) // polling a counter, bounded above
	}
	close(release)
	// The stop lands while the reader is busy with the storm's records.
	select {
	case <-progress:
	case err := <-done:
		t.Fatalf("Run ended before the stop: %v", err)
	case <-time.After(waitTimeout()):
		t.Fatal("the reader read nothing of the storm")
	}
	cancel()
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(waitTimeout()):
		t.Fatal("Run did not return after the stop")
	}
	stopped, err := tr.Stats()
	must(t, err)

	// The storm is still sending: the stop landed in it.
	cpu0 := procCPU(t, storm.pid())
	deadline = time.Now().Add(waitTimeout())
	for procCPU(t, storm.pid()) < cpu0+2 {
		if time.Now().After(deadline) {
			t.Fatal("the storm did not go on after the stop")
		}
		time.Sleep(5 * time.Millisecond)
	}
	after, err := tr.Stats()
	must(t, err)
	if after != stopped {
		t.Errorf("the kernel side still counts after Run returned (not detached): %+v, then %+v", stopped, after)
	}
	if received != stopped.Submitted || lost != stopped.Dropped() {
		t.Errorf("received %d + lost %d; the kernel submitted %d and dropped %d", received, lost, stopped.Submitted, stopped.Dropped())
	}
	if received == 0 || lost == 0 {
		t.Errorf("received %d, lost %d: want both", received, lost)
	}
	t.Logf("stopped mid-storm: %d received + %d lost == %d submitted + %d dropped", received, lost, stopped.Submitted, stopped.Dropped())
}

// procCPU is a process's user+system time in clock ticks (/proc/PID/stat
// fields 14 and 15).
func procCPU(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	must(t, err)
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return ut + st
}

// lifecycleCycles is how many start/stop cycles TestStartStopCycles runs.
const lifecycleCycles = 100

// TestStartStopCycles attaches, runs, stops (drained) and closes a tracer
// lifecycleCycles times in this process, on programs loaded once (the
// verifier's time, a second or more per load, is not what is tested):
// the open file descriptors and the goroutines are those of before.
func TestStartStopCycles(t *testing.T) {
	requirePrivileged(t)
	// A short poll: the first record of a run waits for the first deadline.
	opts := Options{Signals: []int{int(syscall.SIGWINCH)}, AnyPIDs: []uint32{uint32(os.Getpid())}, Poll: 5 * time.Millisecond}
	objs, err := load(&opts)
	if err != nil {
		t.Fatal(err)
	}
	defer objs.Close()
	cycle := func(i int) {
		tr, err := start(objs, &opts, false)
		if err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
		col := &collector{changed: make(chan struct{})}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx, col.add, nil) }()
		barrier(t, col, 0) // Run reads
		cancel()
		must(t, <-done)
		must(t, tr.Close())
	}
	cycle(0) // once, for what the first use sets up for good (the BTF cache)
	fds, gs := openFDs(t), runtime.NumGoroutine()
	for i := 1; i < lifecycleCycles; i++ {
		cycle(i)
	}
	if got := openFDs(t); got != fds {
		t.Errorf("%d open file descriptors after %d cycles, %d before", got, lifecycleCycles-1, fds)
	}
	waitGoroutines(t, gs)
}

// TestCloseLeavesNothing: New and Close, twice, leave no file
// descriptor and no goroutine, and the programs they loaded are gone from
// the kernel; nothing is pinned.
func TestCloseLeavesNothing(t *testing.T) {
	requirePrivileged(t)
	spec, err := loadSigtrace()
	must(t, err)
	for name, m := range spec.Maps {
		if m.Pinning != ebpf.PinNone {
			t.Errorf("map %s is pinned (%v): it would outlive sigtrace", name, m.Pinning)
		}
	}
	fds, gs := openFDs(t), runtime.NumGoroutine()
	var ids []ebpf.ProgramID
	for i := 0; i < 2; i++ {
		tr, err := New(Options{NoDeliver: true, AnyPIDs: []uint32{uint32(os.Getpid())}})
		must(t, err)
		for _, p := range []*ebpf.Program{tr.objs.OnGenerate, tr.objs.OnDeliver, tr.objs.OnExit} {
			info, err := p.Info()
			must(t, err)
			id, ok := info.ID()
			if !ok {
				t.Fatal("this kernel gives programs no id")
			}
			ids = append(ids, id)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- tr.Run(ctx, func(*Event) error { return nil }, nil) }()
		cancel()
		must(t, <-done)
		must(t, tr.Close())
		must(t, tr.Close()) // again: nothing
	}
	if got := openFDs(t); got != fds {
		t.Errorf("%d open file descriptors after 2 tracers, %d before", got, fds)
	}
	waitGoroutines(t, gs)
	// The kernel frees a program after an RCU grace period once its last
	// reference is gone.
	deadline := time.Now().Add(waitTimeout())
	for _, id := range ids {
		for {
			p, err := ebpf.NewProgramFromID(id)
			if errors.Is(err, os.ErrNotExist) {
				break
			}
			if err == nil {
				p.Close()
			}
			if time.Now().After(deadline) {
				t.Fatalf("program %d still loaded %v after Close (%v)", id, waitTimeout(), err)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	must(t, err)
	return len(ents) - 1 // the directory's own, open while it is read
}

// waitGoroutines waits, bounded, for the goroutine count to be back at n:
// the goroutines of the closed tracers may still be on their way out.
func waitGoroutines(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout())
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

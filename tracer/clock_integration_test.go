package tracer

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// clockHelper (SIGTRACE_HELPER=clock) sends itself SIGWINCH (the Go runtime
// drops it) for SIGTRACE_CLOCK_FOR, every 10 ms and now and then after an
// idle pause longer than clockResync, and reads the wall clock right
// before and right after each kill(2). It prints one "before after" line
// (Unix ns) per send at the end, then "done".
func clockHelper() int {
	runtime.LockOSThread() // one sending thread: its records stay in order
	d, err := time.ParseDuration(os.Getenv("SIGTRACE_CLOCK_FOR"))
	helperMust(err)
	ready()
	var out strings.Builder
	pid := os.Getpid()
	for i, end := 0, time.Now().Add(d); time.Now().Before(end); i++ {
		before := time.Now().UnixNano()
		helperMust(syscall.Kill(pid, syscall.SIGWINCH))
		after := time.Now().UnixNano()
		fmt.Fprintf(&out, "%d %d\n", before, after)
		pause := 10 * time.Millisecond
		if i%100 == 99 {
			// Long enough for the reader to go idle and wait with no
			// deadline: the next record wakes it with an old offset.
			pause = clockResync + 300*time.Millisecond
		}
		time.Sleep(pause)
	}
	fmt.Print(out.String())
	fmt.Println("done")
	return 0
}

// TestEventTimesFollowWallClock: over a 30 s trace, the time of every
// event is within 10 ms of the wall clock its sender read around the
// send (issue 16, item 6). On a machine whose clock is not stepped during
// the test this holds with a single measurement too; the steps themselves
// are in TestClockStep and TestDecoderFollowsClock.
func TestEventTimesFollowWallClock(t *testing.T) {
	d := 30 * time.Second
	name := uniqueName("clk")
	_, col := startTracer(t, Options{Comms: []string{name}, NoDeliver: true, NoExit: true})
	h := spawn(t, "clock", withName(t, name), withEnv("SIGTRACE_CLOCK_FOR="+d.String()))

	type window struct{ before, after time.Time }
	var sends []window
	lines := make(chan error, 1)
	go func() {
		for {
			line, err := h.stdout.ReadString('\n')
			if err != nil {
				lines <- fmt.Errorf("helper output ended: %w", err)
				return
			}
			if line == "done\n" {
				lines <- nil
				return
			}
			var b, a int64
			if _, err := fmt.Sscanf(line, "%d %d", &b, &a); err != nil {
				lines <- fmt.Errorf("helper line %q: %w", line, err)
				return
			}
			sends = append(sends, window{time.Unix(0, b), time.Unix(0, a)})
		}
	}()
	select {
	case err := <-lines:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(d + waitTimeout()):
		t.Fatalf("the clock helper did not finish within %v", d+waitTimeout())
	}
	if len(sends) < 100 {
		t.Fatalf("only %d sends in %v", len(sends), d)
	}

	pid := uint32(h.pid())
	mine := func(e *Event) bool {
		return e.Type == TypeGenerate && e.Sig == int(syscall.SIGWINCH) && e.Generate.Sender.PID == pid && e.Target.PID == pid
	}
	const tolerance = 10 * time.Millisecond
	var worst time.Duration
	from := 0
	for i, w := range sends {
		ev, at := col.waitFor(t, from, "SIGWINCH send "+strconv.Itoa(i), mine)
		from = at + 1
		// Distance from the window [before, after]; 0 inside it.
		var off time.Duration
		switch {
		case ev.Time.Before(w.before):
			off = w.before.Sub(ev.Time)
		case ev.Time.After(w.after):
			off = ev.Time.Sub(w.after)
		}
		worst = max(worst, off)
		if off > tolerance {
			t.Errorf("send %d: event time %s, but the sender read %s .. %s (%v outside)", i,
				ev.Time.Format(time.RFC3339Nano), w.before.Format(time.RFC3339Nano), w.after.Format(time.RFC3339Nano), off)
		}
	}
	if n := len(col.since(0, mine)); n != len(sends) {
		t.Errorf("%d events for %d sends", n, len(sends))
	}
	t.Logf("%d sends over %v: every event time within %v of its sender's wall-clock window", len(sends), d, worst)
	h.wait(t)
}

// timensHelper (SIGTRACE_HELPER=timens) runs a tracer inside a time
// namespace whose CLOCK_BOOTTIME is a day ahead of the kernel's, sends
// itself SIGWINCH with the wall clock read around the kill(2), and prints
// "boot-ahead-ns event-ns before-ns after-ns".
func timensHelper() int {
	var boot, mono unix.Timespec
	helperMust(unix.ClockGettime(unix.CLOCK_BOOTTIME, &boot))
	helperMust(unix.ClockGettime(unix.CLOCK_MONOTONIC, &mono))
	tr, err := New(Options{Signals: []int{int(syscall.SIGWINCH)}, NoDeliver: true, NoExit: true})
	helperMust(err)
	defer tr.Close()
	pid := uint32(os.Getpid())
	got := make(chan time.Time, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		_ = tr.Run(ctx, func(ev *Event) error {
			if ev.Type == TypeGenerate && ev.Generate.Sender.PID == pid && ev.Target.PID == pid {
				select {
				case got <- ev.Time:
				default:
				}
			}
			return nil
		}, nil)
	}()
	before := time.Now()
	helperMust(syscall.Kill(int(pid), syscall.SIGWINCH))
	after := time.Now()
	select {
	case at := <-got:
		fmt.Println(boot.Nano()-mono.Nano(), at.UnixNano(), before.UnixNano(), after.UnixNano())
		return 0
	case <-time.After(waitTimeout()):
		fmt.Fprintln(os.Stderr, "timens helper: no event for its SIGWINCH")
		return 1
	}
}

// A time namespace's offsets are set through /proc/PID/timens_offsets,
// which names the thread-group leader: the timens-parent helper unshares
// on the main thread, to which init locks the main goroutine.
func init() {
	if os.Getenv(helperEnv) == "timens-parent" {
		runtime.LockOSThread()
	}
}

// timensParentHelper (SIGTRACE_HELPER=timens-parent) makes the time
// namespace its children enter, a day ahead in CLOCK_BOOTTIME, and runs
// the timens helper in it; it prints what that printed.
func timensParentHelper() int {
	if unix.Gettid() != os.Getpid() {
		fmt.Fprintln(os.Stderr, "timens-parent: not on the main thread")
		return 1
	}
	helperMust(unix.Unshare(unix.CLONE_NEWTIME))
	offs := fmt.Sprintf("boottime %d 0\n", int64(timensAhead/time.Second))
	helperMust(os.WriteFile("/proc/self/timens_offsets", []byte(offs), 0))
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), helperEnv+"=timens")
	cmd.Stderr = os.Stderr
	out, err := cmd.Output() // forked from this thread: in the namespace
	if errors.Is(err, syscall.EINVAL) {
		// Older kernels (Debian's 5.10 and 6.1) refuse CLONE_VM into a
		// new time namespace (kernel/nsproxy.c copy_namespaces()), and
		// Go's os/exec always forks with CLONE_VM|CLONE_VFORK.
		fmt.Println("SKIP")
		return 0
	}
	helperMust(err)
	os.Stdout.Write(out)
	return 0
}

const timensAhead = 24 * time.Hour

// TestEventTimesInTimeNamespace: sigtrace in a time namespace (a
// container's) whose boot clock is a day ahead still stamps events with
// the wall clock: BPF's boot clock ignores the namespace, clock_gettime()
// does not.
func TestEventTimesInTimeNamespace(t *testing.T) {
	requirePrivileged(t)
	cmd := exec.Command(selfExe(t))
	cmd.Env = append(os.Environ(), helperEnv+"=timens-parent")
	cmd.Stderr = os.Stderr
	done := make(chan error, 1)
	var out []byte
	go func() {
		var err error
		out, err = cmd.Output()
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the helpers in a time namespace: %v", err)
		}
	case <-time.After(2 * waitTimeout()):
		_ = cmd.Process.Kill()
		t.Fatal("the helpers in a time namespace did not finish")
	}
	if strings.TrimSpace(string(out)) == "SKIP" {
		t.Skip("this kernel refuses a vfork (CLONE_VM) into a new time namespace, which is how Go starts a process in one")
	}
	var bootAhead, at, before, after int64
	if _, err := fmt.Sscan(string(out), &bootAhead, &at, &before, &after); err != nil {
		t.Fatalf("helper said %q: %v", out, err)
	}
	// The helper's CLOCK_BOOTTIME ran a day ahead of its CLOCK_MONOTONIC
	// (plus whatever this machine slept; less the time between the reads).
	if time.Duration(bootAhead) < timensAhead-time.Millisecond {
		t.Fatalf("in the namespace CLOCK_BOOTTIME - CLOCK_MONOTONIC = %v: the offset did not apply", time.Duration(bootAhead))
	}
	const tolerance = 10 * time.Millisecond
	if time.Duration(before-at) > tolerance || time.Duration(at-after) > tolerance {
		t.Errorf("event time %s, but the sender read %s .. %s (%v before)",
			time.Unix(0, at).Format(time.RFC3339Nano), time.Unix(0, before).Format(time.RFC3339Nano),
			time.Unix(0, after).Format(time.RFC3339Nano), time.Duration(before-at))
	}
}

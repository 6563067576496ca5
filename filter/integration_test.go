package filter

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/tracer"
)

// TestMain lets the test binary be a helper process that lives until its
// stdin closes (FILTER_TEST_HELPER=1).
func TestMain(m *testing.M) {
	if os.Getenv("FILTER_TEST_HELPER") == "1" {
		signal.Ignore(syscall.SIGWINCH)
		fmt.Println("ready")
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	caps, err := tracer.EffectiveCaps()
	if err == nil && tracer.HasBPFCaps(caps) {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("needs root; under CI=true privileged tests may not skip")
	}
	t.Skip("needs root")
}

func startHelper(t *testing.T) int {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return startHelperAs(t, exe, nil)
}

// startHelperAs starts the helper from exe with attr (its credentials),
// or as this process when nil.
func startHelperAs(t *testing.T, exe string, attr *syscall.SysProcAttr) int {
	t.Helper()
	cmd := exec.Command(exe)
	cmd.SysProcAttr = attr
	cmd.Env = append(os.Environ(), "FILTER_TEST_HELPER=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = stdin.Close(); _ = cmd.Wait() })
	buf := make([]byte, 6)
	if _, err := io.ReadFull(out, buf); err != nil || string(buf) != "ready\n" {
		t.Fatalf("helper: %q, %v", buf, err)
	}
	return cmd.Process.Pid
}

// TestPushdownKeepsEventsOutOfTheRing loads the real BPF programs with a
// filter's kernel part: signals to the process the filter does not name
// are dropped in the kernel (Stats.Filtered) and never reach the ring
// (Stats.Submitted stays), while those to the one it names do.
func TestPushdownKeepsEventsOutOfTheRing(t *testing.T) {
	requireRoot(t)
	in, out := startHelper(t), startHelper(t)
	f, err := Compile(fmt.Sprintf(`target.pid == %d && sig == SIGWINCH && sender.uid == 0`, in))
	if err != nil {
		t.Fatal(err)
	}
	opts := tracer.Options{HideSelf: true, RingSize: 1 << 20}
	f.Narrow(&opts)
	if !slices.Equal(opts.TargetPIDs, []uint32{uint32(in)}) || !slices.Equal(opts.Signals, []int{int(syscall.SIGWINCH)}) {
		t.Fatalf("pushed down %+v, want the target pid %d and SIGWINCH", opts, in)
	}
	tr, err := tracer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()

	before, err := tr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for range n {
		if err := syscall.Kill(out, syscall.SIGWINCH); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(100 * time.Millisecond) // the deliveries
	mid, err := tr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if mid.Submitted != before.Submitted {
		t.Errorf("signals to pid %d the filter excludes reached the ring: submitted %d -> %d", out, before.Submitted, mid.Submitted)
	}
	if mid.Filtered-before.Filtered < n {
		t.Errorf("filtered %d -> %d, want at least %d more", before.Filtered, mid.Filtered, n)
	}

	const m = 3
	for range m {
		if err := syscall.Kill(in, syscall.SIGWINCH); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // one delivery each, not merged
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	matched := 0
	err = tr.Run(ctx, func(ev *tracer.Event) error {
		if ev.Type == tracer.TypeLost {
			t.Errorf("lost events: %d", ev.Lost.Count)
			return nil
		}
		if ev.Target.PID != uint32(in) || ev.Sig != int(syscall.SIGWINCH) {
			t.Errorf("the kernel let through %s of %d to %d", ev.Type, ev.Sig, ev.Target.PID)
		}
		if f.Match(ev) {
			matched++
		}
		if matched == m {
			cancel()
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	after, err := tr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if matched != m {
		t.Errorf("the filter matched %d events, want the %d SIGWINCHes sent to %d", matched, m, in)
	}
	if after.Submitted-mid.Submitted < m {
		t.Errorf("submitted %d -> %d, want at least %d more", mid.Submitted, after.Submitted, m)
	}
	t.Logf("excluded: %d signals, filtered %d, submitted %d; included: %d signals, submitted %d",
		n, mid.Filtered-before.Filtered, mid.Submitted-before.Submitted, m, after.Submitted-mid.Submitted)
}

// TestPushdownUIDInTheKernel: a filter on the target's uid is decided in
// the kernel (uid_filter): signals to a root process are filtered before
// they are copied, those to nobody's reach the ring and match.
func TestPushdownUIDInTheKernel(t *testing.T) {
	requireRoot(t)
	// The helper is this test binary: nobody must be able to run it.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "sigtrace-uid-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	copyExe := dir + "/filter.test"
	if b, err := os.ReadFile(exe); err != nil || os.WriteFile(copyExe, b, 0o755) != nil || os.Chmod(dir, 0o755) != nil {
		t.Fatalf("copying the test binary: %v", err)
	}
	root := startHelper(t)
	nobody := startHelperAs(t, copyExe, &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}})
	f, err := Compile(`target.uid == 65534 && sig == SIGWINCH`)
	if err != nil {
		t.Fatal(err)
	}
	opts := tracer.Options{HideSelf: true, RingSize: 1 << 20}
	f.Narrow(&opts)
	if !slices.Equal(opts.TargetUIDs, []uint32{65534}) || len(opts.SenderUIDs) != 0 {
		t.Fatalf("pushed down %+v, want the target uid 65534", opts)
	}
	tr, err := tracer.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	before, err := tr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	const n = 40
	for range n {
		if err := syscall.Kill(root, syscall.SIGWINCH); err != nil {
			t.Fatal(err)
		}
	}
	mid, err := tr.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if mid.Submitted != before.Submitted || mid.Filtered-before.Filtered < n {
		t.Errorf("signals to a root process: submitted %d -> %d, filtered %d -> %d; want none submitted, %d filtered",
			before.Submitted, mid.Submitted, before.Filtered, mid.Filtered, n)
	}
	if err := syscall.Kill(nobody, syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	matched := false
	err = tr.Run(ctx, func(ev *tracer.Event) error {
		if ev.Target.UID != 65534 && ev.Type != tracer.TypeLost {
			t.Errorf("the kernel let through %s to uid %d", ev.Type, ev.Target.UID)
		}
		if f.Match(ev) && ev.Target.PID == uint32(nobody) {
			matched = true
			cancel()
		}
		return nil
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !matched {
		t.Error("the signal to nobody's process did not come through")
	}
}

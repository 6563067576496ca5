package tracer

// Helper processes for the integration tests come from this test binary
// itself (re-executed with SIGTRACE_HELPER set), so the suite runs in a
// small guest kernel with only busybox beside it: no Python, no compiler.
//
// The Go runtime installs a handler for nearly every signal and unblocks
// most of them, so a helper that must have a *kernel-level* default or
// ignored disposition, or a blocked mask, sets it with raw system calls on
// a locked thread and then execs cat(1): exec keeps SIG_IGN and the blocked
// mask, and cat installs no handler. Cat then serves as the liveness probe:
// it echoes a byte for as long as it lives.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

const helperEnv = "SIGTRACE_HELPER"

func TestMain(m *testing.M) {
	if testproc.IsPkill() {
		os.Exit(testproc.Pkill(os.Args[1:]))
	}
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(runHelper(mode))
	}
	os.Exit(m.Run())
}

func rawSigaction(sig int, handler uintptr) error {
	return testproc.SetDisposition(syscall.Signal(sig), handler)
}

func envSignals(name string) []int {
	var out []int
	for _, f := range strings.Split(os.Getenv(name), ",") {
		if f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
		out = append(out, n)
	}
	return out
}

// applyDispositions sets SIGTRACE_DFL (SIG_DFL), SIGTRACE_IGN (SIG_IGN)
// and SIGTRACE_HANDLE (a Go handler) signal lists.
func applyDispositions() {
	for _, s := range envSignals("SIGTRACE_DFL") {
		helperMust(rawSigaction(s, 0))
	}
	for _, s := range envSignals("SIGTRACE_IGN") {
		helperMust(rawSigaction(s, 1))
	}
	if hs := envSignals("SIGTRACE_HANDLE"); len(hs) > 0 {
		ch := make(chan os.Signal, 64)
		for _, s := range hs {
			signal.Notify(ch, syscall.Signal(s))
		}
		go func() {
			for range ch {
			}
		}()
	}
}

func helperMust(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "helper:", err)
		os.Exit(111)
	}
}

func ready(extra ...any) {
	fmt.Println(append([]any{"ready"}, extra...)...)
}

// echo copies stdin to stdout a byte at a time until EOF, so the parent
// can ask "are you still alive?".
func echo() int {
	var b [1]byte
	for {
		if _, err := os.Stdin.Read(b[:]); err != nil {
			return 0
		}
		if _, err := os.Stdout.Write(b[:]); err != nil {
			return 0
		}
	}
}

func runHelper(mode string) int {
	if h, ok := reraiseHelpers[mode]; ok {
		return h()
	}
	switch mode {
	case "clock":
		return clockHelper() // clock_integration_test.go
	case "timens":
		return timensHelper()
	case "timens-parent":
		return timensParentHelper()
	case "daemon":
		applyDispositions()
		ready()
		return echo()
	case "exec":
		// Everything on one locked thread: the mask is per thread and
		// exec keeps the calling thread's.
		runtime.LockOSThread()
		applyDispositions()
		var set unix.Sigset_t
		for _, s := range envSignals("SIGTRACE_BLOCK") {
			set.Val[(s-1)/64] |= 1 << ((s - 1) % 64)
		}
		helperMust(unix.PthreadSigmask(unix.SIG_BLOCK, &set, nil))
		helperMust(unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}))
		cat, err := exec.LookPath("cat")
		helperMust(err)
		ready()
		helperMust(syscall.Exec(cat, []string{"cat"}, os.Environ()))
	case "alarm":
		helperMust(rawSigaction(int(unix.SIGALRM), 0))
		ready()
		it := unix.Itimerval{Value: unix.NsecToTimeval(int64(20 * time.Millisecond))}
		_, err := unix.Setitimer(unix.ItimerReal, it)
		helperMust(err)
		return echo()
	case "segv":
		helperMust(unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}))
		helperMust(rawSigaction(int(unix.SIGSEGV), 0))
		ready()
		var p *int
		return *p // Go's nil check is the hardware fault at address 0
	case "thread":
		// A second thread, locked, reports its tid; SIGUSR1 is handled.
		// The main goroutine was locked to the main thread in init
		// (lockMainForThread), so the goroutine below cannot land there.
		applyDispositions()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		tid := make(chan int)
		go func() {
			runtime.LockOSThread()
			tid <- unix.Gettid()
			select {}
		}()
		ready(<-tid)
		return echo()
	case "reader":
		// One locked thread blocks in read(2) on stdin; SIGUSR1 has a
		// handler, with or without SA_RESTART.
		runtime.LockOSThread()
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGUSR1)
		go func() {
			for range ch {
			}
		}()
		if os.Getenv("SIGTRACE_NORESTART") == "1" {
			helperMust(testproc.ClearRestart(syscall.SIGUSR1))
		}
		ready(unix.Gettid())
		var b [1]byte
		for {
			n, err := unix.Read(0, b[:])
			if err == syscall.EINTR {
				continue
			}
			if err != nil || n == 0 {
				return 0
			}
		}
	case "kill":
		// One SIGWINCH (whose default is to ignore it) to the pid in
		// SIGTRACE_KILL_TARGET, before saying ready.
		target, err := strconv.Atoi(os.Getenv("SIGTRACE_KILL_TARGET"))
		helperMust(err)
		helperMust(syscall.Kill(target, syscall.SIGWINCH))
		ready()
		return echo()
	case "storm":
		// kill(2) in a tight loop at a target that ignores the signal:
		// generation only, the highest rate the kernel allows.
		runtime.LockOSThread()
		target, err := strconv.Atoi(os.Getenv("SIGTRACE_STORM_TARGET"))
		helperMust(err)
		d, err := time.ParseDuration(os.Getenv("SIGTRACE_STORM_FOR"))
		helperMust(err)
		ready()
		n := 0
		for end := time.Now().Add(d); time.Now().Before(end); {
			for i := 0; i < 1000; i++ {
				_ = syscall.Kill(target, syscall.SIGUSR1)
			}
			n += 1000
		}
		fmt.Println(n)
		return 0
	}
	if h, ok := moreHelpers[mode]; ok {
		return h()
	}
	if rc, ok := runLaterHelper(mode); ok {
		return rc
	}
	fmt.Fprintln(os.Stderr, "unknown helper mode", mode)
	return 112
}

// lockMainForThread keeps the "thread" helper's main goroutine on the
// main thread: only in an init function is it still there for sure (the
// runtime runs init on the main thread; by TestMain it may have moved,
// and then the helper's other locked thread could be the main one, as
// the 6.12 guest once saw).
func init() {
	if os.Getenv(helperEnv) == "thread" {
		runtime.LockOSThread()
	}
}

// moreHelpers are helper modes that test files register in init(), next
// to the tests that use them.
var moreHelpers = map[string]func() int{}

// child is a helper process with its stdin and stdout as pipes.
type child struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stdout *bufio.Reader
	fields []string // the words after "ready"
	waited bool
	state  *os.ProcessState
}

type spawnOpt func(*exec.Cmd)

// withName runs the helper through a symlink called name, so its comm
// (the kernel takes it from the exec'd file name) is name.
func withName(t testing.TB, name string) spawnOpt {
	return func(c *exec.Cmd) {
		link := filepath.Join(t.TempDir(), name)
		if err := os.Symlink(selfExe(t), link); err != nil {
			t.Fatal(err)
		}
		c.Path = link
		c.Args[0] = name
	}
}

// withPath runs the helper from another copy of this test binary.
func withPath(exe string) spawnOpt {
	return func(c *exec.Cmd) { c.Path = exe }
}

func withEnv(kv ...string) spawnOpt {
	return func(c *exec.Cmd) { c.Env = append(c.Env, kv...) }
}

func withSysProcAttr(a *syscall.SysProcAttr) spawnOpt {
	return func(c *exec.Cmd) { c.SysProcAttr = a }
}

func selfExe(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// sigList formats signal numbers for the SIGTRACE_* variables.
func sigList(sigs ...syscall.Signal) string {
	var parts []string
	for _, s := range sigs {
		parts = append(parts, strconv.Itoa(int(s)))
	}
	return strings.Join(parts, ",")
}

// spawn starts a helper and waits (bounded) for its "ready" line.
func spawn(t testing.TB, mode string, opts ...spawnOpt) *child {
	t.Helper()
	cmd := exec.Command(selfExe(t))
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	for _, o := range opts {
		o(cmd)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stdin: stdin, stdout: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		if !c.waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := c.stdout.ReadString('\n')
		line <- s
	}()
	select {
	case s := <-line:
		f := strings.Fields(s)
		if len(f) == 0 || f[0] != "ready" {
			t.Fatalf("helper %s: expected a ready line, got %q", mode, s)
		}
		c.fields = f[1:]
	case <-time.After(waitTimeout()):
		t.Fatalf("helper %s did not become ready within %v", mode, waitTimeout())
	}
	// "ready" is printed before the exec; only cat echoes, so one round
	// trip proves the exec is done and the dispositions are cat's.
	if mode == "exec" && !c.alive(t) {
		t.Fatalf("helper %s died before exec", mode)
	}
	return c
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// alive asks the helper to echo a byte: true if it did, false if it died
// (EOF). The kernel marks a fatal signal's group exit inside kill(2), so
// a process killed by an earlier signal cannot answer.
func (c *child) alive(t testing.TB) bool {
	t.Helper()
	if _, err := c.stdin.Write([]byte{'x'}); err != nil {
		return false
	}
	got := make(chan error, 1)
	go func() {
		_, err := c.stdout.ReadByte()
		got <- err
	}()
	select {
	case err := <-got:
		return err == nil
	case <-time.After(waitTimeout()):
		t.Fatalf("helper %d neither answered nor died within %v", c.pid(), waitTimeout())
		return false
	}
}

// wait closes stdin (a live helper then exits 0) and reaps it, bounded.
func (c *child) wait(t testing.TB) *os.ProcessState {
	t.Helper()
	if c.waited {
		return c.state
	}
	_ = c.stdin.Close()
	return c.reap(t, waitTimeout())
}

// reap waits up to limit for the helper to end (by itself, or after
// wait closed its stdin), then kills it and fails the test.
func (c *child) reap(t testing.TB, limit time.Duration) *os.ProcessState {
	t.Helper()
	done := make(chan struct{})
	go func() {
		_ = c.cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(limit):
		_ = c.cmd.Process.Kill()
		<-done
		c.waited = true
		t.Fatalf("helper %d did not end within %v", c.pid(), limit)
	}
	c.waited = true
	c.state = c.cmd.ProcessState
	return c.state
}

// killedBy returns the signal that ended the process, or 0.
func killedBy(ps *os.ProcessState) syscall.Signal {
	ws, ok := ps.Sys().(syscall.WaitStatus)
	if !ok || !ws.Signaled() {
		return 0
	}
	return ws.Signal()
}

func waitTimeout() time.Duration {
	if os.Getenv("SIGTRACE_GUEST") != "" {
		return 60 * time.Second // qemu TCG: signals are ~100x slower
	}
	return 10 * time.Second
}

// requirePrivileged skips without root, except under CI=true where a skip
// would hide a broken suite.
func requirePrivileged(t testing.TB) {
	t.Helper()
	caps, err := EffectiveCaps()
	if err == nil && HasBPFCaps(caps) {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("integration tests need root (CAP_BPF+CAP_PERFMON); under CI=true they may not skip")
	}
	t.Skip("needs root or CAP_BPF+CAP_PERFMON")
}

// collector keeps every event a tracer reports, for tests to wait on.
type collector struct {
	mu      sync.Mutex
	events  []Event
	changed chan struct{}
}

func (c *collector) add(ev *Event) error {
	c.mu.Lock()
	c.events = append(c.events, ev.Clone())
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	return nil
}

// lenLocked is len for a waitFor predicate, which runs under c.mu.
func (c *collector) lenLocked() int { return len(c.events) }

func (c *collector) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.events)
}

// waitFor returns the first event at index >= from that matches, waiting
// up to waitTimeout for it.
func (c *collector) waitFor(t testing.TB, from int, what string, match func(*Event) bool) (Event, int) {
	t.Helper()
	deadline := time.After(waitTimeout())
	i := from
	for {
		c.mu.Lock()
		for ; i < len(c.events); i++ {
			if match(&c.events[i]) {
				ev := c.events[i]
				c.mu.Unlock()
				return ev, i
			}
		}
		ch := c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("no %s event within %v", what, waitTimeout())
		}
	}
}

// waitChange waits (at most d) for the next event to be collected.
func (c *collector) waitChange(d time.Duration) {
	c.mu.Lock()
	ch := c.changed
	c.mu.Unlock()
	select {
	case <-ch:
	case <-time.After(d):
	}
}

// since returns a copy of the events at index >= from that match.
func (c *collector) since(from int, match func(*Event) bool) []Event {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []Event
	for i := from; i < len(c.events); i++ {
		if match(&c.events[i]) {
			out = append(out, c.events[i])
		}
	}
	return out
}

// startTracer loads and attaches the real BPF programs and collects events
// until the test ends.
func startTracer(t testing.TB, opts Options) (*Tracer, *collector) {
	t.Helper()
	requirePrivileged(t)
	opts.Debug = true // a rejection on some kernel then shows the verifier's log
	tr, err := New(opts)
	if err != nil {
		t.Fatalf("loading tracer: %v", err)
	}
	col := &collector{changed: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx, col.add, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		tr.Close()
	})
	return tr, col
}

// barrier sends SIGWINCH to this test process and waits for its event:
// every event caused synchronously before it is then in the collector,
// since the tracepoint runs inside kill(2). Returns the collector length
// just past the barrier event.
func barrier(t testing.TB, col *collector, from int) int {
	t.Helper()
	self := uint32(os.Getpid())
	if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
		t.Fatal(err)
	}
	_, i := col.waitFor(t, from, "barrier SIGWINCH", func(e *Event) bool {
		return e.Type == TypeGenerate && e.Sig == int(syscall.SIGWINCH) && e.Target.PID == self && e.Generate.Sender.PID == self
	})
	return i + 1
}

func genTo(pid int, sig syscall.Signal) func(*Event) bool {
	return func(e *Event) bool {
		return e.Type == TypeGenerate && e.Sig == int(sig) && e.Target.PID == uint32(pid)
	}
}

// Command storm generates signals as fast as one CPU allows, for measuring
// what a signal tracer costs the processes it watches.
//
//	storm [-d DURATION | -n SIGNALS] pingpong|ign|tgkill
//
// Workloads:
//
//	pingpong  a process and its child send SIGUSR1 back and forth: kill,
//	          the receiver's handler runs, it kills back. Every signal is
//	          generated and delivered. Both wait in rt_sigsuspend(2) with
//	          SIGUSR1 otherwise blocked, so no signal is ever missed.
//	ign       a kill(2) loop at a child whose SIGUSR1 is SIG_IGN in the
//	          kernel: generation only, the highest rate.
//	tgkill    tgkill(2) round-robin across 4 threads of a child that
//	          handles SIGUSR1 (thread-directed signals).
//
// It prints one line when done:
//
//	workload=ign signals=1000000 elapsed_ns=980000000 ns_per_signal=980.0 delivered=0 oncpu_ns=975000000 runq_wait_ns=1000000
//
// delivered counts the handler runs on the receiving side (pingpong, tgkill).
// Pin it with taskset, or start it from a pinned thread: children inherit
// the CPU affinity. The modes sink, pong and tgsink are its own children.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The main goroutine stays on the main thread (the thread-group leader), so
// a process-directed signal the kernel offers the leader first lands where
// rt_sigsuspend waits for it.
func init() { runtime.LockOSThread() }

const (
	sig       = unix.SIGUSR1
	envExec   = "STORM_EXEC"
	checkEach = 256 // signals between clock reads
)

func usage() {
	fmt.Fprintf(os.Stderr, "usage: storm [-d DURATION | -n SIGNALS] pingpong|ign|tgkill\n")
	flag.PrintDefaults()
}

func main() {
	dur := flag.Duration("d", 0, "run for this long (default 2s unless -n is given)")
	count := flag.Int64("n", 0, "send this many signals (pingpong: rounded up to an even number)")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() != 1 {
		usage()
		os.Exit(2)
	}
	mode := flag.Arg(0)
	switch mode {
	case "pingpong", "ign", "tgkill", "sink", "pong", "tgsink":
	default:
		fmt.Fprintf(os.Stderr, "storm: unknown workload %q (want pingpong, ign or tgkill)\n", mode)
		os.Exit(2)
	}
	// Everything below needs a known signal mask and no Go asynchronous
	// preemption (its SIGURGs would be traced too): set both up and exec
	// again, once.
	if os.Getenv(envExec) != "1" {
		reexec(mode == "pingpong" || mode == "pong" || mode == "tgsink")
	}
	if *dur == 0 && *count == 0 {
		*dur = 2 * time.Second
	}
	lim := limit{dur: *dur, n: *count}

	var err error
	switch mode {
	case "sink":
		err = sink()
	case "pong":
		err = pong()
	case "tgsink":
		err = tgsink()
	case "pingpong":
		err = pingpong(lim)
	case "ign":
		err = ign(lim)
	case "tgkill":
		err = tgkill(lim)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "storm %s: %v\n", mode, err)
		os.Exit(1)
	}
}

// reexec blocks (or unblocks) SIGUSR1 on this thread and executes the same
// program again: the new Go runtime takes the inherited mask as the mask of
// every thread it creates, so with SIGUSR1 blocked no thread but the one in
// rt_sigsuspend ever takes it.
func reexec(masked bool) {
	var set unix.Sigset_t
	sigaddset(&set, sig)
	how := unix.SIG_UNBLOCK
	if masked {
		how = unix.SIG_BLOCK
	}
	if err := unix.PthreadSigmask(how, &set, nil); err != nil {
		fmt.Fprintf(os.Stderr, "storm: sigprocmask: %v\n", err)
		os.Exit(1)
	}
	env := append(os.Environ(), envExec+"=1")
	godebug := "asyncpreemptoff=1"
	if g := os.Getenv("GODEBUG"); g != "" {
		godebug = g + "," + godebug
	}
	env = append(env, "GODEBUG="+godebug)
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	err = syscall.Exec(exe, os.Args, env)
	fmt.Fprintf(os.Stderr, "storm: exec %s: %v\n", exe, err)
	os.Exit(1)
}

func sigaddset(set *unix.Sigset_t, s syscall.Signal) {
	set.Val[(s-1)/64] |= 1 << ((uint(s) - 1) % 64)
}

// suspendMask blocks everything but SIGUSR1, so only SIGUSR1 ends a wait.
func suspendMask() unix.Sigset_t {
	var set unix.Sigset_t
	for i := range set.Val {
		set.Val[i] = ^uint64(0)
	}
	set.Val[(sig-1)/64] &^= 1 << ((uint(sig) - 1) % 64)
	return set
}

// sigsuspend waits until a SIGUSR1 handler (the Go runtime's) has run on
// this thread. The kernel's sigset_t is 8 bytes on Linux.
func sigsuspend(set *unix.Sigset_t) {
	unix.RawSyscall(unix.SYS_RT_SIGSUSPEND, uintptr(unsafe.Pointer(set)), 8, 0)
}

// Raw system calls: no scheduler hand-off around a call that cannot block.
func kill(pid int) {
	unix.RawSyscall(unix.SYS_KILL, uintptr(pid), uintptr(sig), 0)
}

func tgkillRaw(tgid, tid int) {
	unix.RawSyscall(unix.SYS_TGKILL, uintptr(tgid), uintptr(tid), uintptr(sig))
}

type limit struct {
	dur time.Duration
	n   int64
}

// done reports whether sent signals, started at start, are enough.
func (l limit) done(sent int64, start time.Time) bool {
	if l.n > 0 {
		return sent >= l.n
	}
	return time.Since(start) >= l.dur
}

// schedstat reads this thread's time on the CPU and time runnable but
// waiting for it (ns): a storm slowed by other work on its CPU shows up in
// the second.
func schedstat() (run, wait int64) {
	b, err := os.ReadFile("/proc/thread-self/schedstat")
	if err != nil {
		return 0, 0
	}
	f := strings.Fields(string(b))
	if len(f) >= 2 {
		run, _ = strconv.ParseInt(f[0], 10, 64)
		wait, _ = strconv.ParseInt(f[1], 10, 64)
	}
	return run, wait
}

// window is the timed part of a run.
type window struct {
	start       time.Time
	run0, wait0 int64
	elapsed     time.Duration
	run, wait   int64
}

func begin() *window {
	w := &window{}
	w.run0, w.wait0 = schedstat()
	w.start = time.Now()
	return w
}

func (w *window) end() {
	w.elapsed = time.Since(w.start)
	r, q := schedstat()
	w.run, w.wait = r-w.run0, q-w.wait0
}

func report(workload string, sent int64, w *window, delivered int64) {
	per := 0.0
	if sent > 0 {
		per = float64(w.elapsed.Nanoseconds()) / float64(sent)
	}
	fmt.Printf("workload=%s signals=%d elapsed_ns=%d ns_per_signal=%.1f delivered=%d oncpu_ns=%d runq_wait_ns=%d\n",
		workload, sent, w.elapsed.Nanoseconds(), per, delivered, w.run, w.wait)
}

// child starts this program in another mode, reading its first stdout line
// (its readiness, and whatever it has to say) before returning.
type child struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	first string
}

func startChild(mode string) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, mode)
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, envExec+"=") && !strings.HasPrefix(e, "GODEBUG=") {
			env = append(env, e)
		}
	}
	if mode == "tgsink" {
		// One P per waiting thread, so none of them queues for a P to
		// count what it received.
		env = append(env, "GOMAXPROCS=8")
	}
	cmd.Env = env
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	line, err := c.out.ReadString('\n')
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return nil, fmt.Errorf("%s did not start: %v", mode, err)
	}
	c.first = strings.TrimSpace(line)
	return c, nil
}

// finish closes the child's stdin (its cue to report and exit) and returns
// what it printed last.
func (c *child) finish() (string, error) {
	c.stdin.Close()
	rest, _ := io.ReadAll(c.out)
	err := c.cmd.Wait()
	return strings.TrimSpace(string(rest)), err
}

func waitStdinEOF() { io.Copy(io.Discard, os.Stdin) }

// ---- ign: kill(2) at a SIG_IGN receiver ----

func sink() error {
	// SIG_IGN in the kernel: the signal is dropped at generation.
	signal.Ignore(syscall.SIGUSR1)
	fmt.Println("ready")
	waitStdinEOF()
	return nil
}

func ign(lim limit) error {
	c, err := startChild("sink")
	if err != nil {
		return err
	}
	pid := c.cmd.Process.Pid
	var sent int64
	w := begin()
	for !lim.done(sent, w.start) {
		for range checkEach {
			kill(pid)
		}
		sent += checkEach
	}
	w.end()
	if _, err := c.finish(); err != nil {
		return fmt.Errorf("sink: %v", err)
	}
	report("ign", sent, w, 0)
	return nil
}

// ---- pingpong: kill → handler → kill back ----

func pong() error {
	mask := suspendMask()
	ppid := os.Getppid()
	fmt.Println("ready")
	for {
		sigsuspend(&mask)
		kill(ppid)
	}
}

func pingpong(lim limit) error {
	c, err := startChild("pong")
	if err != nil {
		return err
	}
	pid := c.cmd.Process.Pid
	mask := suspendMask()
	var rounds int64
	w := begin()
	for !lim.done(2*rounds, w.start) {
		for range checkEach / 2 {
			kill(pid)
			sigsuspend(&mask)
		}
		rounds += checkEach / 2
	}
	w.end()
	c.cmd.Process.Kill()
	c.cmd.Wait()
	// Each round trip is two signals, each generated and delivered.
	report("pingpong", 2*rounds, w, 2*rounds)
	return nil
}

// ---- tgkill: thread-directed signals round-robin over 4 threads ----

const tgThreads = 4

func tgsink() error {
	var got atomic.Int64
	tids := make(chan int, tgThreads)
	for range tgThreads {
		go func() {
			runtime.LockOSThread()
			mask := suspendMask()
			tids <- unix.Gettid()
			for {
				sigsuspend(&mask)
				got.Add(1)
			}
		}()
	}
	line := strconv.Itoa(os.Getpid())
	for range tgThreads {
		line += " " + strconv.Itoa(<-tids)
	}
	fmt.Println(line)
	waitStdinEOF()
	// Let signals still pending on a thread be taken.
	time.Sleep(20 * time.Millisecond)
	fmt.Println(got.Load())
	return nil
}

func tgkill(lim limit) error {
	c, err := startChild("tgsink")
	if err != nil {
		return err
	}
	f := strings.Fields(c.first)
	if len(f) != 1+tgThreads {
		c.cmd.Process.Kill()
		return fmt.Errorf("tgsink said %q", c.first)
	}
	tgid, _ := strconv.Atoi(f[0])
	var tids [tgThreads]int
	for i := range tids {
		tids[i], _ = strconv.Atoi(f[1+i])
	}
	var sent int64
	w := begin()
	for !lim.done(sent, w.start) {
		for i := range checkEach {
			tgkillRaw(tgid, tids[i%tgThreads])
			// Let the woken thread take it now (they share the CPU):
			// otherwise most signals merge with one still pending.
			unix.RawSyscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
		}
		sent += checkEach
	}
	w.end()
	last, err := c.finish()
	if err != nil {
		return fmt.Errorf("tgsink: %v", err)
	}
	delivered, err := strconv.ParseInt(last, 10, 64)
	if err != nil {
		return fmt.Errorf("tgsink reported %q", last)
	}
	report("tgkill", sent, w, delivered)
	return nil
}

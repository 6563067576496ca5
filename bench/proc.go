package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// CPUs the storm and the tracer are pinned to (when there are two).
const (
	stormCPU  = 0
	tracerCPU = 1
)

// pinning is off on a single-CPU machine.
var pinning = runtime.NumCPU() >= 2

// pinSelf moves every thread of this process to cpu; threads created later
// inherit it. The runner mostly sleeps, but keeps off the storm's CPU.
func pinSelf(cpu int) error {
	if !pinning {
		return nil
	}
	var set unix.CPUSet
	set.Set(cpu)
	tids, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tids {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if err := unix.SchedSetaffinity(tid, &set); err != nil && !errors.Is(err, unix.ESRCH) {
			return fmt.Errorf("pinning to CPU %d: %w", cpu, err)
		}
	}
	return nil
}

// childNice is the nice level the storm and the tracer run at (0: this
// process's). At -20 a concurrent build or test on the machine takes
// less of their CPUs, and the pairs get less noisy; both sides alike.
var childNice = 0

// startPinned starts cmd on cpu at childNice: it forks from a thread pinned
// there and set so (both are per thread on Linux), and the child and its
// children inherit both.
func startPinned(cmd *exec.Cmd, cpu int) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if childNice != 0 {
		// getpriority(2) returns 20-nice.
		raw, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
		if err != nil {
			return err
		}
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, childNice); err != nil {
			return fmt.Errorf("nice %d: %w", childNice, err)
		}
		defer unix.Setpriority(unix.PRIO_PROCESS, 0, 20-raw)
	}
	if !pinning {
		return cmd.Start()
	}
	var old, set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &old); err != nil {
		return err
	}
	set.Set(cpu)
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return fmt.Errorf("pinning to CPU %d: %w", cpu, err)
	}
	err := cmd.Start()
	if rerr := unix.SchedSetaffinity(0, &old); rerr != nil && err == nil {
		err = rerr
	}
	return err
}

// threadStats sums, over the live threads of pid, the CPU time (ns, from
// schedstat) and the context switches (voluntary + involuntary: the
// wake-ups, from status).
type threadStats struct {
	cpuNs    int64
	switches int64
}

func readThreadStats(pid int) (threadStats, error) {
	var s threadStats
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tids, err := os.ReadDir(dir)
	if err != nil {
		return s, err
	}
	for _, t := range tids {
		b, err := os.ReadFile(filepath.Join(dir, t.Name(), "schedstat"))
		if err != nil {
			continue // the thread is gone
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			ns, _ := strconv.ParseInt(f[0], 10, 64)
			s.cpuNs += ns
		}
		b, err = os.ReadFile(filepath.Join(dir, t.Name(), "status"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok &&
				(k == "voluntary_ctxt_switches" || k == "nonvoluntary_ctxt_switches") {
				n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				s.switches += n
			}
		}
	}
	return s, nil
}

// ---- the tracer ----

// tool is a program the bench runs as a tracer: how it says it has
// attached, and how it reports lost events. Its CPU is measured the same
// way whatever it is (see tracerExit).
type tool struct {
	name string
	// ready matches the line it prints once attached.
	ready *regexp.Regexp
	// readyOnStdout: the ready line may be on stdout as well as stderr, so
	// the bench reads its stdout (copying it to the output file, if any)
	// instead of handing it the file. Only for tools whose stdout is small
	// (counts printed at exit): reading a stream of events would put the
	// bench's own CPU into the measurement.
	readyOnStdout bool
	// attached, if set, is polled after the ready line until it holds:
	// for a tool that prints its ready line before it has loaded and
	// attached its programs.
	attached func(pid int) bool
	// lost matches its lost-events lines on stderr; group 1 is the count.
	lost *regexp.Regexp
	env  []string
}

// sigtraceTool: `sigtrace trace` prints "Tracing signals... Ctrl-C to
// stop." on stderr once its probes are attached, and "N events lost".
var sigtraceTool = &tool{
	name:  "sigtrace",
	ready: regexp.MustCompile(`Ctrl-C to stop`),
	lost:  regexp.MustCompile(`(\d+) events? lost`),
	env:   []string{"NO_COLOR=1"},
}

// bpftraceTool: bpftrace prints "Attaching N probes..." on stdout and
// then loads and attaches them, so the ready line is followed by a wait
// until the process holds a BPF program and a perf event (what a
// tracepoint is attached through). Lost events ("Lost N events") only
// concern its perf output (printf), not maps.
var bpftraceTool = &tool{
	name:          "bpftrace",
	ready:         regexp.MustCompile(`^Attaching \d+ probes?\.\.\.`),
	readyOnStdout: true,
	attached:      holdsAttachedProgram,
	lost:          regexp.MustCompile(`Lost (\d+) events`),
}

// holdsAttachedProgram says whether pid holds a BPF program and a perf
// event fd.
func holdsAttachedProgram(pid int) bool {
	if ids, err := tracerProgIDs(pid); err != nil || len(ids) == 0 {
		return false
	}
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	fds, err := os.ReadDir(dir)
	if err != nil {
		return false
	}
	for _, fd := range fds {
		if l, err := os.Readlink(filepath.Join(dir, fd.Name())); err == nil && l == "anon_inode:[perf_event]" {
			return true
		}
	}
	return false
}

type tracerProc struct {
	tool     *tool
	cmd      *exec.Cmd
	pid      int
	start    time.Time
	atReady  threadStats // CPU spent loading and attaching
	mu       sync.Mutex
	lines    []string // stderr, and stdout when the bench reads it
	readyCh  chan struct{}
	ready    bool
	streams  sync.WaitGroup
	streamOK chan struct{} // closed once the streams read are at EOF
}

// tracerExit is what a stopped tracer leaves behind.
type tracerExit struct {
	cpuNs      int64 // utime + stime of the whole run (rusage)
	cpuAfterNs int64 // of which after it attached
	switches   int64 // nvcsw + nivcsw (rusage)
	lost       int64 // from its lost-events lines on stderr
	stderr     []string
	exitErr    error
}

// startTracer runs bin args... of tool tl on the tracer CPU with stdout to
// out (nil: /dev/null) and waits until it has attached.
func startTracer(ctx context.Context, tl *tool, bin string, args []string, out *os.File) (*tracerProc, error) {
	cmd := exec.Command(bin, args...)
	var outPipe io.Reader
	if tl.readyOnStdout {
		p, err := cmd.StdoutPipe()
		if err != nil {
			return nil, err
		}
		outPipe = p
	} else if out != nil {
		cmd.Stdout = out
	} // else os/exec opens /dev/null
	cmd.Env = append(os.Environ(), tl.env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	errPipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	t := &tracerProc{tool: tl, cmd: cmd, readyCh: make(chan struct{}), streamOK: make(chan struct{})}
	t.start = time.Now()
	if err := startPinned(cmd, tracerCPU); err != nil {
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	t.pid = cmd.Process.Pid
	t.streams.Add(1)
	go t.read(errPipe, nil)
	if outPipe != nil {
		var sink io.Writer
		if out != nil {
			sink = out
		}
		t.streams.Add(1)
		go t.read(outPipe, sink)
	}
	go func() {
		t.streams.Wait()
		close(t.streamOK)
	}()
	timeout := time.NewTimer(60 * time.Second)
	defer timeout.Stop()
	select {
	case <-t.readyCh:
		err = t.waitAttached(ctx, timeout.C)
		if err == nil {
			t.atReady, _ = readThreadStats(t.pid)
			if ids, err := tracerProgIDs(t.pid); err == nil {
				addOwn(ids)
			}
			return t, nil
		}
	case <-t.streamOK:
		err = errors.New("exited before attaching")
	case <-timeout.C:
		err = errors.New("not attached after 60s")
	case <-ctx.Done():
		err = ctx.Err()
	}
	t.cmd.Process.Kill()
	t.cmd.Wait()
	select {
	case <-t.streamOK:
	case <-time.After(5 * time.Second):
	}
	return nil, fmt.Errorf("%s %s: %v: %s", filepath.Base(bin), strings.Join(args, " "), err, t.stderrText())
}

// read keeps the lines of one of the tracer's streams, watching for the
// ready line, and copies them to sink if not nil.
func (t *tracerProc) read(r io.Reader, sink io.Writer) {
	defer t.streams.Done()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if sink != nil {
			io.WriteString(sink, line+"\n")
		}
		t.mu.Lock()
		t.lines = append(t.lines, line)
		if !t.ready && t.tool.ready.MatchString(line) {
			t.ready = true
			close(t.readyCh)
		}
		t.mu.Unlock()
	}
	io.Copy(io.Discard, r)
}

// waitAttached polls the tool's attached condition, if it has one.
func (t *tracerProc) waitAttached(ctx context.Context, timeout <-chan time.Time) error {
	if t.tool.attached == nil {
		return nil
	}
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !t.tool.attached(t.pid) {
		select {
		case <-tick.C:
		case <-t.streamOK:
			return errors.New("exited before attaching")
		case <-timeout:
			return errors.New("printed its ready line but attached no BPF program within 60s")
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (t *tracerProc) stderrText() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.Join(t.lines, "; ")
}

// stop sends SIGINT (the tracer drains, prints its counts and reports lost
// events) and waits.
func (t *tracerProc) stop() tracerExit {
	t.cmd.Process.Signal(os.Interrupt)
	// Its streams are read to their end before Wait, which closes them.
	var x tracerExit
	killed := false
	select {
	case <-t.streamOK:
	case <-time.After(30 * time.Second):
		t.cmd.Process.Kill()
		killed = true
	}
	x.exitErr = t.cmd.Wait()
	if killed {
		x.exitErr = fmt.Errorf("did not stop within 30s of SIGINT; killed (%v)", x.exitErr)
	}
	if x.exitErr != nil {
		x.exitErr = fmt.Errorf("%v: %s", x.exitErr, t.stderrText())
	}
	if ps := t.cmd.ProcessState; ps != nil {
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			x.cpuNs = tvNs(ru.Utime) + tvNs(ru.Stime)
			x.switches = ru.Nvcsw + ru.Nivcsw
		}
	}
	x.cpuAfterNs = x.cpuNs - t.atReady.cpuNs
	if x.cpuAfterNs < 0 {
		x.cpuAfterNs = 0
	}
	t.mu.Lock()
	x.stderr = append([]string(nil), t.lines...)
	t.mu.Unlock()
	for _, line := range x.stderr {
		if m := t.tool.lost.FindStringSubmatch(line); m != nil {
			n, _ := strconv.ParseInt(m[1], 10, 64)
			x.lost += n
		}
	}
	return x
}

func tvNs(tv syscall.Timeval) int64 { return tv.Sec*1e9 + tv.Usec*1e3 }

// ---- the storm ----

// stormResult is the storm's one line of output.
type stormResult struct {
	workload  string
	signals   int64
	elapsedNs int64
	delivered int64
	oncpuNs   int64 // the sending thread on its CPU
	waitNs    int64 // the sending thread runnable, waiting for its CPU
}

func (s stormResult) nsPerSignal() float64 {
	if s.signals == 0 {
		return 0
	}
	return float64(s.elapsedNs) / float64(s.signals)
}

// runStorm runs the storm program on the storm CPU for dur (or n signals).
func runStorm(ctx context.Context, bin, workload string, dur time.Duration, n int64) (stormResult, error) {
	args := []string{"-d", dur.String()}
	limit := dur
	if n > 0 {
		args = []string{"-n", strconv.FormatInt(n, 10)}
		limit = time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, limit+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append(args, workload)...)
	var out, errb bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &errb
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := startPinned(cmd, stormCPU); err != nil {
		return stormResult{}, err
	}
	if err := cmd.Wait(); err != nil {
		return stormResult{}, fmt.Errorf("storm %s: %v: %s", workload, err, strings.TrimSpace(errb.String()))
	}
	return parseStorm(out.String())
}

func parseStorm(s string) (stormResult, error) {
	var r stormResult
	seen := 0
	for _, f := range strings.Fields(s) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(v, 10, 64)
		switch k {
		case "workload":
			r.workload = v
			seen++
		case "signals":
			r.signals = n
			seen++
		case "elapsed_ns":
			r.elapsedNs = n
			seen++
		case "delivered":
			r.delivered = n
		case "oncpu_ns":
			r.oncpuNs = n
		case "runq_wait_ns":
			r.waitNs = n
		}
	}
	if seen != 3 || r.signals <= 0 || r.elapsedNs <= 0 {
		return r, fmt.Errorf("storm printed %q", strings.TrimSpace(s))
	}
	return r, nil
}

// treeBytes is the size of a file, or of every regular file under a
// directory; -1 if it cannot be read.
func treeBytes(path string) int64 {
	var n int64
	err := filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil {
		return -1
	}
	return n
}

// countJSONL counts the event lines of JSON-lines output (files, or every
// file under a directory): lines that are neither the header nor a lost
// record, and the sum of the lost records' counts.
func countJSONL(path string) (events, lost int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, err
	}
	files := []string{path}
	if fi.IsDir() {
		files = nil
		filepath.WalkDir(path, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				files = append(files, p)
			}
			return nil
		})
	}
	lostCount := regexp.MustCompile(`"count":\s*(\d+)`)
	summaryCount := regexp.MustCompile(`\},"count":(\d+)`)
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			return events, lost, err
		}
		br := bufio.NewReaderSize(f, 1<<20)
		for {
			line, err := br.ReadSlice('\n')
			if len(line) > 0 {
				switch {
				case bytes.Contains(line, []byte(`"type":"lost"`)):
					if m := lostCount.FindSubmatch(line); m != nil {
						n, _ := strconv.ParseInt(string(m[1]), 10, 64)
						lost += n
					}
				case bytes.Contains(line, []byte(`"type":"count"`)):
					// Summarised: the events it stands for.
					if m := summaryCount.FindSubmatch(line); m != nil {
						n, _ := strconv.ParseInt(string(m[1]), 10, 64)
						events += n
					}
				case bytes.Contains(line, []byte(`"type":"header"`)):
				case bytes.HasPrefix(line, []byte("{")):
					events++
				}
			}
			if err == bufio.ErrBufferFull {
				// A line longer than the buffer: skip the rest of it.
				for err == bufio.ErrBufferFull {
					_, err = br.ReadSlice('\n')
				}
			}
			if err != nil {
				break
			}
		}
		f.Close()
	}
	return events, lost, nil
}

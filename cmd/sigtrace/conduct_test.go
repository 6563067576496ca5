package main

// End-to-end tests of the command line: the test binary runs as sigtrace
// (SIGTRACE_AS_MAIN=1) with the real BPF programs, and as a victim daemon
// (SIGTRACE_VICTIM=1) that has no SIGHUP handler.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/testproc"
	"github.com/sigtrace/sigtrace/tracer"
)

// victim resets SIGHUP to the kernel default (the Go runtime would catch
// it), says ready, and lives until stdin closes. With SIGTRACE_VICTIM_GO=1
// it keeps the Go runtime's handler, which dies of SIGHUP by re-raising it
// (the program never calls signal.Notify).
// niceIfAsked puts every thread of this process, and so the threads it
// makes later, at nice 19 when SIGTRACE_NICE=1: a test's long storm then
// takes only the CPU that the other test packages, run at once by go
// test, leave.
func niceIfAsked() {
	if os.Getenv("SIGTRACE_NICE") != "1" {
		return
	}
	tasks, _ := filepath.Glob("/proc/self/task/*")
	for _, task := range tasks {
		if tid, err := strconv.Atoi(filepath.Base(task)); err == nil {
			_ = syscall.Setpriority(syscall.PRIO_PROCESS, tid, 19)
		}
	}
}

// spin is what the preempter's goroutines count up.
var spin [2]atomic.Uint64

func victim() int {
	if os.Getenv("SIGTRACE_PREEMPT") == "1" {
		// Two goroutines that never yield on one P: the runtime's
		// sysmon preempts the running one every 10 ms with a SIGURG to
		// its own thread (tgkill), as busy Go servers do.
		runtime.GOMAXPROCS(1)
		niceIfAsked()
		for i := range spin {
			go func() {
				for {
					spin[i].Add(1)
				}
			}()
		}
	}
	if os.Getenv("SIGTRACE_VICTIM_GO") != "1" {
		if err := testproc.SetDisposition(syscall.SIGHUP, testproc.SigDfl); err != nil {
			return 111
		}
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
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

func timeout() time.Duration {
	if os.Getenv("SIGTRACE_GUEST") != "" {
		return 60 * time.Second
	}
	return 10 * time.Second
}

func self(t *testing.T) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return exe
}

// sigtraceProc is a running `sigtrace` with its output captured.
type sigtraceProc struct {
	cmd    *exec.Cmd
	stdout *bufio.Reader
	outR   io.ReadCloser
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
}

// startSigtrace runs sigtrace with args and returns once it has printed
// its ready line on stderr (probes attached).
func startSigtrace(t *testing.T, args ...string) *sigtraceProc {
	t.Helper()
	return startSigtraceEnv(t, nil, args...)
}

// startSigtraceEnv is startSigtrace with more environment variables.
func startSigtraceEnv(t *testing.T, env []string, args ...string) *sigtraceProc {
	t.Helper()
	cmd := exec.Command(self(t), args...)
	cmd.Env = append(append(os.Environ(), "SIGTRACE_AS_MAIN=1"), env...)
	outR, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &sigtraceProc{cmd: cmd, stdout: bufio.NewReader(outR), outR: outR, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(errR)
		signalled := false
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if !signalled && (sc.Text() == readyLine || strings.HasPrefix(sc.Text(), "Recording to ")) {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
		_ = cmd.Wait()
	})
	select {
	case ok := <-ready:
		if !ok {
			<-p.done
			t.Fatalf("sigtrace ended before attaching: %s", p.errText())
		}
	case <-time.After(timeout()):
		t.Fatalf("sigtrace did not attach within %v", timeout())
	}
	return p
}

func (p *sigtraceProc) errText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// nextJSON reads the next JSON line matching pred, bounded.
func (p *sigtraceProc) nextJSON(t *testing.T, what string, pred func(map[string]any) bool) map[string]any {
	t.Helper()
	type res struct {
		m   map[string]any
		err error
	}
	ch := make(chan res, 1)
	go func() {
		for {
			line, err := p.stdout.ReadBytes('\n')
			if err != nil {
				ch <- res{err: err}
				return
			}
			var m map[string]any
			if err := json.Unmarshal(line, &m); err != nil {
				ch <- res{err: fmt.Errorf("bad JSON line %q: %w", line, err)}
				return
			}
			if pred(m) {
				ch <- res{m: m}
				return
			}
		}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("waiting for %s: %v (stderr: %s)", what, r.err, p.errText())
		}
		return r.m
	case <-time.After(timeout()):
		t.Fatalf("no %s within %v", what, timeout())
		return nil
	}
}

// wait reaps sigtrace, bounded, and returns its exit status.
func (p *sigtraceProc) wait(t *testing.T) int {
	t.Helper()
	exited := make(chan error, 1)
	go func() {
		<-p.done
		exited <- p.cmd.Wait()
	}()
	select {
	case <-exited:
	case <-time.After(timeout()):
		t.Fatalf("sigtrace did not exit within %v", timeout())
	}
	return p.cmd.ProcessState.ExitCode()
}

func field(m map[string]any, path ...string) any {
	var cur any = m
	for _, k := range path {
		mm, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = mm[k]
	}
	return cur
}

func num(v any) int {
	f, _ := v.(float64)
	return int(f)
}

type victimProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

func startVictim(t *testing.T, name string, env ...string) *victimProc {
	t.Helper()
	link := filepath.Join(t.TempDir(), name)
	if err := os.Symlink(self(t), link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link)
	cmd.Env = append(append(os.Environ(), "SIGTRACE_VICTIM=1"), env...)
	stdin, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line := make(chan string, 1)
	go func() { s, _ := bufio.NewReader(out).ReadString('\n'); line <- s }()
	select {
	case s := <-line:
		if strings.TrimSpace(s) != "ready" {
			t.Fatalf("victim said %q", s)
		}
	case <-time.After(timeout()):
		t.Fatal("victim not ready")
	}
	return &victimProc{cmd: cmd, stdin: stdin}
}

// runNightlyjob runs `pkill -HUP -x name` from a script named nightlyjob,
// the way a forgotten logrotate postrotate stanza would.
func runNightlyjob(t *testing.T, name string) {
	t.Helper()
	script := filepath.Join(t.TempDir(), "nightlyjob")
	if err := os.WriteFile(script, []byte("#!/bin/sh\npkill -HUP -x "+name+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	job := exec.Command(script)
	job.Env = append(os.Environ(), "PATH="+testproc.PathWithPkill(t))
	if out, err := job.CombinedOutput(); err != nil {
		t.Fatalf("nightlyjob: %v: %s", err, out)
	}
}

func TestTraceJSONEndToEnd(t *testing.T) {
	requireRoot(t)
	p := startSigtrace(t, "trace", "-o", "json", "-s", "HUP")
	name := fmt.Sprintf("logdev%06d", rand.Intn(1000000))
	v := startVictim(t, name)
	runNightlyjob(t, name)

	ev := p.nextJSON(t, "the SIGHUP generate event", func(m map[string]any) bool {
		return m["type"] == "generate" && num(field(m, "target", "pid")) == v.cmd.Process.Pid
	})
	checks := []struct {
		path []string
		want any
	}{
		{[]string{"signal", "name"}, "SIGHUP"},
		{[]string{"signal", "num"}, float64(1)},
		{[]string{"code"}, "SI_USER"},
		{[]string{"sender", "comm"}, "pkill"},
		{[]string{"target", "comm"}, name},
		{[]string{"scope"}, "process"},
		{[]string{"result"}, "delivered"},
		{[]string{"disposition"}, "default"},
		{[]string{"default_action"}, "terminate"},
		{[]string{"blocked"}, false},
		{[]string{"verdict"}, "fatal"},
		{[]string{"fatal"}, true},
		{[]string{"unprepared"}, true},
	}
	for _, c := range checks {
		if got := field(ev, c.path...); got != c.want {
			t.Errorf("%s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}
	if _, err := time.Parse(time.RFC3339Nano, ev["time"].(string)); err != nil {
		t.Errorf("time %v is not RFC 3339: %v", ev["time"], err)
	}
	argv, _ := field(ev, "sender", "argv").([]any)
	if !slices.Contains(argv, any(name)) {
		t.Errorf("sender.argv = %v, want it to hold %s", argv, name)
	}
	anc, _ := field(ev, "sender", "ancestry").([]any)
	if len(anc) == 0 || field(anc[0].(map[string]any), "comm") != "nightlyjob" {
		t.Errorf("sender.ancestry = %v, want nightlyjob first", anc)
	}
	_ = v.cmd.Wait()
	if ws := v.cmd.ProcessState.Sys().(syscall.WaitStatus); !ws.Signaled() || ws.Signal() != syscall.SIGHUP {
		t.Errorf("victim: %v, want killed by SIGHUP", v.cmd.ProcessState)
	}
	exit := p.nextJSON(t, "the exit event", func(m map[string]any) bool {
		return m["type"] == "exit" && num(field(m, "target", "pid")) == v.cmd.Process.Pid
	})
	for _, c := range []struct {
		path []string
		want any
	}{
		{[]string{"signal", "name"}, "SIGHUP"},
		{[]string{"core_dumped"}, false},
		{[]string{"killer", "comm"}, "pkill"},
		{[]string{"target", "comm"}, name},
	} {
		if got := field(exit, c.path...); got != c.want {
			t.Errorf("exit %s = %v, want %v", strings.Join(c.path, "."), got, c.want)
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0; stderr: %s", code, p.errText())
	}
}

func TestTraceTableEndToEnd(t *testing.T) {
	requireRoot(t)
	// --comm keeps a SIGHUP from anything else on the machine out of the
	// one row --count 1 allows.
	name := fmt.Sprintf("tabdev%06d", rand.Intn(1000000))
	p := startSigtrace(t, "trace", "-s", "HUP", "--count", "1", "--comm", name)
	v := startVictim(t, name)
	runNightlyjob(t, name)
	// Read to EOF (sigtrace exits after --count 1) before reaping: Wait
	// closes the pipe.
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(p.stdout); got <- b }()
	var text string
	select {
	case b := <-got:
		text = string(b)
	case <-time.After(timeout()):
		t.Fatalf("sigtrace --count 1 did not end within %v", timeout())
	}
	if code := p.wait(t); code != 0 {
		t.Fatalf("exit status %d, stderr: %s", code, p.errText())
	}
	for _, want := range []string{"TIME", "VERDICT", "SIGHUP", "SI_USER", "pkill[", "← nightlyjob", name + "[", "FATAL", "unprepared"} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "\x1b[") {
		t.Errorf("colour codes written to a pipe:\n%q", text)
	}
	// --count counts signals: the one SIGHUP, then the rows of the death
	// it caused: the internal SIGKILL in each thread, and the EXIT.
	rows := withoutChange(t, strings.Split(strings.TrimSpace(text), "\n")[1:], fmt.Sprintf("%s[%d]", name, v.cmd.Process.Pid), "SIGHUP")
	if len(rows) < 3 || !strings.Contains(rows[0], "SIGHUP") || !strings.Contains(rows[len(rows)-1], "EXIT "+name+"[") {
		t.Fatalf("--count 1 printed %d rows, want the SIGHUP, its deliveries and its EXIT:\n%s", len(rows), text)
	}
	for _, r := range rows[1 : len(rows)-1] {
		if !strings.Contains(r, "SIGKILL") || !strings.Contains(r, "dying of SIGHUP") {
			t.Errorf("a row that is not the SIGHUP's SIGKILL between it and the EXIT: %q", r)
		}
	}
}

// readRest reads sigtrace's stdout to EOF (it exits by itself), bounded.
func (p *sigtraceProc) readRest(t *testing.T) string {
	t.Helper()
	got := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(p.stdout); got <- b }()
	select {
	case b := <-got:
		return string(b)
	case <-time.After(timeout()):
		t.Fatalf("sigtrace did not end within %v; stderr: %s", timeout(), p.errText())
		return ""
	}
}

// TestCountSignals: --count 3 is three signals with their deliveries, as
// tcpdump -c 3 is three packets (it used to stop after one signal's
// generate, deliver and the next generate row).
func TestCountSignals(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("cntdev%06d", rand.Intn(1000000))
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR1", "--count", "3", "--comm", name)
	// A Go program: the runtime's handler takes SIGUSR1 and drops it.
	v := startVictim(t, name)
	pid := v.cmd.Process.Pid
	for i := 1; i <= 3; i++ {
		if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		p.nextJSON(t, fmt.Sprintf("generate %d", i), func(m map[string]any) bool {
			return m["type"] == "generate" && num(field(m, "target", "pid")) == pid
		})
		p.nextJSON(t, fmt.Sprintf("deliver %d", i), func(m map[string]any) bool {
			return m["type"] == "deliver" && num(field(m, "target", "pid")) == pid
		})
	}
	// The third delivery completes the count: sigtrace ends at once,
	// with nothing more to print, however many signals follow.
	_ = syscall.Kill(pid, syscall.SIGUSR1)
	if rest := p.readRest(t); rest != "" {
		t.Errorf("rows after the third signal's delivery: %q", rest)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d; stderr: %s", code, p.errText())
	}
}

// TestCountGrace: a counted signal that is not delivered (its target is
// stopped) holds sigtrace for countGrace at most.
func TestCountGrace(t *testing.T) {
	requireRoot(t)
	name := fmt.Sprintf("cntstp%06d", rand.Intn(1000000))
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR1", "--count", "1", "--comm", name)
	v := startVictim(t, name)
	pid := v.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	// Until it has stopped, it would still take a SIGUSR1 (the lower
	// number is dequeued first): wait for the stop as its parent.
	stopped := make(chan error, 1)
	go func() {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(pid, &ws, syscall.WUNTRACED, nil)
		if err == nil && !ws.Stopped() {
			err = fmt.Errorf("wait status %v, not stopped", ws)
		}
		stopped <- err
	}()
	select {
	case err := <-stopped:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(timeout()):
		t.Fatal("the victim did not stop")
	}
	sent := time.Now()
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	out := p.readRest(t)
	waited := time.Since(sent)
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d; stderr: %s", code, p.errText())
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], `"type":"generate"`) {
		t.Errorf("want the one generate row, got %q", out)
	}
	if waited < countGrace {
		t.Errorf("ended %v after the send: it did not wait %v for the delivery", waited, countGrace)
	}
}

// TestOwnSignals: sigtrace survives SIGHUP, SIGUSR1 and SIGUSR2 (it ignores
// them, and traces them like any other), and SIGTERM ends it with status 0
// after flushing what it saw.
func TestOwnSignals(t *testing.T) {
	requireRoot(t)
	// Only signals to sigtrace itself: other tests' storms must not fill
	// the pipe this test reads.
	p := startSigtrace(t, "trace", "-o", "json", "-s", "HUP,USR1,USR2", "--no-deliver", "--comm", selfComm(t))
	pid := p.cmd.Process.Pid
	for _, s := range []syscall.Signal{syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2} {
		if err := syscall.Kill(pid, s); err != nil {
			t.Fatal(err)
		}
		ev := p.nextJSON(t, s.String()+" to sigtrace", func(m map[string]any) bool {
			return m["type"] == "generate" && num(field(m, "target", "pid")) == pid
		})
		if ev["verdict"] != "ignored" || ev["fatal"] != false {
			t.Errorf("%v to sigtrace: verdict %v fatal %v, want ignored", s, ev["verdict"], ev["fatal"])
		}
	}
	go func() { _, _ = io.Copy(io.Discard, p.stdout) }() // as a pipe reader would
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status after SIGTERM = %d, want 0; stderr: %s", code, p.errText())
	}
}

// TestQuitStops: SIGQUIT (Ctrl-\\ in a terminal) is a stop request like
// SIGINT: status 0, what was seen flushed, no goroutine dump.
func TestQuitStops(t *testing.T) {
	requireRoot(t)
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR1", "--no-deliver", "--comm", selfComm(t))
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	// The SIGUSR1 record is in the ring once kill(2) returns (the
	// tracepoint runs inside it): the stop must drain and print it.
	lines := make(chan []byte, 1)
	go func() { b, _ := io.ReadAll(p.stdout); lines <- b }()
	if err := syscall.Kill(pid, syscall.SIGQUIT); err != nil {
		t.Fatal(err)
	}
	code := p.wait(t)
	out := <-lines
	if code != 0 {
		t.Errorf("exit status after SIGQUIT = %d, want 0; stderr: %s", code, p.errText())
	}
	if e := p.errText(); strings.Contains(e, "goroutine ") || strings.Contains(e, "SIGQUIT: quit") {
		t.Errorf("SIGQUIT made a goroutine dump: %s", e)
	}
	if !strings.Contains(string(out), `"name":"SIGUSR1"`) {
		t.Errorf("the SIGUSR1 sent before SIGQUIT was not flushed: %q", out)
	}
}

// TestStopWithBlockedOutput: SIGTERM ends sigtrace even when nobody reads
// its output and a write is blocked (sigtrace trace | less, paused), with
// the status that says output was lost.
func TestStopWithBlockedOutput(t *testing.T) {
	requireRoot(t)
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR2", "--no-deliver", "--comm", selfComm(t))
	pid := p.cmd.Process.Pid
	// ~600 bytes a line: 2,000 lines overflow the 64 KiB pipe and the
	// 64 KiB buffer, so sigtrace ends up blocked in write(2).
	for i := 0; i < 2000; i++ {
		_ = syscall.Kill(pid, syscall.SIGUSR2)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != exitOutputLost {
		t.Errorf("exit status %d, want %d", code, exitOutputLost)
	}
}

// selfComm is the command name sigtrace has when this test binary runs as
// it: the kernel keeps 15 bytes of the file name.
func selfComm(t *testing.T) string {
	c := filepath.Base(self(t))
	if len(c) > 15 {
		c = c[:15]
	}
	return c
}

// TestClosedStdout: `sigtrace trace | head -1` ends quietly, status 0.
func TestClosedStdout(t *testing.T) {
	requireRoot(t)
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR2", "--no-deliver")
	pid := p.cmd.Process.Pid
	if err := syscall.Kill(pid, syscall.SIGUSR2); err != nil {
		t.Fatal(err)
	}
	p.nextJSON(t, "first line", func(map[string]any) bool { return true })
	p.outR.Close() // what head does after one line

	// Each SIGUSR2 makes sigtrace write another line into the closed pipe;
	// keep sending until it notices and exits.
	deadline := time.After(timeout())
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-p.done:
			break loop
		case <-tick.C:
			_ = syscall.Kill(pid, syscall.SIGUSR2)
		case <-deadline:
			t.Fatalf("sigtrace kept running with a closed stdout; stderr: %s", p.errText())
		}
	}
	code := p.wait(t)
	if code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	if e := p.errText(); strings.Contains(e, "panic") || strings.Contains(e, "goroutine ") {
		t.Errorf("stderr has a crash: %s", e)
	}
}

func TestDurationEnds(t *testing.T) {
	requireRoot(t)
	p := startSigtrace(t, "trace", "--duration", "300ms", "-s", "SYS")
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d, want 0; stderr: %s", code, p.errText())
	}
}

// TestUnprivileged: as nobody, one line that says what is missing and
// suggests sudo, and a non-zero status.
func TestUnprivileged(t *testing.T) {
	requireRoot(t) // to become nobody
	dir, err := os.MkdirTemp("", "sigtrace-nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sigtrace")
	data, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"trace"}, {"doctor"}} {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
		cmd.Dir = dir
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		var stderr, stdout strings.Builder
		cmd.Stderr = &stderr
		cmd.Stdout = &stdout
		err := cmd.Run()
		if err == nil {
			t.Errorf("%v as nobody succeeded", args)
			continue
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 {
			t.Errorf("%v: stderr has %d lines, want 1: %q", args, len(lines), stderr.String())
		}
		if args[0] == "trace" && (!strings.Contains(lines[0], "root") || !strings.Contains(lines[0], "sudo")) {
			t.Errorf("trace as nobody: %q, want it to name root and suggest sudo", lines[0])
		}
		if args[0] == "doctor" && !strings.Contains(stdout.String(), "FAIL  privileges") {
			t.Errorf("doctor as nobody:\n%s", stdout.String())
		}
	}
}

// TestLostReportedAtExit: a reader stalled on a full stdout pipe overflows
// a 1 MiB ring; the stream carries lost records and stderr the total.
func TestLostReportedAtExit(t *testing.T) {
	requireRoot(t)
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR2", "--no-deliver", "--ring-size", "1", "--rate-limit", "0")
	pid := p.cmd.Process.Pid
	// Nobody reads stdout yet: the 64 KiB pipe fills, sigtrace blocks in
	// write, and the ring (about 9,000 records) overflows.
	for i := 0; i < 20000; i++ {
		_ = syscall.Kill(pid, syscall.SIGUSR2)
	}
	p.nextJSON(t, "a lost record", func(m map[string]any) bool { return m["type"] == "lost" && num(m["count"]) > 0 })
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, p.stdout) }()
	if code := p.wait(t); code != 0 {
		t.Errorf("exit status %d", code)
	}
	if e := p.errText(); !strings.Contains(e, "events lost") {
		t.Errorf("stderr does not report the lost total: %q", e)
	}
}

// TestThreadKillsHidden: a multi-threaded program's exit_group() makes the
// kernel SIGKILL its other threads. Nobody sent those: the table leaves
// them out unless --thread-kills asks for them; JSON keeps them, named.
func TestThreadKillsHidden(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"--thread-kills"}, true},
		{[]string{"-o", "json"}, true},
	} {
		t.Run(strings.Join(append([]string{"trace"}, tc.args...), " "), func(t *testing.T) {
			name := fmt.Sprintf("tkill%06d", rand.Intn(1000000))
			p := startSigtrace(t, append([]string{"trace", "-s", "KILL", "--comm", name}, tc.args...)...)
			v := startVictim(t, name)
			_ = v.stdin.Close() // the victim (a Go program) returns from main: exit_group(0)
			if err := v.cmd.Wait(); err != nil {
				t.Fatalf("victim: %v", err)
			}
			got := make(chan []byte, 1)
			go func() { b, _ := io.ReadAll(p.stdout); got <- b }()
			// Its deliveries are in the ring before Wait returns; a
			// stop drains the ring.
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			var text string
			select {
			case b := <-got:
				text = string(b)
			case <-time.After(timeout()):
				t.Fatalf("sigtrace did not end within %v", timeout())
			}
			if code := p.wait(t); code != 0 {
				t.Fatalf("exit status %d, stderr: %s", code, p.errText())
			}
			mark := "killed by the kernel: the process called exit_group()"
			if tc.args != nil && tc.args[0] == "-o" {
				mark = `"kill_cause":"exit_group"`
			}
			if strings.Contains(text, mark) != tc.want {
				t.Errorf("output has %q: %v, want %v:\n%s", mark, !tc.want, tc.want, text)
			}
			if !tc.want && strings.Contains(text, name+"[") {
				t.Errorf("a row about %s, which nobody signalled:\n%s", name, text)
			}
		})
	}
}

var sigactionSeenOnce = sync.OnceValues(func() (bool, error) {
	tr, err := tracer.New(tracer.Options{History: tracer.HistoryFatal, NoGenerate: true, NoDeliver: true, NoExit: true, RingSize: 4096})
	if err != nil {
		return false, err
	}
	defer tr.Close()
	return tr.HistoryGap() == "", nil
})

// sigactionSeen says whether this kernel shows sigaction changes to
// disposition history (fentry or kprobes on do_sigaction): then a helper
// that sets SIG_DFL for a signal its runtime handled gets a DISPOSITION
// row.
func sigactionSeen(t *testing.T) bool {
	t.Helper()
	requireRoot(t)
	ok, err := sigactionSeenOnce()
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

// withoutChange takes the DISPOSITION row of tag's change of sig to the
// default off the front of rows: there exactly when sigaction changes are
// seen.
func withoutChange(t *testing.T, rows []string, tag, sig string) []string {
	t.Helper()
	want := "DISPOSITION " + tag + " " + sig + " handler → default (now dies of " + sig + ")"
	has := len(rows) > 0 && strings.Contains(rows[0], want)
	if seen := sigactionSeen(t); has != seen {
		t.Errorf("a row %q: %v, want %v (sigaction changes seen: %v):\n%s", want, has, seen, seen, strings.Join(rows, "\n"))
	}
	if has {
		return rows[1:]
	}
	return rows
}

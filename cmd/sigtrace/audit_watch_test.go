package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/testproc"
	"github.com/sigtrace/sigtrace/tracer"
)

// hupHelper is a Go program that asks for SIGHUP (signal.Notify: the
// audit judges it prepared), and on a byte from stdin sets SIG_DFL for
// it: from then on SIGHUP kills it.
func hupHelper() int {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	fmt.Println("ready")
	var b [1]byte
	if _, err := os.Stdin.Read(b[:]); err != nil {
		return 0
	}
	if err := testproc.SetDisposition(syscall.SIGHUP, testproc.SigDfl); err != nil {
		return 111
	}
	fmt.Println("removed")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// watchFinding is what a test reads of an audit --watch JSON line.
type watchFinding struct {
	Risk   string
	Signal struct{ Name string }
	Target struct {
		PID  int
		Comm string
	}
	Source struct {
		File string
		Line int
	}
	Became *struct {
		Time  time.Time
		Cause string
		From  string
	}
}

// startWatch runs `sigtrace audit --watch -o json` on root and returns
// once it watches; lines carries its stdout lines, and stop ends it and
// returns its exit status and stderr.
func startWatch(t *testing.T, root string) (lines chan string, stop func() (int, string)) {
	t.Helper()
	requireRoot(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ready := filepath.Join(t.TempDir(), "ready")
	cmd := exec.Command(exe, "audit", "--watch", "--root", root, "-o", "json", "--duration", "5m", "--ready-file", ready)
	cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
	var errb strings.Builder
	cmd.Stderr = &errb
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines = make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	stopped := false
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			_ = cmd.Process.Signal(syscall.SIGINT)
			_ = cmd.Wait()
		}
		return cmd.ProcessState.ExitCode(), errb.String()
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(timeout())
	for {
		if b, _ := os.ReadFile(ready); string(b) == "ready\n" {
			return lines, stop
		}
		if time.Now().After(deadline) {
			_, e := stop()
			t.Fatalf("audit --watch did not start: %s", e)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// nextFinding waits (bounded) for the next finding of the watch (the
// audit's own report, before, has no "became").
func nextFinding(t *testing.T, lines chan string, what string) watchFinding {
	t.Helper()
	deadline := time.After(timeout())
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("audit --watch ended before %s", what)
			}
			var f watchFinding
			if err := json.Unmarshal([]byte(l), &f); err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			if f.Became != nil {
				return f
			}
		case <-deadline:
			t.Fatalf("no finding for %s within %v", what, timeout())
		}
	}
}

// noMoreFindings: the rest of the output holds no finding of the watch.
func noMoreFindings(t *testing.T, lines chan string) {
	t.Helper()
	for l := range lines {
		if strings.Contains(l, `"became"`) {
			t.Errorf("one finding only; also %s", l)
		}
	}
}

func hupStanza(name string) map[string]string {
	return map[string]string{"etc/logrotate.d/" + name: fmt.Sprintf("/var/log/%s.log {\n\tpostrotate\n\t\tpkill -HUP -x %s\n\tendscript\n}\n", name, name)}
}

// TestAuditWatchStartsUnprepared: a process that a configured pkill
// -HUP -x names starts after the watch began, with no handler: one
// finding, "started", and the exit status of a fatal audit.
func TestAuditWatchStartsUnprepared(t *testing.T) {
	root := auditRoot(t, hupStanza("watchnew"))
	lines, stop := startWatch(t, root)
	pid := auditSleeper(t, "watchnew")
	f := nextFinding(t, lines, "the new process")
	if f.Risk != "fatal" || f.Signal.Name != "SIGHUP" || f.Target.PID != pid || f.Target.Comm != "watchnew" ||
		f.Became == nil || f.Became.Cause != "started" || !strings.HasSuffix(f.Source.File, "etc/logrotate.d/watchnew") || f.Source.Line != 3 {
		t.Errorf("finding %+v", f)
	}
	code, stderr := stop()
	noMoreFindings(t, lines)
	if code != 1 {
		t.Errorf("exit status %d, want 1 (fatal); stderr %s", code, stderr)
	}
}

// TestAuditWatchRemoval: a Go program named by a configured pkill -HUP
// asks for SIGHUP (prepared: the audit finds nothing), then removes its
// handler: one finding, at the removal, cause sigaction. Needs a kernel
// that shows sigaction changes (fentry or kprobes on do_sigaction).
func TestAuditWatchRemoval(t *testing.T) {
	requireRoot(t)
	if tr, err := tracer.New(tracer.Options{History: tracer.HistoryFatal, NoGenerate: true, NoDeliver: true, NoExit: true}); err != nil {
		t.Fatal(err)
	} else {
		gap := tr.HistoryGap()
		tr.Close()
		if gap != "" {
			t.Skip("sigaction changes cannot be seen here: " + gap)
		}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	named := filepath.Join(t.TempDir(), "watchhup")
	if err := os.WriteFile(named, data, 0o755); err != nil {
		t.Fatal(err)
	}
	h := exec.Command(named)
	h.Env = append(os.Environ(), "SIGTRACE_HUPHELPER=1")
	h.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, _ := h.StdinPipe()
	out, _ := h.StdoutPipe()
	if err := h.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Process.Kill(); _ = h.Wait() })
	rd := bufio.NewReader(out)
	if l, _ := rd.ReadString('\n'); l != "ready\n" {
		t.Fatalf("helper: %q", l)
	}
	lines, stop := startWatch(t, auditRoot(t, hupStanza("watchhup")))
	select {
	case l := <-lines:
		if strings.Contains(l, `"became"`) || strings.Contains(l, `"fatal"`) {
			t.Fatalf("a finding before the removal: %s", l)
		}
	default:
	}
	if _, err := in.Write([]byte{1}); err != nil {
		t.Fatal(err)
	}
	if l, _ := rd.ReadString('\n'); l != "removed\n" {
		t.Fatalf("helper: %q", l)
	}
	f := nextFinding(t, lines, "the removal")
	if f.Risk != "fatal" || f.Target.PID != h.Process.Pid || f.Became == nil || f.Became.Cause != "sigaction" || f.Became.From != "handler" {
		t.Errorf("finding %+v (became %+v)", f, f.Became)
	}
	code, stderr := stop()
	noMoreFindings(t, lines)
	if code != 1 {
		t.Errorf("exit status %d, want 1; stderr %s", code, stderr)
	}
}

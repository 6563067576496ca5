package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestStopWithSlowReaderKeepsLinesWhole (issue 21, item 9): a reader that
// reads slowly and then not at all, while signals keep coming. The stop
// watchdog gives up on the output; what the reader finds in the pipe must
// end at the end of a line, every line valid JSON, and the exit status must
// say that output was lost, with one line on stderr saying how much.
func TestStopWithSlowReaderKeepsLinesWhole(t *testing.T) {
	requireRoot(t)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	cmd := exec.Command(self(t), "trace", "-o", "json", "-s", "USR2", "--no-deliver", "--comm", selfComm(t))
	cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
	cmd.Stdout = pw // the pipe itself, which outlives the process for us to read
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	var (
		mu     sync.Mutex
		stderr strings.Builder
	)
	ready := make(chan bool, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(errR)
		signalled := false
		for sc.Scan() {
			mu.Lock()
			stderr.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if !signalled && sc.Text() == readyLine {
				ready <- true
				signalled = true
			}
		}
		if !signalled {
			ready <- false
		}
		_ = cmd.Wait()
	}()
	errText := func() string { mu.Lock(); defer mu.Unlock(); return stderr.String() }
	select {
	case ok := <-ready:
		if !ok {
			<-exited
			t.Fatalf("sigtrace ended before attaching: %s", errText())
		}
	case <-time.After(timeout()):
		t.Fatalf("sigtrace did not attach within %v", timeout())
	}
	pid := cmd.Process.Pid

	// Signals keep coming, ~600 bytes of JSON each, faster than the
	// reader reads.
	stopSending := make(chan struct{})
	sent := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stopSending:
				sent <- n
				return
			default:
			}
			for i := 0; i < 20; i++ {
				_ = syscall.Kill(pid, syscall.SIGUSR2)
				n++
			}
			time.Sleep(time.Millisecond)
		}
	}()

	// Slowly: 1000 bytes every 2 ms for half a second, so that sigtrace's
	// writes wait on the pipe and go in as room is made.
	var got bytes.Buffer
	buf := make([]byte, 1000)
	for end := time.Now().Add(500 * time.Millisecond); time.Now().Before(end); {
		n, err := pr.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			t.Fatalf("reading sigtrace's output: %v", err)
		}
		time.Sleep(2 * time.Millisecond)
	}
	if got.Len() == 0 {
		t.Fatal("no output while signals came")
	}
	// Then not at all, while the signals go on: the pipe and sigtrace's
	// buffer fill, and its write blocks.
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	close(stopSending)
	nsent := <-sent

	select {
	case <-exited:
	case <-time.After(stopGrace + timeout()):
		t.Fatalf("sigtrace did not exit within %v of SIGINT; stderr: %s", stopGrace+timeout(), errText())
	}
	if code := cmd.ProcessState.ExitCode(); code != exitOutputLost {
		t.Errorf("exit status %d, want %d (output was lost); stderr: %s", code, exitOutputLost, errText())
	}
	if e := errText(); !strings.Contains(e, "sigtrace: output is blocked (nobody reads it): stopped after "+stopGrace.String()+" with ") ||
		!strings.Contains(e, " not written\n") {
		t.Errorf("stderr does not say how much output was not written: %q", e)
	}

	// The rest of the pipe, to EOF (sigtrace, its only writer, is gone).
	if _, err := io.Copy(&got, pr); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
	out := got.Bytes()
	if len(out) == 0 || out[len(out)-1] != '\n' {
		tail := out[max(0, len(out)-200):]
		t.Fatalf("the stream ends inside a line (%d bytes): ...%q", len(out), tail)
	}
	lines := bytes.Split(out[:len(out)-1], newline)
	for i, l := range lines {
		if !json.Valid(l) {
			t.Fatalf("line %d of %d is not valid JSON: %q", i+1, len(lines), l)
		}
	}
	t.Logf("%d signals sent, %d lines (%d bytes) read; stderr: %s", nsent, len(lines), len(out), errText())
}

// TestWriteErrorExitsNonZero: a write that fails for another reason than
// a closed pipe (here ENOSPC, from /dev/full) ends sigtrace with one line
// naming it and a non-zero status.
func TestWriteErrorExitsNonZero(t *testing.T) {
	requireRoot(t)
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer full.Close()
	cmd := exec.Command(self(t), "trace", "-o", "json", "-s", "USR2", "--no-deliver", "--comm", selfComm(t))
	cmd.Env = append(os.Environ(), "SIGTRACE_AS_MAIN=1")
	cmd.Stdout = full
	errR, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Not one SIGUSR2 before the ready line: until sigtrace ignores it,
	// its default action kills (the arm64 guest starts it slowly).
	var stderr bytes.Buffer
	ready, stderrDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stderrDone)
		sc := bufio.NewScanner(errR)
		for sc.Scan() {
			stderr.WriteString(sc.Text() + "\n")
			if sc.Text() == readyLine {
				close(ready)
			}
		}
	}()
	exited := make(chan error, 1)
	go func() { <-stderrDone; exited <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("sigtrace ended before attaching: %s", stderr.String())
	case <-time.After(timeout()):
		t.Fatal("sigtrace did not attach")
	}
	// Each SIGUSR2 is a row to write; the first write fails.
	deadline := time.After(timeout())
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
loop:
	for {
		select {
		case <-exited:
			break loop
		case <-tick.C:
			_ = syscall.Kill(cmd.Process.Pid, syscall.SIGUSR2)
		case <-deadline:
			t.Fatalf("sigtrace kept running with its writes failing")
		}
	}
	if code := cmd.ProcessState.ExitCode(); code != 2 {
		t.Errorf("exit status %d, want 2", code)
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if last := lines[len(lines)-1]; !strings.HasPrefix(last, "sigtrace: ") || !strings.Contains(last, "no space left on device") {
		t.Errorf("stderr does not end with the write error: %q", stderr.String())
	}
}

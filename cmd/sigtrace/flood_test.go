package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sigtrace/sigtrace/internal/testproc"
)

// selfStorm ignores SIGUSR1 and sends it to itself as fast as it can,
// printing how many it sent after every 10,000, until stdin closes.
func selfStorm() int {
	if err := testproc.SetDisposition(syscall.SIGUSR1, testproc.SigIgn); err != nil {
		return 111
	}
	runtime.LockOSThread()
	niceIfAsked()
	stop := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	pid := os.Getpid()
	for n := 10000; ; n += 10000 {
		select {
		case <-stop:
			return 0
		default:
		}
		for i := 0; i < 10000; i++ {
			_ = syscall.Kill(pid, syscall.SIGUSR1)
		}
		fmt.Println(n)
	}
}

// TestDeathSurvivesFloodSlowReader is issue 21's item 8 as a user meets
// it: nobody floods the machine with a signal it ignores while `trace -o
// json` feeds a reader that falls behind; root's SIGHUP to a daemon must
// still show, sent, delivered and fatal, and what was shed is counted.
func TestDeathSurvivesFloodSlowReader(t *testing.T) {
	requireRoot(t)
	v := startVictim(t, "flooddaemon")
	p := startSigtrace(t, "trace", "-o", "json", "-s", "USR1,HUP", "--ring-size", "2", "--rate-limit", "0")

	// The flood, as nobody, from a copy of this binary nobody may run.
	dir, err := os.MkdirTemp("", "sigtrace-flood")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	data, err := os.ReadFile(self(t))
	if err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(dir, "flooder")
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	storm := exec.Command(exe)
	storm.Env = append(os.Environ(), "SIGTRACE_SELFSTORM=1")
	storm.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	stormIn, _ := storm.StdinPipe()
	stormOut, _ := storm.StdoutPipe()
	if err := storm.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = storm.Process.Kill(); _ = storm.Wait() }()

	// Nobody reads sigtrace's output yet. A 2 MiB ring holds ~10,000
	// records, the pipe and sigtrace's buffer a few hundred lines: after
	// 100,000 signals the ring is at its reserve whatever the reader did.
	sent := bufio.NewScanner(stormOut)
	deadline := time.Now().Add(timeout())
	for n := 0; n < 100000; {
		if !sent.Scan() {
			t.Fatalf("the flood ended: %v", sent.Err())
		}
		n, _ = strconv.Atoi(sent.Text())
		if time.Now().After(deadline) {
			t.Fatalf("only %d signals sent in %v", n, timeout())
		}
	}
	if err := v.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if err := v.cmd.Wait(); err == nil || !strings.Contains(err.Error(), "hangup") {
		t.Fatalf("the daemon did not die of SIGHUP: %v", err)
	}
	stormIn.Close()
	go func() { _, _ = io.Copy(io.Discard, stormOut) }()
	if err := storm.Wait(); err != nil {
		t.Fatalf("flood: %v", err)
	}

	// A slow reader: a pause every hundred lines, as a script's would.
	vpid := v.cmd.Process.Pid
	var gen, del, exit, shed int
	lines := make(chan error, 1)
	go func() {
		for i := 0; ; i++ {
			if i%100 == 0 {
				time.Sleep(time.Millisecond)
			}
			line, err := p.stdout.ReadBytes('\n')
			if err != nil {
				lines <- err
				return
			}
			var ev struct {
				Type   string `json:"type"`
				Signal struct{ Name string }
				Target struct{ PID int }
				Sender struct{ PID int }
				Killer struct{ PID int }
				Shed   int `json:"shed"`
			}
			if err := json.Unmarshal(line, &ev); err != nil {
				lines <- fmt.Errorf("bad JSON line %q: %w", line, err)
				return
			}
			switch {
			case ev.Type == "lost":
				shed += ev.Shed
			case ev.Target.PID != vpid:
			case ev.Type == "generate" && ev.Signal.Name == "SIGHUP" && ev.Sender.PID == os.Getpid():
				gen++
			case ev.Type == "deliver":
				del++
			case ev.Type == "exit" && ev.Signal.Name == "SIGHUP":
				exit++
				lines <- nil
				return
			}
		}
	}()
	select {
	case err := <-lines:
		if err != nil {
			t.Fatalf("reading: %v (stderr: %s)", err, p.errText())
		}
	case <-time.After(4 * timeout()):
		t.Fatalf("the daemon's exit never came out (generate %d, deliver %d, shed %d so far)", gen, del, shed)
	}
	if gen != 1 || del == 0 || exit != 1 {
		t.Errorf("for the daemon: generate %d, deliver %d, exit %d; want 1, ≥1, 1", gen, del, exit)
	}
	if shed == 0 {
		t.Error("no lost record said that storm records were shed")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, p.stdout) }()
	p.wait(t)
	if e := p.errText(); !strings.Contains(e, "shed to keep room") {
		t.Errorf("stderr does not say that records were shed: %q", e)
	}
}
